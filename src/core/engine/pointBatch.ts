import * as tf from '@tensorflow/tfjs-core';
import { valueAndGradient, type ExplainedScalar } from './scalar';
import type { PointChunk, PointChunkResult } from '../../shared/protocol';
import type { CancellationSignal } from '../../shared/types';

export type { PointChunk, PointChunkResult } from '../../shared/protocol';

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
  const size = inputShape.reduce((a, b) => a * b, 1);
  const { count } = chunk;
  const tensors = tf.tidy(() => {
    const points = tf.tensor(chunk.points, [count, ...inputShape]);
    const { value, grad } = backward(points);
    const flat = tf.reshape(grad, [count, size]);
    const out: Record<string, tf.Tensor> = { value, gradNorm: tf.sqrt(tf.sum(tf.square(flat), 1)) };
    const g = chunk.multipliers ? tf.mul(flat, tf.tensor2d(chunk.multipliers, [count, size])) : flat;
    if (chunk.weights) out.weightedSum = tf.sum(tf.mul(g, tf.tensor2d(chunk.weights, [count, 1])), 0);
    if (chunk.direction) out.directional = tf.sum(tf.mul(g, tf.tensor2d(chunk.direction, [1, size])), 1);
    if (chunk.sumOfSquares) out.sumOfSquares = tf.sum(tf.square(g), 0);
    if (chunk.totals) out.totals = tf.sum(g, 1);
    if (chunk.keepGradients) out.gradients = flat;
    return out;
  });
  const entries = Object.entries(tensors);
  const arrays = await Promise.all(entries.map(([, t]) => t.data() as Promise<Float32Array>));
  tf.dispose(entries.map(([, t]) => t));
  return Object.fromEntries(entries.map(([key], i) => [key, arrays[i]])) as unknown as PointChunkResult;
}

/** How a remote chunk waits for a thread: lower `priority` first (then first come). */
export interface ChunkOrder {
  priority?: number;
  /** Queued chunks of a cancelled job are dropped (rejected with CancelledError) instead of computed. */
  signal?: CancellationSignal;
}

/** Evaluates chunks in another thread (a pool worker holding the same model). */
export interface RemoteEvaluator {
  evaluate(chunk: PointChunk): Promise<PointChunkResult>;
}
