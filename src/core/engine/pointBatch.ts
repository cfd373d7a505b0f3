import * as tf from '@tensorflow/tfjs-core';
import { gradientRowStats } from './wasm/reductions';
import { valueAndGradient, type ExplainedScalar } from './scalar';
import type { PathArrays, PathPoints, PointChunk, PointChunkResult, TargetedChunk } from '../../shared/protocol';
import type { LoadedModel } from '../model/load';
import type { WasmBackendLike } from './wasm/scope';
import type { OutputKind } from '../types';
import type { CancellationSignal } from '../../shared/types';

export type { PathArrays, PathPoints, PointChunk, PointChunkResult, TargetedChunk } from '../../shared/protocol';

/** Builds the row-major points [start, start + count) of a point set. */
export type PointBuilder = (start: number, count: number) => Float32Array;

/**
 * A builder of points on a straight path that says so: the evaluator then sends chunks the path's
 * alphas instead of the points, and whichever thread evaluates them builds them (`writePathPoints`).
 */
export interface StraightPathBuilder extends PointBuilder {
  path: PathArrays;
  alphas: readonly number[];
}

/**
 * Writes γ(α_j) = x′ + α_j·(x − x′) for every α_j into `out` from `offset` on: the one definition
 * of a straight path's points (in float64, rounded once), so every thread builds the same bits.
 */
export function writePathPoints(out: Float32Array, offset: number, path: PathArrays, alphas: ArrayLike<number>): void {
  const { baseline: b, direction: d } = path;
  const size = b.length;
  const whole = size - (size % 4);
  for (let j = 0; j < alphas.length; j++) {
    const a = alphas[j]!;
    const row = out.subarray(offset + j * size, offset + (j + 1) * size);
    let i = 0;
    // Four per iteration: V8 runs this about twice as fast as one (the same arithmetic per element).
    for (; i < whole; i += 4) {
      row[i] = b[i]! + a * d[i]!;
      row[i + 1] = b[i + 1]! + a * d[i + 1]!;
      row[i + 2] = b[i + 2]! + a * d[i + 2]!;
      row[i + 3] = b[i + 3]! + a * d[i + 3]!;
    }
    for (; i < size; i++) row[i] = b[i]! + a * d[i]!;
  }
}

/**
 * The points of `chunks` as one [Σ count, ...shape] tensor. On wasm they are written straight into
 * the tensor's heap memory (no JS array to allocate, fill and copy); the cpu backend keeps the array
 * it is given, so it gets a fresh one (or a single chunk's own points).
 */
function pointsTensor(chunks: readonly PointChunk[], inputShape: number[]): tf.Tensor {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const total = chunks.reduce((n, c) => n + c.count, 0);
  const shape = [total, ...inputShape];
  const fill = (out: Float32Array) => {
    let offset = 0;
    for (const chunk of chunks) {
      if (chunk.points) out.set(chunk.points.subarray(0, chunk.count * size), offset);
      else writePathPoints(out, offset, chunk.path!, chunk.path!.alphas);
      offset += chunk.count * size;
    }
  };
  if (tf.getBackend() === 'wasm') {
    const backend = tf.backend() as WasmBackendLike;
    const info = backend.makeOutput(shape, 'float32');
    fill(backend.typedArrayFromHeap(info) as Float32Array);
    return tf.engine().makeTensorFromTensorInfo(info, backend);
  }
  if (chunks.length === 1 && chunks[0]!.points) return tf.tensor(chunks[0]!.points.subarray(0, total * size), shape);
  const out = new Float32Array(total * size);
  fill(out);
  return tf.tensor(out, shape);
}

/** A chunk's points: as given, or built from its path. */
export function chunkPoints(chunk: PointChunk): Float32Array {
  if (chunk.points) return chunk.points;
  const path = chunk.path as PathPoints;
  const out = new Float32Array(chunk.count * path.baseline.length);
  writePathPoints(out, 0, path, path.alphas);
  return out;
}

/**
 * F and its backward pass at a batch of points: the gradient by default; a method that propagates
 * something else back (PatternAttribution's W⊙A) supplies its own.
 */
export type Backward = (points: tf.Tensor) => { value: tf.Tensor1D; grad: tf.Tensor };

/** F, ∇F and the requested reductions for one chunk, computed on the current backend. */
export async function reducePointChunk(
  fn: ExplainedScalar,
  inputShape: number[],
  chunk: PointChunk,
  backward: Backward = (points) => valueAndGradient(fn, points),
): Promise<PointChunkResult> {
  const tensors = tf.tidy(() => {
    const { value, grad } = backward(pointsTensor([chunk], inputShape));
    return chunkReductions(value, grad, chunk);
  });
  return download(tensors);
}

/**
 * The chunks of several inputs (each with its class) as one batch, each part reduced on its own
 * rows: the per-call cost of a forward + backward pass is shared by all of them.
 */
export async function reducePointChunks(
  model: LoadedModel,
  output: OutputKind,
  inputShape: number[],
  parts: readonly TargetedChunk[],
): Promise<PointChunkResult[]> {
  if (parts.length === 1) return [await reducePointChunk({ model, target: parts[0]!.target, output }, inputShape, parts[0]!.chunk)];
  const rowTargets = parts.flatMap(({ target, chunk }) => Array.from({ length: chunk.count }, () => target));
  const perPart = tf.tidy(() => {
    const fn = { model, target: parts[0]!.target, output };
    const points = pointsTensor(
      parts.map((p) => p.chunk),
      inputShape,
    );
    const { value, grad } = valueAndGradient(fn, points, rowTargets);
    let row = 0;
    return parts.map(({ chunk }) => {
      const rows = (t: tf.Tensor) => tf.slice(t, row, chunk.count);
      const reductions = chunkReductions(rows(value) as tf.Tensor1D, rows(grad), chunk);
      row += chunk.count;
      return reductions;
    });
  });
  return Promise.all(perPart.map(download));
}

/** The reductions `chunk` asks for from its points' F [count] and backward pass [count, ...shape]. */
function chunkReductions(value: tf.Tensor1D, grad: tf.Tensor, chunk: PointChunk): Record<string, tf.Tensor> {
  const { count } = chunk;
  const size = grad.size / count;
  const flat = tf.reshape(grad, [count, size]);
  // One C pass for ‖g‖ and g·direction on wasm (null elsewhere, or with multipliers for the dot).
  const stats = gradientRowStats(flat, count, chunk.multipliers ? null : (chunk.direction ?? null));
  const gradNorm = stats ? tf.tensor1d(Float32Array.from(stats.sumSquares, Math.sqrt)) : tf.sqrt(tf.sum(tf.square(flat), 1));
  const out: Record<string, tf.Tensor> = { value, gradNorm };
  const g = chunk.multipliers ? tf.mul(flat, tf.tensor2d(chunk.multipliers, [count, size])) : flat;
  if (chunk.weights) out.weightedSum = tf.sum(tf.mul(g, tf.tensor2d(chunk.weights, [count, 1])), 0);
  if (chunk.direction)
    out.directional = stats?.dots
      ? tf.tensor1d(Float32Array.from(stats.dots))
      : tf.sum(tf.mul(g, tf.tensor2d(chunk.direction, [1, size])), 1);
  if (chunk.sumOfSquares) out.sumOfSquares = tf.sum(tf.square(g), 0);
  if (chunk.totals) out.totals = tf.sum(g, 1);
  if (chunk.keepGradients) out.gradients = flat;
  return out;
}

/** The reductions' values, their tensors released. */
async function download(tensors: Record<string, tf.Tensor>): Promise<PointChunkResult> {
  const entries = Object.entries(tensors);
  const arrays = await Promise.all(entries.map(([, t]) => t.data() as Promise<Float32Array>));
  tf.dispose(entries.map(([, t]) => t));
  return Object.fromEntries(entries.map(([key], i) => [key, arrays[i]])) as unknown as PointChunkResult;
}

/** How a remote chunk waits for a thread: lower `priority` first (then first come). */
export interface ChunkOrder {
  priority?: number;
  /** Chunks of other inputs (same model, output and shape) may join this one in a request of up to this many points. */
  mergeUpTo?: number;
  /** Queued chunks of a cancelled job are dropped (rejected with CancelledError) instead of computed. */
  signal?: CancellationSignal;
}

/** Evaluates chunks in another thread (a pool worker holding the same model). */
export interface RemoteEvaluator {
  evaluate(chunk: PointChunk): Promise<PointChunkResult>;
}
