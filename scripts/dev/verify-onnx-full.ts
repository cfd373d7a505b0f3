/**
 * Development check (not CI, not `npm test`): real-size torchvision exports against PyTorch autograd.
 * For every `NAME.opN.onnx` in the cache folder written by `make_fixtures.py --full`, PathLens loads the
 * model, compares its logits with PyTorch's and computes IG with the reference's rule, steps, zero
 * baseline and target, then prints cosine, relative L1 and the largest difference of the maps, the
 * memory TF.js counts for one path point and the wall time per evaluation.
 *
 * Make the files first (seeded random weights, no downloads; ~1.5 GB, about an hour of one core):
 *   /usr/bin/python3 scripts/fixtures/onnx/make_fixtures.py --full --steps 16 [--only resnet18,vit_b_16]
 * then, one model at a time (the CPU is shared; ConvNeXt-Tiny and ViT-B/16 take minutes per export):
 *   npm run verify:onnx-full [-- <folder>] [--only resnet18,convnext_tiny] [--backend wasm|cpu]
 *     [--memory-budget-mb 4096]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/engine/backend';
import { Evaluator } from '../../src/core/engine/evaluator';
import { valueAndGradient } from '../../src/core/engine/scalar';
import { loadModel, type LoadedModel } from '../../src/core/model/load';

import { relativeL1 } from '../../src/core/path/mapError';
import { quadrature } from '../../src/core/path/quadrature';
import { integrateStraightPath } from '../../src/core/path/straightPath';
import type { QuadratureRuleName } from '../../src/core/types';

interface Reference {
  rule: QuadratureRuleName;
  steps: number;
  target: number;
  logits: number[];
  attributions: unknown;
}

const flatten = (value: unknown): number[] => (Array.isArray(value) ? value.flatMap(flatten) : [value as number]);
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

function compare(got: ArrayLike<number>, want: ArrayLike<number>): { cosine: number; relL1: number; largest: number } {
  let dot = 0;
  let ng = 0;
  let nw = 0;
  let largest = 0;
  for (let i = 0; i < want.length; i++) {
    dot += got[i]! * want[i]!;
    ng += got[i]! * got[i]!;
    nw += want[i]! * want[i]!;
    largest = Math.max(largest, Math.abs(got[i]! - want[i]!));
  }
  return { cosine: dot / Math.sqrt(ng * nw), relL1: relativeL1(want, got), largest };
}

interface Verified {
  logitDiff: number;
  cosine: number;
  relL1: number;
  largest: number;
  loadMs: number;
  msPerEval: number;
  mbPerPoint: number;
}

/** The transient bytes TF.js counts for one forward + input-gradient pass (what the budget is checked against). */
async function measuredMBPerPoint(model: LoadedModel, target: number): Promise<number> {
  const start = tf.memory().numBytes;
  const point = tf.zeros([1, ...model.inputShape]);
  const info = await tf.profile(() => {
    const { value, grad } = valueAndGradient({ model, target, output: 'logit' }, point);
    return [value, grad];
  });
  tf.dispose([point, ...(info.result as tf.Tensor[])]);
  return (info.peakBytes - start) / 1024 / 1024;
}

async function verify(dir: string, file: string, budgetMB: number): Promise<Verified> {
  const stem = file.replace(/\.op\d+\.onnx$/, '');
  const reference = readJson<Reference>(path.join(dir, `${stem}.reference.json`));
  const x = Float32Array.from(flatten(readJson<unknown>(path.join(dir, `${stem}.input.json`))));
  const started = Date.now();
  const model = await loadModel(path.join(dir, file), { memoryBudgetMB: 4096 });
  const loadMs = Date.now() - started;
  try {
    const shape = [1, ...model.inputShape];
    const logits = tf.tidy(() => model.predict(tf.tensor(x, shape)).dataSync());
    const logitDiff = compare(logits, reference.logits).largest;
    const mbPerPoint = await measuredMBPerPoint(model, reference.target);
    const evaluator = new Evaluator({ model, target: reference.target, output: 'logit' }, { memoryBudgetMB: budgetMB });
    const t0 = Date.now();
    const integral = await integrateStraightPath(
      evaluator,
      x,
      new Float32Array(x.length),
      quadrature(reference.rule, reference.steps),
      'ig',
    );
    // Per evaluation, counting the one that measures the memory per point.
    const msPerEval = (Date.now() - t0) / evaluator.evaluations;
    const map = Float64Array.from(x, (v, i) => v * integral.weightedGradSum[i]!);
    return { logitDiff, ...compare(map, flatten(reference.attributions)), loadMs, msPerEval, mbPerPoint };
  } finally {
    model.dispose();
  }
}

function row(file: string, v: Verified): string {
  const ok = v.cosine >= 0.999 && v.relL1 <= 1e-2 ? 'ok' : 'MISMATCH';
  return [
    file.padEnd(28),
    `logits |Δ| ${v.logitDiff.toExponential(2)}`,
    `cosine ${v.cosine.toFixed(7)}`,
    `rel L1 ${v.relL1.toExponential(2)}`,
    `largest |Δ| ${v.largest.toExponential(2)}`,
    `load ${v.loadMs} ms`,
    `${v.msPerEval.toFixed(0)} ms/eval`,
    `${v.mbPerPoint.toFixed(0)} MB/point`,
    ok,
  ].join('  ');
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const backend = (option(args, '--backend') ?? 'wasm') as 'wasm' | 'cpu';
  const only = option(args, '--only')?.split(',');
  const budgetMB = Number(option(args, '--memory-budget-mb') ?? 4096);
  const dir = args[0] ?? path.join(os.homedir(), '.cache', 'pathlens-onnx-full');
  if (!fs.existsSync(dir)) {
    console.error(`${dir} not found: run /usr/bin/python3 scripts/fixtures/onnx/make_fixtures.py --full --steps 16 first`);
    process.exit(1);
  }
  console.log(`backend ${await initBackend(backend)}; memory budget ${budgetMB} MB; models in ${dir}`);
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.op\d+\.onnx$/.test(f) && fs.existsSync(path.join(dir, f.replace(/\.op\d+\.onnx$/, '.reference.json'))))
    .filter((f) => !only || only.includes(f.replace(/\.op\d+\.onnx$/, '')))
    .sort();
  let failures = 0;
  for (const file of files) {
    try {
      const line = row(file, await verify(dir, file, budgetMB));
      if (line.endsWith('MISMATCH')) failures++;
      console.log(line);
    } catch (error) {
      failures++;
      console.log(`${file.padEnd(28)}  FAILED: ${(error as Error).message}`);
    }
  }
  process.exit(failures > 0 ? 1 : 0);
}

void main();
