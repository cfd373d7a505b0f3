import { beforeAll, describe, expect, it } from 'vitest';
import { refinementMidpoints, trapezoidWeights } from '../src/core/path/adaptive';
import { cubeSumModel, reluSaturationModel, sigmoidModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

describe('adaptive quadrature pieces', () => {
  it('trapezoid weights on a non-uniform grid sum to 1 and match the uniform rule', () => {
    expect(trapezoidWeights([0, 0.25, 0.5, 0.75, 1])).toEqual([0.125, 0.25, 0.25, 0.25, 0.125]);
    const w = trapezoidWeights([0, 0.1, 0.15, 0.5, 1]);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15);
    [0.05, 0.075, 0.2, 0.425, 0.25].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 12));
  });

  it('refines where the integrand changes most, widest first when flat', () => {
    expect(refinementMidpoints([0, 0.5, 1], [0, 10, 10], 4)).toEqual([0.25]);
    expect(refinementMidpoints([0, 0.25, 1], [1, 1, 1], 1)).toEqual([0.625]);
  });
});

describe('IG with --rule adaptive', () => {
  it('meets the tolerance on a smooth model with few evaluations, reusing the first pass', async () => {
    const { result } = await runMethod(sigmoidModel([2, -1, 0.5]), 'ig', [1, 0.5, 2], null, { rule: 'adaptive' as never, tolerance: 1e-3 }, { output: 'probability' });
    expect(result.completeness!.relative).toBeLessThanOrEqual(1e-3);
    expect(result.params).toMatchObject({ rule: 'adaptive', tolerance: 1e-3, converged: true });
    expect(result.path!.alpha.length).toBe(result.params.steps);
    expect(result.params.steps as number).toBeLessThan(50);
    // Every path point is a distinct evaluation: nothing was thrown away or recomputed.
    expect(new Set(result.path!.alpha).size).toBe(result.path!.alpha.length);
    [0.339313, -0.084828, 0.169657].forEach((e, i) => expect(result.attribution.data[i]).toBeCloseTo(e, 2));
  });

  it('concentrates points at a ReLU kink and reaches the tolerance there', async () => {
    const { result } = await runMethod(reluSaturationModel(), 'ig', [2, 1], null, { rule: 'adaptive' as never, tolerance: 1e-3 });
    expect(result.completeness!.relative).toBeLessThanOrEqual(1e-3);
    const alphas = result.path!.alpha;
    const nearKink = alphas.filter((a) => Math.abs(a - 1 / 3) < 0.05).length;
    expect(nearKink).toBeGreaterThan(alphas.filter((a) => Math.abs(a - 0.8) < 0.05).length);
    expect(result.attribution.data[0]).toBeCloseTo(2 / 3, 2);
  });

  it('stops at the evaluation cap and says it did not converge', async () => {
    const { result } = await runMethod(cubeSumModel(), 'ig', [1, 2, -1], [0, 1, 0.5], { rule: 'adaptive' as never, tolerance: 1e-9, maxEvaluations: 12 });
    expect(result.params.converged).toBe(false);
    expect(result.params.steps).toBe(12);
  });

  it('rejects a cap below the first pass', async () => {
    await expect(runMethod(cubeSumModel(), 'ig', [1, 2, -1], null, { rule: 'adaptive' as never, maxEvaluations: 3 })).rejects.toThrow(/max-evaluations must be at least 9/);
  });
});
