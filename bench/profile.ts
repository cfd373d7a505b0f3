/**
 * Per-kernel profile of one forward + input-gradient evaluation (the evaluator's own
 * `valueAndGradient`) on a model, per backend and batch size.
 *
 *   npx tsx bench/profile.ts [--model tm-objects,mobilenet-v1-025-graph,…|path/model.json]
 *                            [--backend wasm|cpu] [--batch 1,8] [--repeats 5] [--weights-too]
 *                            [--json out.json]
 *   npx tsx bench/profile.ts --ab [--model …] [--batch …] [--repeats 9]
 *        # wall ms/eval with and without withInputGradientsOnly, interleaved in one process
 *
 * Kernel times come from `tf.profile`: on wasm and cpu each kernel runs synchronously and the
 * backend's timer is wall time around the kernel function, so `kernelTimeMs` is the real cost of
 * that kernel (PathLens's composed wasm kernels call other kernels directly, not through the engine,
 * so their inner work counts once, under the composed kernel's name). Each run is profiled
 * `--repeats` times; the table shows the median per kernel name. "wall" is the median of the same
 * number of unprofiled evaluations.
 *
 * By default evaluations run inside `withInputGradientsOnly` (what the evaluator does);
 * `--weights-too` runs them without it, i.e. with TF.js computing the filter/bias gradients of fused
 * convolutions as well (the before/after of that optimisation).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/engine/backend';
import { valueAndGradient, type ExplainedScalar } from '../src/core/engine/scalar';
import { loadModel } from '../src/core/model/load';
import { withInputGradientsOnly } from '../src/core/engine/inputGradients';

const ROOT = path.resolve(__dirname, '..');
const ZOO = process.env.PATHLENS_ZOO ?? path.resolve(ROOT, '../shared/zoo');

export interface KernelRow {
  name: string;
  calls: number;
  totalMs: number;
  share: number;
}

export interface ProfileResult {
  model: string;
  backend: string;
  batch: number;
  weightsToo: boolean;
  wallMs: number;
  profiledMs: number;
  kernels: KernelRow[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function resolveModel(name: string): string {
  if (name.endsWith('.json')) return path.resolve(name);
  if (name === 'shapes' || name === 'example') return path.join(ROOT, 'examples/shapes/model.json');
  return path.join(ZOO, name, 'model.json');
}

/** Profile `repeats` evaluations of a batch of `batch` random points. */
export async function profileModel(
  modelPath: string,
  backend: 'wasm' | 'cpu',
  batch: number,
  repeats: number,
  weightsToo = false,
): Promise<ProfileResult> {
  await initBackend(backend);
  const model = await loadModel(modelPath);
  const fn: ExplainedScalar = { model, target: 1 % model.numClasses, output: 'logit' };
  const x = tf.randomUniform([batch, ...model.inputShape], 0, 1, 'float32', 7);
  const evalOnce = () => {
    const run = () => {
      const { value, grad } = valueAndGradient(fn, x);
      return [value, grad];
    };
    return weightsToo ? run() : withInputGradientsOnly(run);
  };
  const sync = (ts: tf.Tensor[]) => {
    ts.forEach((t) => t.dataSync());
    tf.dispose(ts);
  };
  sync(evalOnce()); // warm-up (weights uploaded, kernels initialised)
  const walls: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    sync(evalOnce());
    walls.push(performance.now() - t0);
  }
  const perName = new Map<string, { calls: number; ms: number[] }>();
  const profiled: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const info = await tf.profile(() => evalOnce());
    tf.dispose(info.result as tf.Tensor[]);
    profiled.push(performance.now() - t0);
    const sums = new Map<string, { calls: number; ms: number }>();
    for (const k of info.kernels) {
      // Custom ops (customGrad, e.g. 'fusedConv2d__op') are profiled under their scope name and their
      // time includes the kernels they run, which are profiled as well: count those only.
      if (tf.getKernel(k.name, backend) == null) continue;
      const e = sums.get(k.name) ?? { calls: 0, ms: 0 };
      e.calls += 1;
      e.ms += k.kernelTimeMs as number;
      sums.set(k.name, e);
    }
    for (const [name, e] of sums) {
      const p = perName.get(name) ?? { calls: e.calls, ms: [] };
      p.ms.push(e.ms);
      perName.set(name, p);
    }
  }
  x.dispose();
  model.dispose();
  const rows = [...perName.entries()].map(([name, e]) => {
    while (e.ms.length < repeats) e.ms.push(0);
    return { name, calls: e.calls, totalMs: median(e.ms), share: 0 };
  });
  const total = rows.reduce((a, r) => a + r.totalMs, 0);
  rows.forEach((r) => (r.share = total > 0 ? r.totalMs / total : 0));
  rows.sort((a, b) => b.totalMs - a.totalMs);
  return {
    model: path.basename(path.dirname(modelPath)),
    backend,
    batch,
    weightsToo,
    wallMs: median(walls),
    profiledMs: median(profiled),
    kernels: rows,
  };
}

export function formatProfile(r: ProfileResult, top = 20): string {
  const lines: string[] = [];
  const kernelSum = r.kernels.reduce((a, k) => a + k.totalMs, 0);
  lines.push(
    `${r.model} · ${r.backend} · batch ${r.batch}${r.weightsToo ? ' · weight gradients too' : ' · input gradients only'}: ` +
      `wall ${r.wallMs.toFixed(1)} ms (${(r.wallMs / r.batch).toFixed(1)} ms/eval), kernels ${kernelSum.toFixed(1)} ms`,
  );
  lines.push(`  ${'kernel'.padEnd(38)} ${'calls'.padStart(6)} ${'total ms'.padStart(10)} ${'share'.padStart(7)}`);
  for (const k of r.kernels.slice(0, top)) {
    lines.push(
      `  ${k.name.padEnd(38)} ${String(k.calls).padStart(6)} ${k.totalMs.toFixed(2).padStart(10)} ${(100 * k.share).toFixed(1).padStart(6)}%`,
    );
  }
  const rest = r.kernels.slice(top);
  if (rest.length > 0) {
    const ms = rest.reduce((a, k) => a + k.totalMs, 0);
    const calls = rest.reduce((a, k) => a + k.calls, 0);
    lines.push(
      `  ${`(${rest.length} more)`.padEnd(38)} ${String(calls).padStart(6)} ${ms.toFixed(2).padStart(10)} ${((100 * ms) / (kernelSum || 1)).toFixed(1).padStart(6)}%`,
    );
  }
  return lines.join('\n');
}

/** Median wall ms of evaluations with and without `withInputGradientsOnly`, interleaved. */
export async function abWeightGradients(
  modelPath: string,
  backend: 'wasm' | 'cpu',
  batch: number,
  repeats: number,
): Promise<{ inputOnlyMs: number; weightsTooMs: number }> {
  await initBackend(backend);
  const model = await loadModel(modelPath);
  const fn: ExplainedScalar = { model, target: 1 % model.numClasses, output: 'logit' };
  const x = tf.randomUniform([batch, ...model.inputShape], 0, 1, 'float32', 7);
  const run = () => {
    const { value, grad } = valueAndGradient(fn, x);
    grad.dataSync();
    tf.dispose([value, grad]);
  };
  run();
  withInputGradientsOnly(run);
  const on: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < repeats; i++) {
    let t0 = performance.now();
    withInputGradientsOnly(run);
    on.push(performance.now() - t0);
    t0 = performance.now();
    run();
    off.push(performance.now() - t0);
  }
  x.dispose();
  model.dispose();
  return { inputOnlyMs: median(on), weightsTooMs: median(off) };
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

async function main(): Promise<void> {
  const models = arg('model', 'tm-objects,mobilenet-v1-025-graph').split(',');
  const backend = arg('backend', 'wasm') as 'wasm' | 'cpu';
  const batches = arg('batch', '1,8').split(',').map(Number);
  const repeats = Number(arg('repeats', '5'));
  const weightsToo = process.argv.includes('--weights-too');
  const top = Number(arg('top', '20'));
  if (process.argv.includes('--ab')) {
    for (const m of models) {
      for (const b of batches) {
        const r = await abWeightGradients(resolveModel(m), backend, b, Number(arg('repeats', '9')));
        const saved = r.weightsTooMs - r.inputOnlyMs;
        console.log(
          `${m} · ${backend} · batch ${b}: weight gradients too ${(r.weightsTooMs / b).toFixed(1)} ms/eval, input gradients only ${(r.inputOnlyMs / b).toFixed(1)} ms/eval ` +
            `(filter/bias gradients cost ${((100 * saved) / r.weightsTooMs).toFixed(0)}% of an evaluation)`,
        );
      }
    }
    return;
  }
  const results: ProfileResult[] = [];
  for (const m of models) {
    for (const b of batches) {
      const r = await profileModel(resolveModel(m), backend, b, repeats, weightsToo);
      results.push(r);
      console.log(formatProfile(r, top));
      console.log();
    }
  }
  const out = arg('json', '');
  if (out) fs.writeFileSync(out, JSON.stringify(results, null, 2));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
