/**
 * Integrated Decision Gradients and Path-Weighted IG against closed forms (linear and quadratic
 * models), against a direct numerical computation of IDG's weighting, PWIG uniform = IG exactly, and
 * seed determinism.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { decisionNodes } from '../src/core/path/decisionSampling';
import { linearModel, weightedSquaresModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

const a = [2, 1];
const x = [1.5, -0.8];
const xb = [0.2, 0.4];
const d = x.map((v, i) => v - xb[i]!);
// F = Σ a_i x_i²: ∂_iF(γ(α)) = 2a_i(x'_i + α d_i).
const grad = (i: number, alpha: number) => 2 * a[i]! * (xb[i]! + alpha * d[i]!);
const F = (alpha: number) => a.reduce((s, ai, i) => s + ai * (xb[i]! + alpha * d[i]!) ** 2, 0);

describe('Path-Weighted IG', () => {
  beforeAll(useCpu);

  it('uniform weight equals IG exactly (same rule and steps) and reports completeness', async () => {
    const model = weightedSquaresModel(a);
    const pwig = (await runMethod(model, 'pwig', x, xb, { weight: 'uniform', steps: 16, rule: 'gauss-legendre' })).result;
    const ig = (await runMethod(model, 'ig', x, xb, { steps: 16, rule: 'gauss-legendre' })).result;
    expect(Array.from(pwig.attribution.data)).toEqual(Array.from(ig.attribution.data));
    expect(pwig.completeness!.relative).toBeLessThan(1e-6);
  });

  it('ramp-up and Beta(2, 5) weights match the closed form 2a_i d_i (x′_i + d_i E_w[α]) and are marked not complete', async () => {
    const model = weightedSquaresModel(a);
    for (const [options, meanAlpha] of [
      [{ weight: 'ramp-up' }, 2 / 3],
      [{ weight: 'ramp-down' }, 1 / 3],
      [{ weight: 'beta', betaA: 2, betaB: 5 }, 2 / 7],
    ] as const) {
      const { result } = await runMethod(model, 'pwig', x, xb, { ...options, steps: 8 });
      a.forEach((ai, i) => expect(result.attribution.data[i]).toBeCloseTo(2 * ai * d[i]! * (xb[i]! + d[i]! * meanAlpha), 5));
      expect(result.completeness).toBeNull();
      expect(String(result.params.note)).toMatch(/not complete/);
    }
  });

  it('a linear model gets IG for every weight (∫w = 1)', async () => {
    const w = [0.5, -2, 3];
    const { result } = await runMethod(linearModel(w), 'pwig', [1, 2, 3], [0, 0, 0], { weight: 'beta', betaA: 3, betaB: 2, steps: 8 });
    w.forEach((wi, i) => expect(result.attribution.data[i]).toBeCloseTo(wi * (i + 1), 5));
  });

  it('rejects an unknown weight and Beta parameters below 1', async () => {
    await expect(runMethod(weightedSquaresModel(a), 'pwig', x, xb, { weight: 'cosine' })).rejects.toThrow(/unknown path weight 'cosine'/);
    await expect(runMethod(weightedSquaresModel(a), 'pwig', x, xb, { weight: 'beta', betaA: 0.5 })).rejects.toThrow(/--beta-a/);
  });
});

describe('Integrated Decision Gradients', () => {
  beforeAll(useCpu);

  it('equals a direct computation of its weighting: Σ_k width_k · F′(α_k) · ∂_iF(α_k) · d_i at the nodes from the slope pass', async () => {
    const steps = 12;
    const { result } = await runMethod(weightedSquaresModel(a), 'idg', x, xb, { steps });
    const nodes = decisionNodes(Array.from({ length: steps }, (_, j) => F(j / (steps - 1))));
    const slope = (alpha: number) => a.reduce((s, _ai, i) => s + grad(i, alpha) * d[i]!, 0);
    a.forEach((_ai, i) => {
      const direct = d[i]! * nodes.alphas.reduce((s, alpha, k) => s + nodes.widths[k]! * slope(alpha) * grad(i, alpha), 0);
      expect(result.attribution.data[i]).toBeCloseTo(direct, 4);
    });
    expect(result.completeness).toBeNull();
    expect(result.timing.evaluations).toBe(2 * steps);
  });

  it('converges to the exact integral (x_i − x′_i) ∫ F′(α) ∂_iF dα on a quadratic model', async () => {
    // F′(α) = Σ_j 2a_j d_j (x′_j + α d_j) is linear in α, ∂_iF too: integrate the product exactly.
    const c0 = a.reduce((s, aj, j) => s + 2 * aj * d[j]! * xb[j]!, 0);
    const c1 = a.reduce((s, aj, j) => s + 2 * aj * d[j]! * d[j]!, 0);
    const exact = (i: number) => {
      const [g0, g1] = [2 * a[i]! * xb[i]!, 2 * a[i]! * d[i]!];
      return d[i]! * (c0 * g0 + (c0 * g1 + c1 * g0) / 2 + (c1 * g1) / 3);
    };
    const { result } = await runMethod(weightedSquaresModel(a), 'idg', x, xb, { steps: 400 });
    a.forEach((_ai, i) => expect(Math.abs(result.attribution.data[i]! - exact(i)) / Math.abs(exact(i))).toBeLessThan(0.02));
  });

  it('is deterministic: the same input gives bit-identical maps', async () => {
    const model = weightedSquaresModel(a);
    const first = (await runMethod(model, 'idg', x, xb, { steps: 20 })).result.attribution.data;
    const second = (await runMethod(model, 'idg', x, xb, { steps: 20 })).result.attribution.data;
    expect(Array.from(second)).toEqual(Array.from(first));
  });

  it('rejects fewer than 3 steps', async () => {
    await expect(runMethod(weightedSquaresModel(a), 'idg', x, xb, { steps: 2 })).rejects.toThrow(/between 3 and 4096 steps/);
  });
});
