/**
 * gradientRowStats (engine/wasm/reductions.ts): per-row Σg² and Σg·direction of a gradient batch in
 * one C pass, against float64 sums of the same float32 products and against the TF.js ops it replaces.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/engine/backend';
import { createRng } from '../src/core/random';
import { gradientRowStats } from '../src/core/engine/wasm/reductions';
import { reducePointChunk } from '../src/core/engine/pointBatch';

function randArray(n: number, seed: number): Float32Array {
  const r = createRng(seed);
  return Float32Array.from({ length: n }, () => r.range(-2, 2));
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('gradientRowStats', () => {
  test.each([
    [2, 150528],
    [3, 1003],
    [1, 3],
  ])('%i rows of %i: float64 sums of the float32 products', async (rows, size) => {
    await initBackend('wasm');
    const g = randArray(rows * size, 5);
    const dir = randArray(size, 6);
    const grad = tf.tensor2d(g, [rows, size]);
    const stats = gradientRowStats(grad, rows, dir)!;
    const absDots: number[] = [];
    expect(stats).not.toBeNull();
    for (let r = 0; r < rows; r++) {
      let sq = 0;
      let dot = 0;
      let absDot = 0;
      for (let i = 0; i < size; i++) {
        const v = g[r * size + i]!;
        sq += Math.fround(v * v);
        dot += Math.fround(v * dir[i]!);
        absDot += Math.abs(v * dir[i]!);
      }
      absDots[r] = absDot;
      expect(Math.abs(stats.sumSquares[r]! - sq)).toBeLessThanOrEqual(1e-12 * sq);
      expect(Math.abs(stats.dots![r]! - dot)).toBeLessThanOrEqual(1e-12 * Math.max(1, sq));
    }
    // the TF.js ops it replaces (float32 sums: looser)
    const norms = tf.sqrt(tf.sum(tf.square(grad), 1)).dataSync();
    const dots = tf.sum(tf.mul(grad, tf.tensor2d(dir, [1, size])), 1).dataSync();
    for (let r = 0; r < rows; r++) {
      expect(Math.abs(Math.sqrt(stats.sumSquares[r]!) - norms[r]!)).toBeLessThanOrEqual(1e-4 * norms[r]!);
      expect(Math.abs(stats.dots![r]! - dots[r]!)).toBeLessThanOrEqual(1e-5 * absDots[r]!);
    }
    expect(gradientRowStats(grad, rows, null)!.dots).toBeNull();
    grad.dispose();
  });

  test('null on the cpu backend (the caller uses TF.js ops); a wrong direction length is an error', async () => {
    await initBackend('wasm');
    const grad = tf.zeros([2, 6]);
    expect(() => gradientRowStats(grad, 2, new Float32Array(5))).toThrow(/direction of 5/);
    grad.dispose();
    await initBackend('cpu');
    const onCpu = tf.zeros([2, 6]);
    expect(gradientRowStats(onCpu, 2, null)).toBeNull();
    onCpu.dispose();
  });
});

describe('a chunk reduced on wasm', () => {
  test('its ‖∇F‖ and ∇F·direction come from the one-pass float64 sums, not float32 TF.js sums', async () => {
    await initBackend('wasm');
    const [count, size] = [2, 150528];
    const g = randArray(count * size, 11);
    const direction = randArray(size, 12);
    const backward = () => ({ value: tf.tensor1d([1, 2]), grad: tf.tensor2d(g, [count, size]) });
    const chunk = { count, points: new Float32Array(count * size), direction };
    const result = await reducePointChunk(undefined as never, [size], chunk, backward);
    for (let r = 0; r < count; r++) {
      let [sq, dot] = [0, 0];
      for (let i = 0; i < size; i++) {
        const v = g[r * size + i]!;
        sq += Math.fround(v * v);
        dot += Math.fround(v * direction[i]!);
      }
      // float32 outputs of float64 sums: within one float32 rounding (TF.js's float32 sums are not)
      expect(Math.abs(result.gradNorm[r]! - Math.sqrt(sq))).toBeLessThanOrEqual(1e-7 * Math.sqrt(sq));
      expect(Math.abs(result.directional![r]! - dot)).toBeLessThanOrEqual(1e-7 * Math.abs(dot) + 1e-9);
    }
  });
});
