/**
 * Per-row statistics of a gradient batch in one pass on wasm: the sum of squares (‖∇F‖²) and the dot
 * product with a direction shared by all rows (∇F·(x − x′)), as a pool thread returns them per path
 * point. The TF.js ops (Square, Sum, Mul by an uploaded direction tensor, Sum) read the gradient four
 * times and sum in float32; this reads it once and sums in float64 (products in float32, as a float32
 * tensor product has them). tm-objects, 2 rows of 150528: ≈ 0.42 → 0.05 CPU ms per row.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernels } from './native';
import { heapOffset, type WasmBackendLike } from './scope';

export interface GradientRowStats {
  /** Σ g² per row. */
  sumSquares: Float64Array;
  /** Σ g · direction per row (null without a direction). */
  dots: Float64Array | null;
}

/**
 * The row statistics of `grad` ([rows, ...], float32, on the wasm backend), or null where the C
 * kernels cannot run (another backend, no SIMD): the caller then uses TF.js ops.
 */
export function gradientRowStats(grad: tf.Tensor, rows: number, direction: Float32Array | null): GradientRowStats | null {
  const engine = tf.engine();
  if (engine.backendName !== 'wasm' || grad.dtype !== 'float32' || rows <= 0) return null;
  const b = engine.backend as unknown as WasmBackendLike;
  const native = nativeKernels(b);
  if (native == null) return null;
  const size = grad.size / rows;
  if (!Number.isInteger(size) || (direction != null && direction.length !== size)) {
    throw new Error(`PathLens: gradient row statistics of ${grad.size} values in ${rows} rows with a direction of ${direction?.length}.`);
  }
  const dir = direction ? b.makeOutput([size], 'float32', undefined, direction) : null;
  const out = b.makeOutput([4 * rows], 'float32'); // 2·rows doubles
  try {
    const outAt = heapOffset(b, out);
    native.gradient_row_stats(heapOffset(b, grad), dir ? heapOffset(b, dir) : 0, outAt, rows, size);
    const sums = new Float64Array(b.wasm.HEAPU8.buffer, outAt, 2 * rows).slice();
    return { sumSquares: sums.subarray(0, rows), dots: direction ? sums.subarray(rows) : null };
  } finally {
    b.disposeData(out.dataId);
    if (dir) b.disposeData(dir.dataId);
  }
}
