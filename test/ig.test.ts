import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { quadrature, QUADRATURE_RULES, gaussLegendre } from '../src/core/path/quadrature';
import { cubeSumModel, productModel, reluSaturationModel, sigmoidModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

const close = (actual: ArrayLike<number>, expected: number[], tol: number) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e)).toBeLessThanOrEqual(tol));
};

describe('quadrature', () => {
  it('Gauss–Legendre nodes and weights match the tabulated values', () => {
    const two = quadrature('gauss-legendre', 2);
    close(two.alphas, [0.211325, 0.788675], 1e-6);
    close(two.weights, [0.5, 0.5], 1e-12);
    const three = quadrature('gauss-legendre', 3);
    close(three.alphas, [0.112702, 0.5, 0.887298], 1e-6);
    close(three.weights, [5 / 18, 8 / 18, 5 / 18], 1e-12);
  });

  it('Gauss–Legendre with n points integrates degree 2n−1 exactly', () => {
    for (const n of [1, 2, 5, 50, 128]) {
      const { nodes, weights } = gaussLegendre(n);
      const degree = 2 * n - 1;
      const integral = nodes.reduce((s, t, k) => s + weights[k]! * t ** degree + weights[k]! * t ** (degree - 1), 0);
      // ∫ t^odd = 0, ∫ t^even over [−1,1] = 2/(even+1)
      expect(integral).toBeCloseTo(2 / degree, 10);
    }
  });

  it('every rule has weights summing to 1 and the tabulated points', () => {
    for (const rule of QUADRATURE_RULES) expect(quadrature(rule, 10).weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    close(quadrature('riemann-left', 4).alphas, [0, 0.25, 0.5, 0.75], 0);
    close(quadrature('riemann-right', 4).alphas, [0.25, 0.5, 0.75, 1], 0);
    close(quadrature('riemann-middle', 4).alphas, [0.125, 0.375, 0.625, 0.875], 1e-15);
    const trapezoid = quadrature('trapezoid', 5);
    close(trapezoid.alphas, [0, 0.25, 0.5, 0.75, 1], 0);
    close(trapezoid.weights, [0.125, 0.25, 0.25, 0.25, 0.125], 1e-15);
  });

  it('rejects impossible step counts', () => {
    expect(() => quadrature('gauss-legendre', 0)).toThrow(/steps/);
    expect(() => quadrature('trapezoid', 1)).toThrow(/at least 2/);
  });
});

describe('Integrated Gradients on exact cases (ALGORITHMS.md §1)', () => {
  it('F = x₁x₂ at (3,2): GL and midpoint exact, left/right Riemann biased as tabulated', async () => {
    const model = productModel();
    for (const [rule, steps, expected] of [
      ['gauss-legendre', 2, [3, 3]],
      ['gauss-legendre', 50, [3, 3]],
      ['riemann-middle', 10, [3, 3]],
      ['riemann-left', 10, [2.7, 2.7]],
      ['riemann-right', 10, [3.3, 3.3]],
      ['trapezoid', 11, [3, 3]],
    ] as const) {
      const { result } = await runMethod(model, 'ig', [3, 2], null, { rule, steps });
      close(result.attribution.data, [...expected], 1e-5);
    }
  });

  it('F = Σxᵢ³ from a non-zero baseline: IG = x³ − x′³, GL-50 exact', async () => {
    const { result } = await runMethod(cubeSumModel(), 'ig', [1, 2, -1], [0, 1, 0.5], { rule: 'gauss-legendre', steps: 50 });
    close(result.attribution.data, [1, 7, -1.125], 1e-5);
    expect(result.completeness!.expected).toBeCloseTo(1 + 7 - 1.125, 5);
    expect(Math.abs(result.completeness!.delta)).toBeLessThan(1e-5);
  });

  it('F = sigmoid(wᵀx): closed form, every rule converges', async () => {
    const model = sigmoidModel([2, -1, 0.5]);
    for (const rule of QUADRATURE_RULES) {
      const { result } = await runMethod(
        model,
        'ig',
        [1, 0.5, 2],
        null,
        { rule, steps: rule.startsWith('riemann-l') || rule === 'riemann-right' ? 2000 : 200 },
        { output: 'probability' },
      );
      close(
        result.attribution.data,
        [0.339313, -0.084828, 0.169657],
        rule === 'gauss-legendre' || rule === 'riemann-middle' || rule === 'trapezoid' ? 2e-5 : 2e-4,
      );
      expect(result.completeness!.expected).toBeCloseTo(0.424142, 5);
    }
  });

  it('F = 1 − ReLU(1 − x₁ − x₂) at (2,1): zero gradient at x, IG = (2/3, 1/3); GL is poor at the kink', async () => {
    const model = reluSaturationModel();
    const gradient = await runMethod(model, 'gradient', [2, 1], null);
    close(gradient.result.attribution.data, [0, 0], 0);
    const trapezoid = await runMethod(model, 'ig', [2, 1], null, { rule: 'trapezoid', steps: 3001 });
    close(trapezoid.result.attribution.data, [2 / 3, 1 / 3], 1e-3);
    const gl = await runMethod(model, 'ig', [2, 1], null, { rule: 'gauss-legendre', steps: 50 });
    // The documented trap: GL-50 misses the kink at α = 1/3 by δ ≈ +0.041.
    expect(gl.result.completeness!.delta).toBeCloseTo(0.041, 2);
  });

  it('Gradient × Input and Gradient agree with the analytic gradient', async () => {
    const model = productModel();
    close((await runMethod(model, 'gradient', [3, 2], null)).result.attribution.data, [2, 3], 1e-6);
    close((await runMethod(model, 'grad-x-input', [3, 2], null)).result.attribution.data, [6, 6], 1e-6);
  });

  it('path trace: cumulative Σattr ends at Σattr, F along the path, evaluation count', async () => {
    const { result } = await runMethod(productModel(), 'ig', [3, 2], null, { rule: 'riemann-right', steps: 4 });
    const path = result.path!;
    expect(path.alpha).toEqual([0.25, 0.5, 0.75, 1]);
    close(path.value, [0.375, 1.5, 3.375, 6], 1e-5); // F(αx) = 6α²
    expect(path.cumulativeSum[3]).toBeCloseTo(result.completeness!.sum, 5);
    expect(path.expected).toBeCloseTo(6, 5);
    // 4 path points + 2 for the map-error estimate (the same rule at half the points).
    expect(result.timing.evaluations).toBe(6);
    expect(result.accuracy!.basis).toMatch(/halving/);
  });

  it('chunking does not change the answer and leaks no tensors', async () => {
    const model = cubeSumModel();
    const whole = await runMethod(model, 'ig', [1, 2, -1], [0, 1, 0.5], { steps: 17 }, { chunkSize: 64 });
    const before = tf.memory().numTensors;
    const chunked = await runMethod(whole.model, 'ig', [1, 2, -1], [0, 1, 0.5], { steps: 17 }, { chunkSize: 3 });
    expect(tf.memory().numTensors).toBe(before);
    close(chunked.result.attribution.data, [...whole.result.attribution.data], 1e-6);
  });
});
