import { beforeAll, describe, expect, it } from 'vitest';
import {
  IntervalSums,
  intervalsCarryingError,
  intervalsClosingGap,
  intervalWeights,
  uniformIntervals,
  type Interval,
} from '../src/core/path/adaptive';
import { HIDDEN_KINKS, JUMP_FACTOR, jumpEstimate, jumpVarianceWeight, relativeL1 } from '../src/core/path/mapError';
import { createRng } from '../src/core/random';
import { cubeSumModel, reluSaturationModel, sigmoidModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

describe('adaptive quadrature pieces', () => {
  it('composite trapezoid weights on any intervals sum to 1 and integrate linear functions exactly', () => {
    const w = intervalWeights(uniformIntervals(4));
    expect([...w.keys()]).toEqual([0, 0.25, 0.5, 0.75, 1]);
    [1 / 8, 1 / 4, 1 / 4, 1 / 4, 1 / 8].forEach((v, i) => expect([...w.values()][i]).toBeCloseTo(v, 14));
    const split = intervalWeights([
      { a: 0, b: 0.125 },
      { a: 0.125, b: 0.25 },
      { a: 0.25, b: 1 },
    ]);
    expect([...split.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15);
    expect([...split].reduce((s, [a, wa]) => s + wa * (3 * a - 1), 0)).toBeCloseTo(0.5, 14);
  });

  it('a round splits the intervals carrying half the error, topped up to fill the round', () => {
    const intervals = uniformIntervals(4);
    expect(intervalsCarryingError(intervals, [1, 10, 1, 2], 3)).toEqual([intervals[1]]);
    expect(intervalsCarryingError(intervals, [1, 10, 1, 2], 3, 3)).toEqual([intervals[1], intervals[3], intervals[0]]);
    expect(intervalsCarryingError(intervals, [1, 10, 1, 2], 2, 4)).toHaveLength(2);
    // All flat: the widest.
    const mixed = [
      { a: 0, b: 0.25 },
      { a: 0.25, b: 1 },
    ];
    expect(intervalsCarryingError(mixed, [0, 0], 4)).toEqual([mixed[1]]);
  });

  it("the δ phase splits the largest gaps of δ's own sign until they cover its excess", () => {
    const intervals = uniformIntervals(5);
    // δ = Σ gaps = +0.9: the −0.6 interval would widen it.
    const gaps = [0.5, -0.6, 0.4, 0.3, 0.3];
    expect(intervalsClosingGap(intervals, gaps, 0.9, 0.1, 4)).toEqual([intervals[0], intervals[2]]);
    expect(intervalsClosingGap(intervals, gaps, 0.9, 0.1, 1)).toEqual([intervals[0]]);
    expect(intervalsClosingGap(intervals, gaps, 0.9, 0, 4)).toEqual([intervals[0], intervals[2]]);
    expect(intervalsClosingGap(intervals, gaps, 0.9, -0.5, 4)).toEqual([intervals[0], intervals[2], intervals[3], intervals[4]]);
    expect(
      intervalsClosingGap(
        intervals,
        gaps.map((g) => -g),
        -0.9,
        0.1,
        4,
      ),
    ).toEqual([intervals[0], intervals[2]]);
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

describe('interval sums and the jump-model map-error estimate', () => {
  it('running sums after splits equal the sums over the final intervals, and the map is the composite trapezoid', () => {
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
    const running = new IntervalSums(direction, gradient);
    let intervals = uniformIntervals(4);
    intervals.forEach((iv) => running.apply(iv, 1));
    const fused = new IntervalSums(direction, gradient);
    intervals.forEach((iv) => fused.apply(iv, 1));
    const fusedScores = new Map<Interval, number>();
    for (const index of [1, 4, 4]) {
      const target = intervals[index]!;
      const m = (target.a + target.b) / 2;
      const halves = [
        { a: target.a, b: m },
        { a: m, b: target.b },
      ];
      running.apply(target, -1);
      halves.forEach((c) => running.apply(c, 1));
      fused.split(target, m).forEach((score, k) => fusedScores.set(halves[k]!, score));
      intervals = intervals.flatMap((iv) => (iv === target ? halves : [iv]));
    }
    const fresh = new IntervalSums(direction, gradient);
    const finalScores = intervals.map((iv) => fresh.apply(iv, 1));
    // The fused split returns each half's own score, as apply(half, 1) would.
    const scored = intervals.filter((iv) => fusedScores.has(iv));
    expect(scored.length).toBe(5);
    scored.forEach((iv) => expect(fusedScores.get(iv)).toBeCloseTo(finalScores[intervals.indexOf(iv)]!, 12));
    const weights = intervalWeights(intervals);
    direction.forEach((x, i) => {
      for (const sums of [running, fused]) {
        expect(sums.map[i]).toBeCloseTo(fresh.map[i]!, 12);
        expect(sums.variance[i]).toBeCloseTo(fresh.variance[i]!, 12);
      }
      expect(running.map[i]).toBeCloseTo(x * [...weights].reduce((s, [alpha, w]) => s + w * gradient(alpha)[i]!, 0), 12);
    });
  });

  it('on step-function integrands the estimate (without its safety factor) is the true error within 20 %', () => {
    // The model behind the estimate: jumps at unknown places between the points. Here they are, one
    // per interval or fewer (with several, the hidden-kink inflation of wide intervals takes over).
    for (const [jumps, intervalCount] of [
      [1, 16],
      [3, 32],
      [20, 512],
    ] as const) {
      const { gradient, exact } = stepIntegrands(4000, jumps, jumps);
      const sums = new IntervalSums(new Float32Array(exact.length).fill(1), gradient);
      uniformIntervals(intervalCount).forEach((iv) => sums.apply(iv, 1));
      const truth = relativeL1(exact, sums.map);
      const estimate = jumpEstimate(sums.map, sums.variance) / JUMP_FACTOR;
      expect(estimate / truth, `${jumps} jumps, ${intervalCount} intervals`).toBeGreaterThan(0.8);
      expect(estimate / truth, `${jumps} jumps, ${intervalCount} intervals`).toBeLessThan(1.2);
    }
  });

  it('inflates the jump variance of wide intervals only (unseen kinks), as 1 + HIDDEN_KINKS·h²', () => {
    expect(jumpVarianceWeight(0.125) / (0.125 ** 2 / 12)).toBeCloseTo(1 + HIDDEN_KINKS / 64, 12);
    expect(jumpVarianceWeight(1 / 256) / (1 / 256 ** 2 / 12)).toBeLessThan(1.002);
  });

  it('on a smooth integrand the estimate is conservative', () => {
    const direction = Float32Array.from([1, 2, -1]);
    const gradient = (alpha: number) => Float32Array.from([Math.cos(3 * alpha), alpha ** 2, Math.exp(-alpha)]);
    const exact = [Math.sin(3) / 3, 2 / 3, -(1 - Math.exp(-1))];
    const sums = new IntervalSums(direction, gradient);
    uniformIntervals(8).forEach((iv) => sums.apply(iv, 1));
    expect(jumpEstimate(sums.map, sums.variance)).toBeGreaterThan(relativeL1(exact, sums.map));
  });
});

describe('IG with --rule adaptive', () => {
  it('converges on a smooth (cubic) integrand, where its estimate stays conservative', async () => {
    const { result } = await runMethod(cubeSumModel(), 'ig', [1, 2, -1], [0, 1, 0.5], { rule: 'adaptive' as never, tolerance: 1e-4 });
    // The trapezoid's error on a smooth integrand falls as h² and the jump model reads each
    // interval's change as a jump (an over-estimate): more points than Simpson's 17, never an
    // under-estimate.
    expect(result.params.converged).toBe(true);
    expect(result.params.steps as number).toBeLessThanOrEqual(65);
    [1, 7, -1.125].forEach((e, i) => expect(result.attribution.data[i]).toBeCloseTo(e, 2));
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
