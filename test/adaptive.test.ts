import { beforeAll, describe, expect, it } from 'vitest';
import { panelsToSplit, panelWeights, uniformPanels } from '../src/core/path/adaptive';
import { cubeSumModel, reluSaturationModel, sigmoidModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

describe('adaptive quadrature pieces', () => {
  it('composite Simpson weights on uniform panels match the textbook rule and sum to 1', () => {
    const w = panelWeights(uniformPanels(2));
    expect([...w.keys()]).toEqual([0, 0.25, 0.5, 0.75, 1]);
    [1 / 12, 4 / 12, 2 / 12, 4 / 12, 1 / 12].forEach((v, i) => expect([...w.values()][i]).toBeCloseTo(v, 14));
    const split = panelWeights([
      { a: 0, m: 0.125, b: 0.25 },
      { a: 0.25, m: 0.375, b: 0.5 },
      { a: 0.5, m: 0.75, b: 1 },
    ]);
    expect([...split.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15);
    // Simpson is exact for cubics: ∫₀¹ α³ = 1/4 on any panels.
    expect([...split].reduce((s, [a, wa]) => s + wa * a ** 3, 0)).toBeCloseTo(0.25, 14);
  });

  it('splits the panel where the integrand bends, the widest when all are straight', () => {
    const panels = uniformPanels(2);
    const kinked = new Map([
      [0, 0],
      [0.25, 0],
      [0.5, 0],
      [0.75, 1],
      [1, 1],
    ]);
    expect(panelsToSplit(panels, kinked, 4)).toEqual([panels[1]]);
    const straight = new Map([
      [0, 0],
      [0.25, 1],
      [0.5, 2],
      [0.75, 3],
      [1, 4],
    ]);
    expect(panelsToSplit(panels, straight, 1)).toHaveLength(1);
  });
});

describe('IG with --rule adaptive', () => {
  it('is exact on a cubic integrand after the first pass (Simpson)', async () => {
    const { result } = await runMethod(cubeSumModel(), 'ig', [1, 2, -1], [0, 1, 0.5], { rule: 'adaptive' as never, tolerance: 1e-6 });
    expect(result.params.steps).toBe(9);
    [1, 7, -1.125].forEach((e, i) => expect(result.attribution.data[i]).toBeCloseTo(e, 4));
  });

  it('meets the tolerance on a smooth model with few evaluations, reusing the first pass', async () => {
    const { result } = await runMethod(
      sigmoidModel([2, -1, 0.5]),
      'ig',
      [1, 0.5, 2],
      null,
      { rule: 'adaptive' as never, tolerance: 1e-3 },
      { output: 'probability' },
    );
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
    const { result } = await runMethod(reluSaturationModel(), 'ig', [2, 1], null, {
      rule: 'adaptive' as never,
      tolerance: 1e-12,
      maxEvaluations: 12,
    });
    expect(result.params.converged).toBe(false);
    expect(result.params.steps as number).toBeLessThanOrEqual(12);
    expect(result.timing.evaluations).toBe(result.params.steps);
  });

  it('rejects a cap below the first pass', async () => {
    await expect(runMethod(cubeSumModel(), 'ig', [1, 2, -1], null, { rule: 'adaptive' as never, maxEvaluations: 3 })).rejects.toThrow(
      /max-evaluations must be at least 9/,
    );
  });
});
