/**
 * The "physical limit" row of the benchmark: a model's FLOPs per evaluation (forward + input
 * gradient, see src/core/engine/flops.ts) divided by the single-thread FLOP rate of a large matmul
 * on the same backend.
 *
 *   import { measureMatmulFlopRate, flopsPerEvaluation, physicalLimitMs } from './limits';
 *   const rate = await measureMatmulFlopRate('wasm');            // GFLOP/s, one thread
 *   const { total } = await flopsPerEvaluation(modelJsonPath);  // FLOPs per evaluation
 *   const limitMs = physicalLimitMs(total, rate.gflops);         // ms per evaluation at that rate
 *   const achieved = limitMs / measuredMsPerEvaluation;          // fraction of the limit reached
 *
 * With W worker threads the limit per evaluation is limitMs / W (each worker is one thread).
 *
 *   npx tsx bench/limits.ts [model.json …]   # prints rates for wasm and cpu and the zoo's FLOPs
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/core/engine/backend';
import { layersModelFlops, profiledFlops, type FlopCount } from '../src/core/engine/flops';
import { readModelArtifacts } from '../src/core/model/artifacts';
import { loadModel } from '../src/core/model/load';
import { isOnnxModelPath } from '../src/core/model/onnx/load';

export interface FlopRate {
  backend: 'wasm' | 'cpu';
  /** matmul size n (n×n times n×n) */
  size: number;
  /** median seconds of one matmul */
  seconds: number;
  /** 2·n³ / seconds / 1e9 */
  gflops: number;
  repeats: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Single-thread GFLOP/s of an n×n·n×n float32 matmul on `backend` (median of `repeats` after a
 * warm-up). Switches the current backend to `backend` (and leaves it there).
 */
export async function measureMatmulFlopRate(backend: 'wasm' | 'cpu', options: { size?: number; repeats?: number } = {}): Promise<FlopRate> {
  const n = options.size ?? 1024;
  const repeats = options.repeats ?? (backend === 'cpu' ? 3 : 7);
  await initBackend(backend);
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
  try {
    const once = () => {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      c.dataSync();
      const dt = performance.now() - t0;
      c.dispose();
      return dt / 1000;
    };
    once();
    const times = Array.from({ length: repeats }, once);
    const seconds = median(times);
    return { backend, size: n, seconds, gflops: (2 * n * n * n) / seconds / 1e9, repeats };
  } finally {
    tf.dispose([a, b]);
  }
}

/**
 * FLOPs of one PathLens evaluation (forward + input gradient, per example) of the model at
 * `modelPath`: layers models from `model.layers`, graph models by executing them once under
 * tf.profile on the current backend (cpu if none is active).
 */
export async function flopsPerEvaluation(modelPath: string): Promise<FlopCount> {
  // An ONNX file has no TF.js artifacts: its imported graph is profiled like a graph model.
  const read = isOnnxModelPath(modelPath) ? null : readModelArtifacts(modelPath);
  if ((tf.engine() as unknown as { backendName: string | null }).backendName == null) await initBackend('cpu');
  if (read?.format === 'layers-model') {
    const model = await tfl.loadLayersModel({ load: async () => read.artifacts });
    try {
      return layersModelFlops(model);
    } finally {
      model.dispose();
    }
  }
  const model = await loadModel(modelPath);
  try {
    return await profiledFlops((x) => model.predict(x), model.inputShape);
  } finally {
    model.dispose();
  }
}

/** Milliseconds per evaluation at `gflops` (one thread). */
export function physicalLimitMs(flops: number, gflops: number): number {
  return (flops / (gflops * 1e9)) * 1000;
}

/** Fraction of the physical limit a measured ms/evaluation reaches (1 = at the limit). */
export function achievedFraction(limitMs: number, msPerEvaluation: number): number {
  return limitMs / msPerEvaluation;
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..');
  const zoo = process.env.PATHLENS_ZOO ?? path.resolve(root, '../shared/zoo');
  const models = process.argv.slice(2).length
    ? process.argv.slice(2)
    : ['tm-objects', 'mobilenet-v1-025-graph', 'mnist-cnn', 'sign-digits-64']
        .map((m) => path.join(zoo, m, 'model.json'))
        .concat(path.join(root, 'examples/shapes/model.json'));
  const rates: FlopRate[] = [];
  for (const b of ['wasm', 'cpu'] as const) {
    const r = await measureMatmulFlopRate(b);
    rates.push(r);
    console.log(`${b}: ${r.size}³ matmul ${(r.seconds * 1000).toFixed(1)} ms (median of ${r.repeats}) = ${r.gflops.toFixed(2)} GFLOP/s`);
  }
  await initBackend('wasm');
  for (const m of models) {
    try {
      const f = await flopsPerEvaluation(m);
      const limits = rates.map((r) => `${r.backend} ${physicalLimitMs(f.total, r.gflops).toFixed(2)} ms`).join(', ');
      console.log(
        `${path.basename(path.dirname(m))}: ${(f.macs / 1e6).toFixed(1)} M MACs forward; ${(f.forward / 1e6).toFixed(1)} MFLOP forward + ${(f.backward / 1e6).toFixed(1)} MFLOP input-gradient = ${(f.total / 1e6).toFixed(1)} MFLOP/eval; limit ${limits}`,
      );
    } catch (err) {
      console.log(`${m}: ${(err as Error).message}`);
    }
  }
}

// Bundled into dist/bench.js `require.main === module` holds there too: run only as this script.
if (require.main === module && path.basename(process.argv[1] ?? '').startsWith('limits')) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
