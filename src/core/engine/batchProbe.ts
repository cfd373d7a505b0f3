/**
 * Batch sizes chosen by measured throughput: a short probe times one forward + input-gradient pass
 * per batch size on the actual model and backend, within the memory budget, and the fastest size per
 * point wins. The memory per point is measured in the same probe (TF.js' own accounting).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BatchProbe } from '../../shared/protocol';
import { valueAndGradient, type ExplainedScalar } from './scalar';

export type { BatchProbe };

/** Batch sizes the probe tries, smallest first (beyond 16 a batch buys no speed on CPU backends). */
export const PROBE_BATCH_SIZES = [1, 2, 4, 8, 16];
/** Activations measured by TF.js miss backend scratch space and fragmentation; keep a margin. */
export const MEMORY_SAFETY_FACTOR = 1.5;
/** A size is "as fast" as the best when within this fraction; the smaller one is kept (less memory, finer rounds). */
const SAME_SPEED = 0.05;
/** Timed sweeps over the sizes after one untimed sweep (which pays the first touch of their memory). */
const TIMED_SWEEPS = 2;
/**
 * Pool requests merge up to the largest size within this fraction of the fastest: per call TF.js pays
 * for hundreds of kernel launches, so larger batches are rarely slower and a probe on a shared CPU
 * is noisy; only a clearly slower large batch is passed over.
 */
const MERGE_SAME_SPEED = 0.1;

/** The floor of a point's bytes: its input, gradient and a few copies of each (what a backend reporting none gets). */
export function minBytesPerPoint(inputSize: number): number {
  return inputSize * 4 * 8;
}

/** Transient bytes of one forward + backward pass on one point (with a floor for backends reporting none). */
export async function measureBytesPerPoint(fn: ExplainedScalar): Promise<number> {
  const inputShape = fn.model.inputShape;
  const point = tf.zeros([1, ...inputShape]);
  const { peakBytes, result } = await peakBufferBytes(async () => {
    const { value, grad } = valueAndGradient(fn, point);
    return [value, grad];
  });
  tf.dispose([point, ...result]);
  return Math.max(peakBytes, minBytesPerPoint(inputShape.reduce((a, b) => a * b, 1)));
}

/** The engine's per-buffer bookkeeping (tfjs-core internals, checked before use). */
interface EngineBuffers {
  state: { tensorInfo: WeakMap<object, { bytes: number }> };
  trackTensor(tensor: { dataId: object }, backend: unknown): void;
  removeDataId(dataId: object, backend: unknown): void;
}

/**
 * The peak growth of live backend buffers while `run` runs, each buffer counted once: TF.js' own
 * count (tf.profile's peakBytes) adds a tensor's bytes for every tensor viewing a buffer, so the
 * outputs of Reshape, Identity, Squeeze … are counted again though they share their input's data.
 * Falls back to that count when the engine's bookkeeping is not what this expects.
 */
export async function peakBufferBytes<T>(run: () => Promise<T>): Promise<{ peakBytes: number; result: T }> {
  const engine = tf.engine() as unknown as Partial<EngineBuffers>;
  const buffers = engine.state?.tensorInfo as unknown;
  const [track, remove] = [engine.trackTensor, engine.removeDataId];
  if (!(buffers instanceof WeakMap || buffers instanceof Map) || typeof track !== 'function' || typeof remove !== 'function') {
    const startBytes = tf.memory().numBytes;
    let result: T | undefined;
    const info = await tf.profile(async () => {
      result = await run();
      return [];
    });
    return { peakBytes: info.peakBytes - startBytes, result: result! };
  }
  let bytes = 0;
  let peakBytes = 0;
  engine.trackTensor = function (this: EngineBuffers, tensor, backend) {
    const known = buffers.has(tensor.dataId);
    track.call(this, tensor, backend);
    if (!known && buffers.has(tensor.dataId)) peakBytes = Math.max(peakBytes, (bytes += buffers.get(tensor.dataId)!.bytes));
  };
  engine.removeDataId = function (this: EngineBuffers, dataId, backend) {
    const freed = buffers.get(dataId)?.bytes ?? 0;
    remove.call(this, dataId, backend);
    if (!buffers.has(dataId)) bytes -= freed;
  };
  try {
    const result = await run();
    return { peakBytes, result };
  } finally {
    engine.trackTensor = track;
    engine.removeDataId = remove;
  }
}

/** Points of one batch that fit `budgetBytes` with the safety margin. */
export function pointsThatFit(budgetBytes: number, bytesPerPoint: number): number {
  return Math.floor(budgetBytes / (bytesPerPoint * MEMORY_SAFETY_FACTOR));
}

/** One timed forward + input-gradient pass over `points`, in ms. */
async function timedPass(fn: ExplainedScalar, points: tf.Tensor): Promise<number> {
  const started = performance.now();
  const outputs = tf.tidy(() => {
    const { value, grad } = valueAndGradient(fn, points);
    return [value, grad];
  });
  await Promise.all(outputs.map((t) => t.data()));
  tf.dispose(outputs);
  return performance.now() - started;
}

/**
 * Times every batch size that fits `budgetBytes` (one thread's share of the budget); none when not
 * even one point fits. One untimed sweep over the sizes pays their first touch of memory, then the
 * sizes are timed in interleaved sweeps, each keeping its best: a burst of load from elsewhere slows
 * one pass of every size rather than all passes of one. `bytesPerPoint` skips the memory measurement.
 */
export async function probeBatchSizes(fn: ExplainedScalar, budgetBytes: number, bytesPerPoint?: number): Promise<BatchProbe> {
  const bytes = bytesPerPoint ?? (await measureBytesPerPoint(fn));
  const fits = pointsThatFit(budgetBytes, bytes);
  const batches = PROBE_BATCH_SIZES.filter((b) => b <= fits);
  const best = batches.map(() => Infinity);
  for (let sweep = 0; sweep <= TIMED_SWEEPS; sweep++) {
    for (const [k, batch] of batches.entries()) {
      const points = tf.fill([batch, ...fn.model.inputShape], 0.5);
      try {
        const ms = await timedPass(fn, points);
        if (sweep > 0) best[k] = Math.min(best[k]!, ms / batch);
      } finally {
        points.dispose();
      }
    }
  }
  const sizes = batches.map((batch, k) => ({ batch, msPerPoint: best[k]! }));
  return { bytesPerPoint: bytes, sizes, budgetBytes, stoppedEarly: false };
}

/**
 * The batch size to use with `budgetBytes` per thread: the smallest probed size within 5 % of the
 * fastest per point among those that fit (at least 1).
 */
export function chooseBatch(probe: BatchProbe, budgetBytes: number): number {
  const fits = pointsThatFit(budgetBytes, probe.bytesPerPoint);
  const usable = probe.sizes.filter((s) => s.batch <= Math.max(1, fits));
  if (usable.length === 0) return 1;
  const fastest = Math.min(...usable.map((s) => s.msPerPoint));
  return usable.find((s) => s.msPerPoint <= fastest * (1 + SAME_SPEED))!.batch;
}

/**
 * The largest probed size within 10 % of the fastest per point among those that fit `budgetBytes`:
 * how many points of several inputs one pool request may carry (bigger batches share the per-call
 * cost; at equal speed the larger one leaves more slack for noise in the probe).
 */
export function chooseMergeBatch(probe: BatchProbe, budgetBytes: number): number {
  const fits = pointsThatFit(budgetBytes, probe.bytesPerPoint);
  const usable = probe.sizes.filter((s) => s.batch <= Math.max(1, fits));
  if (usable.length === 0) return 1;
  const fastest = Math.min(...usable.map((s) => s.msPerPoint));
  return usable.filter((s) => s.msPerPoint <= fastest * (1 + MERGE_SAME_SPEED)).pop()!.batch;
}

/** Combines the probes of several threads run at once: per size the median time, the largest memory. */
export function mergeProbes(probes: BatchProbe[]): BatchProbe {
  const first = probes[0]!;
  const sizes = first.sizes
    .filter((s) => probes.every((p) => p.sizes.some((q) => q.batch === s.batch)))
    .map((s) => {
      const times = probes.map((p) => p.sizes.find((q) => q.batch === s.batch)!.msPerPoint).sort((a, b) => a - b);
      return { batch: s.batch, msPerPoint: times[Math.floor((times.length - 1) / 2)]! };
    });
  return {
    bytesPerPoint: Math.max(...probes.map((p) => p.bytesPerPoint)),
    sizes,
    budgetBytes: Math.min(...probes.map((p) => p.budgetBytes)),
    stoppedEarly: probes.some((p) => p.stoppedEarly),
  };
}
