import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { getMethod } from '../src/core/methods';
import { IdgiAccumulator } from '../src/core/path/idgi';
import type { QuadratureRuleName } from '../src/core/types';
import { cubeSumModel, productModel, reluSaturationModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

const close = (actual: ArrayLike<number>, expected: number[], tol: number) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e), `index ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(tol));
};

describe('IDGI (ALGORITHMS.md §5)', () => {
  it('F = x₁x₂, x = (3, 2), 50 uniform steps → (24/13, 54/13) with every discretised rule', async () => {
    const model = productModel();
    let loaded: Awaited<ReturnType<typeof runMethod>>['model'] | undefined;
    for (const rule of ['riemann-left', 'riemann-right', 'riemann-middle', 'trapezoid'] as const) {
      const run = await runMethod(loaded ?? model, 'ig', [3, 2], null, { steps: 50, rule, idgi: true });
      loaded = run.model;
      close(run.result.attribution.data, [24 / 13, 54 / 13], 1e-4);
      expect(run.result.params).toMatchObject({ steps: 50, rule, idgi: true });
      // Exactly complete, and the trace's cumulative sum ends at F(x) − F(x′).
      expect(Math.abs(run.result.completeness!.delta)).toBeLessThan(1e-5);
      expect(run.result.path!.cumulativeSum.at(-1)).toBeCloseTo(6, 5);
      // Middle needs F at the 49 interior segment ends (forward passes) on top of 50 gradients.
      expect(run.result.timing.evaluations).toBe(rule === 'riemann-middle' ? 99 : 50);
    }
  });

  it('exactly complete on a non-linear path from a non-zero baseline even with few steps', async () => {
    const { result } = await runMethod(cubeSumModel(), 'ig', [1, 2, -1], [0, 1, 0.5], { steps: 4, rule: 'riemann-right', idgi: true });
    expect(Math.abs(result.completeness!.delta)).toBeLessThan(1e-5);
  });

  it('zero-gradient points are guarded: their Δf is carried, completeness holds', async () => {
    // 1 − ReLU(1 − x₁ − x₂) at (2, 1): ∇F = 0 beyond α = 1/3.
    const { result } = await runMethod(reluSaturationModel(), 'ig', [2, 1], null, { steps: 30, rule: 'trapezoid', idgi: true });
    expect(result.attribution.data.every(Number.isFinite)).toBe(true);
    expect(Math.abs(result.completeness!.delta)).toBeLessThan(1e-5);
    const acc = new IdgiAccumulator(2);
    acc.addSegment([0, 0], 1); // no direction: carried
    acc.addSegment([1, 1], 2);
    acc.addSegment([0, 0], 0.5); // trailing: goes to the last non-zero direction
    close(acc.finish(), [1.75, 1.75], 1e-12);
    expect(acc.segmentSums).toEqual([0, 3.5, 0]);
    expect([...new IdgiAccumulator(2).finish()]).toEqual([0, 0]);
  });

  it('rejects IDGI with Gauss–Legendre or adaptive IG before computing; leaks no tensors', async () => {
    const ig = getMethod('ig');
    expect(() => ig.validate!({ idgi: true })).toThrow(/IDGI needs a discretised path/);
    expect(() => ig.validate!({ idgi: true, rule: 'adaptive' as QuadratureRuleName })).toThrow(/IDGI/);
    expect(() => ig.validate!({ idgi: true, rule: 'trapezoid' })).not.toThrow();
    const first = await runMethod(productModel(), 'ig', [3, 2], null, { steps: 9, rule: 'riemann-middle', idgi: true }, { chunkSize: 4 });
    const before = tf.memory().numTensors;
    const again = await runMethod(first.model, 'ig', [3, 2], null, { steps: 9, rule: 'riemann-middle', idgi: true }, { chunkSize: 4 });
    expect(tf.memory().numTensors).toBe(before);
    close(again.result.attribution.data, [...first.result.attribution.data], 0);
  });
});
