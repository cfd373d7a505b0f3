/**
 * Development check (not CI): real-size torchvision exports against PyTorch autograd. For every
 * `NAME.opN.onnx` in the cache folder written by `make_fixtures.py --full`, PathLens loads the model,
 * compares its logits with PyTorch's and computes IG with the reference's rule, steps, zero baseline
 * and target, then prints cosine, relative L1 and the largest difference of the maps.
 *   /usr/bin/python3 scripts/fixtures/onnx/make_fixtures.py --full --steps 16
 *   npm run verify:onnx-full [-- <folder>] [--backend wasm|cpu]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/engine/backend';
import { Evaluator } from '../../src/core/engine/evaluator';
import { loadModel } from '../../src/core/model/load';
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

async function verify(dir: string, file: string): Promise<string> {
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
    const evaluator = new Evaluator({ model, target: reference.target, output: 'logit' }, { memoryBudgetMB: 2048 });
    const t0 = Date.now();
    const integral = await integrateStraightPath(
      evaluator,
      x,
      new Float32Array(x.length),
      quadrature(reference.rule, reference.steps),
      'ig',
    );
    const msPerEval = (Date.now() - t0) / reference.steps;
    const map = Float64Array.from(x, (v, i) => v * integral.weightedGradSum[i]!);
    const { cosine, relL1, largest } = compare(map, flatten(reference.attributions));
    const ok = cosine >= 0.999 && relL1 <= 1e-2 ? 'ok' : 'MISMATCH';
    return [
      file.padEnd(28),
      `logits |Δ| ${logitDiff.toExponential(2)}`,
      `cosine ${cosine.toFixed(6)}`,
      `rel L1 ${relL1.toExponential(2)}`,
      `largest |Δ| ${largest.toExponential(2)}`,
      `load ${loadMs} ms`,
      `${msPerEval.toFixed(0)} ms/eval`,
      ok,
    ].join('  ');
  } finally {
    model.dispose();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const backendAt = args.indexOf('--backend');
  const backend = backendAt >= 0 ? (args.splice(backendAt, 2)[1] as 'wasm' | 'cpu') : 'wasm';
  const dir = args[0] ?? path.join(os.homedir(), '.cache', 'pathlens-onnx-full');
  if (!fs.existsSync(dir)) {
    console.error(`${dir} not found: run /usr/bin/python3 scripts/fixtures/onnx/make_fixtures.py --full first`);
    process.exit(1);
  }
  console.log(`backend ${await initBackend(backend)}; models in ${dir}`);
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.op\d+\.onnx$/.test(f) && fs.existsSync(path.join(dir, f.replace(/\.op\d+\.onnx$/, '.reference.json'))))
    .sort();
  let failures = 0;
  for (const file of files) {
    try {
      const line = await verify(dir, file);
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
