import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { getMethod } from '../src/core/methods';
import { SMOOTHING_DEFAULTS } from '../src/core/attribution/smoothing';
import { cubeSumModel, linearModel, productModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) => {
  expect(actual.length).toBe(expected.length);
  Array.from(expected).forEach((e, i) => expect(Math.abs(actual[i]! - e), `index ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(tol));
};

describe('SmoothGrad, SmoothGrad², VarGrad (ALGORITHMS.md §2)', () => {
  it('σ = 0: SmoothGrad equals the wrapped method, SG² its square, VarGrad 0', async () => {
    const model = cubeSumModel();
    const x = [1, 2, -1];
    let loaded = (await runMethod(model, 'gradient', x, null)).model;
    for (const wrap of ['gradient', 'grad-x-input', 'ig'] as const) {
      // The wrapped IG integrates by a fixed rule (SmoothGrad's), so plain IG is asked for the same one.
      const fixedRule = wrap === 'ig' ? { rule: SMOOTHING_DEFAULTS.igRule } : {};
      const wrapped = (await runMethod(loaded, wrap, x, null, { steps: 8, ...fixedRule })).result.attribution.data;
      const sg = await runMethod(loaded, 'smoothgrad', x, null, { wrap, noise: 0, samples: 3, steps: 8 });
      loaded = sg.model;
      close(sg.result.attribution.data, wrapped, 1e-5);
      expect(sg.result.params).toMatchObject({ wrap, samples: 3, noise: 0, sigma: 0 });
      const sq = await runMethod(loaded, 'smoothgrad-sq', x, null, { wrap, noise: 0, samples: 3, steps: 8 });
      close(
        sq.result.attribution.data,
        Array.from(wrapped, (v) => v * v),
        1e-4,
      );
      const vg = await runMethod(loaded, 'vargrad', x, null, { wrap, noise: 0, samples: 3, steps: 8 });
      close(vg.result.attribution.data, [0, 0, 0], 1e-4);
      expect(vg.result.completeness).toBeNull();
    }
  });

  it('σ is relative to the input range and stated so; linear F: SmoothGrad of the gradient is w, VarGrad 0', async () => {
    const { result } = await runMethod(linearModel([2, -1, 0.5]), 'smoothgrad', [0, 4, 2], null, { samples: 10 });
    close(result.attribution.data, [2, -1, 0.5], 1e-5);
    expect(result.params.noise).toBe(0.15);
    expect(result.params.sigma).toBeCloseTo(0.15 * 4, 12); // range of the input: [0, 4]
    expect(String(result.params.noiseScale)).toMatch(/relative/);
  });

  it('F = x₁x₂: SG² and VarGrad of the gradient match their closed forms in expectation', async () => {
    // ∇F(x+ε) = (x₂+ε₂, x₁+ε₁): mean → (x₂, x₁), variance → σ² each, mean square → x² + σ².
    const x = [3, 2];
    const samples = 4000;
    const sigma = 0.3 * (3 - 2);
    const model = productModel();
    const vg = await runMethod(model, 'vargrad', x, null, { noise: 0.3, samples, seed: 5 });
    close(vg.result.attribution.data, [sigma ** 2, sigma ** 2], 0.01);
    const sq = await runMethod(vg.model, 'smoothgrad-sq', x, null, { noise: 0.3, samples, seed: 5 });
    close(sq.result.attribution.data, [4 + sigma ** 2, 9 + sigma ** 2], 0.05);
  });

  it('deterministic under a seed, different across seeds, chunking-invariant and leak-free', async () => {
    const model = productModel();
    const a = await runMethod(model, 'smoothgrad', [3, 2], null, { samples: 7, seed: 42 }, { chunkSize: 7 });
    const before = tf.memory().numTensors;
    const b = await runMethod(a.model, 'smoothgrad', [3, 2], null, { samples: 7, seed: 42 }, { chunkSize: 3 });
    const ig = await runMethod(a.model, 'vargrad', [3, 2], null, { samples: 2, seed: 42, wrap: 'ig', steps: 4 }, { chunkSize: 3 });
    expect(tf.memory().numTensors).toBe(before);
    close(b.result.attribution.data, a.result.attribution.data, 1e-6);
    expect(ig.result.params).toMatchObject({ wrap: 'ig', steps: 4, rule: 'gauss-legendre' });
    const c = await runMethod(a.model, 'smoothgrad', [3, 2], null, { samples: 7, seed: 43 }, { chunkSize: 7 });
    expect([...c.result.attribution.data]).not.toEqual([...a.result.attribution.data]);
  });

  it('rejects invalid parameters before computing', () => {
    for (const name of ['smoothgrad', 'smoothgrad-sq', 'vargrad']) {
      const method = getMethod(name);
      for (const bad of [{ samples: 0 }, { noise: -0.1 }, { noise: 'x' }, { wrap: 'lrp' }, { wrap: 'ig', steps: 0 }]) {
        expect(() => method.validate!(bad)).toThrow(/samples|noise|wrap|steps/);
      }
      expect(method.parameters.map((p) => p.name)).toEqual(['wrap', 'samples', 'noise', 'seed']);
    }
  });
});
