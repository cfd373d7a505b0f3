import { beforeAll, describe, expect, it } from 'vitest';
import { PanelSums, panelsCarryingError, panelsToSplit, panelWeights, uniformPanels, type Panel } from '../src/core/path/adaptive';
import { JUMP_FACTOR, jumpEstimate, relativeL1 } from '../src/core/path/mapError';
import { createRng } from '../src/core/random';
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

  it('a round splits the panels carrying half the error, topped up to fill the chunk', () => {
    const panels = uniformPanels(4);
    expect(panelsCarryingError(panels, [1, 10, 1, 2], 3)).toEqual([panels[1]]);
    expect(panelsCarryingError(panels, [1, 10, 1, 2], 3, 3)).toEqual([panels[1], panels[3], panels[0]]);
    expect(panelsCarryingError(panels, [1, 10, 1, 2], 2, 4)).toHaveLength(2);
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

/** Per pixel a step function of α: jumps of ±1 at uniform random places; its exact integral on [0, 1]. */
function stepIntegrands(pixels: number, jumps: number, seed: number) {
  const rng = createRng(seed);
  const steps = Array.from({ length: pixels }, () =>
    Array.from({ length: jumps }, () => ({ at: rng.uniform(), height: rng.uniform() < 0.5 ? -1 : 1 })),
  );
  const gradient = (alpha: number) => Float32Array.from(steps, (s) => s.reduce((g, j) => g + (alpha >= j.at ? j.height : 0), 0));
  const exact = steps.map((s) => s.reduce((sum, j) => sum + j.height * (1 - j.at), 0) + 0);
  return { gradient, exact };
}

function split(panel: Panel): Panel[] {
  return [
    { a: panel.a, m: (panel.a + panel.m) / 2, b: panel.m },
    { a: panel.m, m: (panel.m + panel.b) / 2, b: panel.b },
  ];
}

describe('panel sums and the jump-model map-error estimate', () => {
  it('running sums after splits equal the sums over the final panels, and the map is composite Simpson', () => {
    const rng = createRng(7);
    const table = new Map<number, Float32Array>();
    const gradient = (alpha: number) =>
      table.get(alpha) ??
      table
        .set(
          alpha,
          Float32Array.from({ length: 5 }, () => rng.uniform() - 0.5),
        )
        .get(alpha)!;
    const direction = Float32Array.from([1, -2, 0.5, 3, 0]);
    const running = new PanelSums(direction, gradient);
    let panels = uniformPanels(4);
    panels.forEach((p) => running.apply(p, 1));
    const fused = new PanelSums(direction, gradient);
    panels.forEach((p) => fused.apply(p, 1));
    const fusedScores = new Map<Panel, number>();
    for (const index of [1, 4, 4]) {
      const target = panels[index]!;
      running.apply(target, -1);
      const children = split(target);
      children.forEach((c) => running.apply(c, 1));
      fused.split(target, children[0]!, children[1]!).forEach((score, k) => fusedScores.set(children[k]!, score));
      panels = panels.flatMap((p) => (p === target ? children : [p]));
    }
    const fresh = new PanelSums(direction, gradient);
    const finalScores = panels.map((p) => fresh.apply(p, 1));
    // The fused split returns each half's own score, as apply(half, 1) would.
    const scored = panels.filter((p) => fusedScores.has(p));
    expect(scored.length).toBe(5);
    scored.forEach((p) => expect(fusedScores.get(p)).toBeCloseTo(finalScores[panels.indexOf(p)]!, 12));
    const weights = panelWeights(panels);
    direction.forEach((x, i) => {
      for (const sums of [running, fused]) {
        expect(sums.map[i]).toBeCloseTo(fresh.map[i]!, 12);
        expect(sums.difference[i]).toBeCloseTo(fresh.difference[i]!, 12);
        expect(sums.variance[i]).toBeCloseTo(fresh.variance[i]!, 12);
      }
      expect(running.map[i]).toBeCloseTo(x * [...weights].reduce((s, [alpha, w]) => s + w * gradient(alpha)[i]!, 0), 12);
    });
  });

  it('on step-function integrands the estimate (without its safety factor) is the true error within 20 %', () => {
    // The model behind the estimate: jumps at unknown places between the points. Here they are.
    for (const [jumps, panelCount] of [
      [1, 4],
      [3, 8],
      [20, 32],
    ] as const) {
      const { gradient, exact } = stepIntegrands(4000, jumps, jumps);
      const sums = new PanelSums(new Float32Array(exact.length).fill(1), gradient);
      uniformPanels(panelCount).forEach((p) => sums.apply(p, 1));
      const truth = relativeL1(exact, sums.map);
      const estimate = jumpEstimate(sums.map, sums.difference, sums.variance) / JUMP_FACTOR;
      expect(estimate / truth, `${jumps} jumps, ${panelCount} panels`).toBeGreaterThan(0.8);
      expect(estimate / truth, `${jumps} jumps, ${panelCount} panels`).toBeLessThan(1.2);
    }
  });

  it('on a smooth integrand the estimate is conservative', () => {
    const direction = Float32Array.from([1, 2, -1]);
    const gradient = (alpha: number) => Float32Array.from([Math.cos(3 * alpha), alpha ** 2, Math.exp(-alpha)]);
    const exact = [Math.sin(3) / 3, 2 / 3, -(1 - Math.exp(-1))];
    const sums = new PanelSums(direction, gradient);
    uniformPanels(4).forEach((p) => sums.apply(p, 1));
    expect(jumpEstimate(sums.map, sums.difference, sums.variance)).toBeGreaterThan(relativeL1(exact, sums.map));
  });
});

describe('IG with --rule adaptive', () => {
  it('is exact on a cubic integrand (Simpson) and its estimate stays conservative there', async () => {
    const { result } = await runMethod(cubeSumModel(), 'ig', [1, 2, -1], [0, 1, 0.5], { rule: 'adaptive' as never, tolerance: 1e-6 });
    // The jump model reads a smooth integrand's change over a sub-interval as a jump (an over-estimate):
    // a few refinements past the 9-point first pass, never an under-estimate.
    expect(result.params.steps as number).toBeLessThanOrEqual(17);
    [1, 7, -1.125].forEach((e, i) => expect(result.attribution.data[i]).toBeCloseTo(e, 4));
    expect(result.accuracy!.mapError).toBeGreaterThan(relativeL1([1, 7, -1.125], result.attribution.data));
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
