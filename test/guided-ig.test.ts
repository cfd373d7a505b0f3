import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { getMethod } from '../src/core/methods';
import { lowerQuantile } from '../src/core/methods/guidedIg';
import { linearModel, productModel, squaredLinearModel, weightedSquaresModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

const close = (actual: ArrayLike<number>, expected: number[], tol: number) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e), `index ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(tol));
};

describe('Guided IG (ALGORITHMS.md §3, PAIR reference tests)', () => {
  it('lower quantile matches numpy (method="lower"), ties and +∞ included', () => {
    const v = Float64Array.from([3, 1, 2, 2, Infinity]);
    expect(lowerQuantile(v, 0.25)).toBe(2); // sorted 1,2,2,3,∞ → index floor(1.0) = 1
    expect(lowerQuantile(v, 0.1)).toBe(1);
    expect(lowerQuantile(v, 1)).toBe(Infinity);
    expect(lowerQuantile(Float64Array.from([5, 4]), 0.5)).toBe(4);
    const big = Float64Array.from({ length: 1001 }, (_, i) => (i * 7919) % 1001);
    expect(lowerQuantile(big, 0.25)).toBe(250);
  });

  it('F = 2x₁ + x₂, x = (10, 5): (22, 8) from x′ = (−1, −3) and (20, 5) from 0', async () => {
    const model = linearModel([2, 1]);
    const { result, model: loaded } = await runMethod(model, 'guided-ig', [10, 5], [-1, -3], { steps: 10, fraction: 0.1, maxDist: 0.5 });
    close(result.attribution.data, [22, 8], 1e-4);
    expect(result.params).toMatchObject({ steps: 10, fraction: 0.1, maxDist: 0.5, idgi: false });
    const zero = await runMethod(loaded, 'guided-ig', [10, 5], null, { steps: 10, fraction: 0.1, maxDist: 0.5 });
    close(zero.result.attribution.data, [20, 5], 1e-4);
    expect(zero.result.timing.evaluations).toBe(10);
  });

  it('F = 2x₁² + x₂², x = (3, 3), T = 1000, max_dist 0.4 → (18, 9)', async () => {
    const { result } = await runMethod(weightedSquaresModel([2, 1]), 'guided-ig', [3, 3], null, {
      steps: 1000,
      fraction: 0.1,
      maxDist: 0.4,
    });
    const a = result.attribution.data;
    expect(Math.abs(a[0]! - 18) / 18).toBeLessThan(1e-2);
    expect(Math.abs(a[1]! - 9) / 9).toBeLessThan(1e-2);
  });

  it('F = (2x₁ + x₂)², x = (3, 3), T = 1000: max_dist 0 → left-Riemann IG, 0.2 → bounded, 1 → unbounded', async () => {
    const model = squaredLinearModel([2, 1]);
    const straight = await runMethod(model, 'guided-ig', [3, 3], null, { steps: 1000, fraction: 0.1, maxDist: 0 });
    close(straight.result.attribution.data, [53.95, 26.97], 0.01);
    // Reduction: identical to IG with the left Riemann rule on the same steps.
    const ig = await runMethod(straight.model, 'ig', [3, 3], null, { steps: 1000, rule: 'riemann-left' });
    close(straight.result.attribution.data, [...ig.result.attribution.data], 1e-3);
    const bounded = await runMethod(straight.model, 'guided-ig', [3, 3], null, { steps: 1000, fraction: 0.1, maxDist: 0.2 });
    const [b1, b2] = bounded.result.attribution.data;
    expect(b1).toBeGreaterThan(55);
    expect(b1).toBeLessThan(71);
    expect(b2).toBeGreaterThan(10);
    expect(b2).toBeLessThan(26);
    expect(Math.abs(b1! + b2! - 81)).toBeLessThan(0.1);
    const unbounded = await runMethod(straight.model, 'guided-ig', [3, 3], null, { steps: 1000, fraction: 0.1, maxDist: 1 });
    close(unbounded.result.attribution.data, [71.9, 9.0], 0.1);
  });

  it('fraction 1 reduces to left-Riemann IG too', async () => {
    const model = squaredLinearModel([2, 1]);
    const guided = await runMethod(model, 'guided-ig', [3, 3], [1, -1], { steps: 20, fraction: 1, maxDist: 0.3 });
    const ig = await runMethod(guided.model, 'ig', [3, 3], [1, -1], { steps: 20, rule: 'riemann-left' });
    close(guided.result.attribution.data, [...ig.result.attribution.data], 1e-4);
  });

  it('path trace: α, F, L1 covered, cumulative Σattr and progress percentiles per step', async () => {
    const { result } = await runMethod(squaredLinearModel([2, 1]), 'guided-ig', [3, 3], null, { steps: 50, fraction: 0.1, maxDist: 1 });
    const path = result.path!;
    expect(path.alpha).toHaveLength(50);
    expect(path.alpha[49]).toBe(1);
    expect(path.value[49]).toBeCloseTo(81, 3);
    close(path.extra!.l1Covered!, path.alpha, 1e-9);
    expect(path.cumulativeSum[49]).toBeCloseTo(result.completeness!.sum, 3);
    // Unbounded: the low-gradient feature x₂ runs ahead, so progress spreads around the straight line.
    const spread = path.extra!.progressP90!.map((p90, k) => p90 - path.extra!.progressP10![k]!);
    expect(Math.max(...spread)).toBeGreaterThan(0.3);
    expect(path.extra!.progressP50![49]).toBeCloseTo(1, 9);
    expect(result.completeness!.relative).toBeLessThan(0.05);
  });

  it('IDGI on the Guided IG path is exactly complete', async () => {
    const { result } = await runMethod(squaredLinearModel([2, 1]), 'guided-ig', [3, 3], [0.5, 0], {
      steps: 30,
      fraction: 0.25,
      maxDist: 0.1,
      idgi: true,
    });
    expect(result.params.idgi).toBe(true);
    expect(Math.abs(result.completeness!.delta)).toBeLessThan(1e-4);
    expect(result.path!.cumulativeSum[29]).toBeCloseTo(result.completeness!.expected, 4);
  });

  it('input equal to the baseline → zero attribution without evaluations; constant features stay zero', async () => {
    const model = productModel();
    const same = await runMethod(model, 'guided-ig', [1, 2], [1, 2], { steps: 5 });
    close(same.result.attribution.data, [0, 0], 0);
    expect(same.result.timing.evaluations).toBe(0);
    const partial = await runMethod(same.model, 'guided-ig', [3, 2], [0, 2], { steps: 8 });
    expect(partial.result.attribution.data[1]).toBe(0);
    expect(partial.result.attribution.data[0]).toBeCloseTo(6, 4); // F linear in x₁ here
  });

  it('rejects invalid parameters before computing, and leaks no tensors', async () => {
    const method = getMethod('guided-ig');
    for (const bad of [
      { fraction: 0 },
      { fraction: 1.5 },
      { maxDist: -0.1 },
      { maxDist: 2 },
      { steps: 0 },
      { steps: 2.5 },
      { fraction: 'a' },
    ]) {
      expect(() => method.validate!(bad)).toThrow(/fraction|max-dist|steps/);
    }
    const model = productModel();
    const first = await runMethod(model, 'guided-ig', [3, 2], null, { steps: 4 });
    await expect(runMethod(first.model, 'guided-ig', [3, 2], null, { fraction: 0 })).rejects.toThrow(/fraction/);
    // Fixed chunk size: the evaluator's one-off memory measurement is not part of the method.
    const before = tf.memory().numTensors;
    const again = await runMethod(first.model, 'guided-ig', [3, 2], null, { steps: 4 }, { chunkSize: 8 });
    expect(tf.memory().numTensors).toBe(before);
    close(again.result.attribution.data, [...first.result.attribution.data], 0);
  });
});
