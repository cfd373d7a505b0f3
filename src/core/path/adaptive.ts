import type { Evaluator } from '../engine/evaluator';
import { jumpEstimate, jumpVarianceWeight } from './mapError';
import { pathDirection, straightPathPoints, type StraightPathIntegral } from './straightPath';

export const ADAPTIVE_DEFAULTS = { tolerance: 0.01, mapTolerance: 0.02, maxEvaluations: 512, initialIntervals: 8 };

/** Points of the default first pass (the ends of its uniform intervals): the least --max-evaluations. */
export const FIRST_PASS_POINTS = ADAPTIVE_DEFAULTS.initialIntervals + 1;

export interface AdaptiveOptions {
  /** Stop when |δ| ≤ tolerance · |F(x) − F(x')|. */
  tolerance?: number;
  /** Stop only when the estimated map error (mapError.ts) is also ≤ mapTolerance. */
  mapTolerance?: number;
  /** Cap on path points (gradient evaluations). */
  maxEvaluations?: number;
  /** Uniform trapezoid intervals of the first pass (intervals + 1 points). */
  initialIntervals?: number;
}

export interface AdaptiveIntegral extends StraightPathIntegral {
  converged: boolean;
  /** |δ| / |F(x) − F(x')| reached (Infinity when F(x) = F(x') and δ ≠ 0). */
  relativeDelta: number;
  /** Estimated relative map error of the final map (jump model, mapError.ts). */
  mapError: number;
  /** The estimate after each round, with the evaluations so far. */
  history: { evaluations: number; mapError: number }[];
  /** Refinement passes after the first. */
  rounds: number;
}

interface PathPoint {
  alpha: number;
  gradient: Float32Array;
  value: number;
  gradNorm: number;
  directional: number;
}

/** A trapezoid interval [a, b] of the path; both ends are evaluated. */
export interface Interval {
  a: number;
  b: number;
}

export function uniformIntervals(count: number): Interval[] {
  return Array.from({ length: count }, (_, k) => ({ a: k / count, b: (k + 1) / count }));
}

/** Composite trapezoid weights per path point (keyed by α): each interval adds h/2 at both ends. */
export function intervalWeights(intervals: readonly Interval[]): Map<number, number> {
  const weights = new Map<number, number>();
  const add = (alpha: number, w: number) => weights.set(alpha, (weights.get(alpha) ?? 0) + w);
  for (const { a, b } of intervals) {
    add(a, (b - a) / 2);
    add(b, (b - a) / 2);
  }
  return weights;
}

/**
 * Running per-pixel sums over the current intervals: the composite trapezoid map (x − x') ⊙ Σ_I T_I
 * and the jump variance of its error (mapError.ts). An interval's contributions are added when it is
 * created and replaced by its halves' when it is split, so a round costs its new intervals, not all.
 */
export class IntervalSums {
  readonly map: Float64Array;
  readonly variance: Float64Array;

  constructor(
    private readonly direction: Float32Array,
    private readonly gradient: (alpha: number) => Float32Array,
  ) {
    this.map = new Float64Array(direction.length);
    this.variance = new Float64Array(direction.length);
  }

  /** Adds (sign 1) or removes (sign −1) one interval; returns its split score h·‖(x − x') ⊙ Δg‖₁. */
  apply(interval: Interval, sign: 1 | -1): number {
    const ga = this.gradient(interval.a);
    const gb = this.gradient(interval.b);
    // Locals and scalars only: this loop runs over every pixel (on the thread that feeds the pool).
    const { direction, map, variance } = this;
    const h = interval.b - interval.a;
    const half = (sign * h) / 2;
    const q = sign * jumpVarianceWeight(h);
    let score = 0;
    for (let i = 0; i < direction.length; i++) {
      const x = direction[i]!;
      const gai = ga[i]!;
      const gbi = gb[i]!;
      const jump = x * (gbi - gai);
      map[i]! += x * half * (gai + gbi);
      variance[i]! += q * jump * jump;
      score += Math.abs(jump);
    }
    return h * score;
  }

  /**
   * Replaces `parent` by its halves at its midpoint m in one pass: the same sums as apply(parent, −1),
   * apply([a, m], 1), apply([m, b], 1), reading each array once (the loop is memory-bound). Returns the
   * halves' split scores.
   */
  split(parent: Interval, m: number): [number, number] {
    const ga = this.gradient(parent.a);
    const gm = this.gradient(m);
    const gb = this.gradient(parent.b);
    const { direction, map, variance } = this;
    const h = parent.b - parent.a;
    const k = h / 2;
    const qParent = jumpVarianceWeight(h);
    const qHalf = jumpVarianceWeight(k);
    let scoreLeft = 0;
    let scoreRight = 0;
    for (let i = 0; i < direction.length; i++) {
      const x = direction[i]!;
      const gai = ga[i]!;
      const gmi = gm[i]!;
      const gbi = gb[i]!;
      const left = x * (gmi - gai);
      const right = x * (gbi - gmi);
      const whole = left + right;
      // k/2·(g_a + 2g_m + g_b) − h/2·(g_a + g_b) = k·(g_m − (g_a + g_b)/2)
      map[i]! += x * k * (gmi - 0.5 * (gai + gbi));
      variance[i]! += qHalf * (left * left + right * right) - qParent * whole * whole;
      scoreLeft += Math.abs(left);
      scoreRight += Math.abs(right);
    }
    return [k * scoreLeft, k * scoreRight];
  }
}

/**
 * The fewest intervals that carry half of the estimated error (largest first, at most `maxIntervals`),
 * so a round spends no evaluations on intervals that are already accurate; topped up with the next
 * largest to `minIntervals` for a full round; the widest when all are flat.
 */
export function intervalsCarryingError(
  intervals: readonly Interval[],
  scores: readonly number[],
  maxIntervals: number,
  minIntervals = 1,
): Interval[] {
  const scored = intervals.map((interval, k) => ({ interval, score: scores[k]!, h: interval.b - interval.a })).filter((s) => s.h > 1e-6);
  const total = scored.reduce((sum, s) => sum + s.score, 0);
  if (total === 0)
    return scored
      .sort((x, y) => y.h - x.h)
      .slice(0, 1)
      .map((s) => s.interval);
  scored.sort((x, y) => y.score - x.score);
  const chosen: Interval[] = [];
  let covered = 0;
  for (const s of scored) {
    if (chosen.length >= Math.max(1, maxIntervals) || (covered >= total / 2 && chosen.length >= minIntervals)) break;
    chosen.push(s.interval);
    covered += s.score;
  }
  return chosen;
}

/**
 * Intervals whose bisection closes the completeness gap δ = Σ_I gap_I (gap_I: the interval's trapezoid
 * of ∇F·(x − x') minus F(γ(b)) − F(γ(a))): a jump at an unknown place leaves the halves' gaps zero on
 * average, so splitting removes the interval's own gap in expectation. The largest gaps of δ's sign
 * until they cover all of |δ| but `keep` (at most `maxIntervals`); an interval of the other sign would
 * widen δ. On the tm-objects grids 4.6 % fewer evaluations than the largest |gap| of either sign.
 */
export function intervalsClosingGap(
  intervals: readonly Interval[],
  gaps: readonly number[],
  delta: number,
  keep: number,
  maxIntervals: number,
): Interval[] {
  const sign = Math.sign(delta);
  const candidates = intervals
    .map((interval, k) => ({ interval, share: sign * gaps[k]! }))
    .filter((c) => c.share > 0 && c.interval.b - c.interval.a > 1e-6)
    .sort((x, y) => y.share - x.share);
  if (candidates.length === 0) return intervalsCarryingError(intervals, gaps.map(Math.abs), maxIntervals);
  const chosen: Interval[] = [];
  let covered = 0;
  for (const c of candidates) {
    if (chosen.length >= Math.max(1, maxIntervals) || covered >= Math.abs(delta) - keep) break;
    chosen.push(c.interval);
    covered += c.share;
  }
  return chosen;
}

/**
 * Integrated-gradients path integral by adaptive trapezoid refinement on the MAP: every evaluation is
 * kept and reused (splitting an interval adds its midpoint); the intervals carrying most of the
 * estimated map error (jump model, mapError.ts) are split, at most ROUND_POINTS per round, until the
 * estimate is within `mapTolerance`, then those with the largest exact completeness gaps until |δ| is
 * within `tolerance`, or the evaluation cap is reached. The trapezoid, not Simpson: on a
 * piecewise-linear network the gradient is piecewise constant along the path, where the trapezoid's
 * error is unbiased and Simpson's adds a known bias S − T (on the tm-objects grids 15–20 % fewer
 * evaluations for the same true error; scripts/dev/map-error-intervals.ts).
 */
export async function integrateAdaptive(
  evaluator: Evaluator,
  input: Float32Array,
  baseline: Float32Array,
  expected: number,
  options: AdaptiveOptions,
  stage: string,
): Promise<AdaptiveIntegral> {
  const tolerance = options.tolerance ?? ADAPTIVE_DEFAULTS.tolerance;
  const mapTolerance = options.mapTolerance ?? ADAPTIVE_DEFAULTS.mapTolerance;
  let intervals = uniformIntervals(options.initialIntervals ?? ADAPTIVE_DEFAULTS.initialIntervals);
  const firstPass = intervals.length + 1;
  const size = input.length;
  // Every point's gradient is kept on the JS side; cap the points so they fit half the budget.
  const storable = Math.max(firstPass, Math.floor(evaluator.memoryBudgetBytes / 2 / (size * 4)));
  const maxEvaluations = Math.min(options.maxEvaluations ?? ADAPTIVE_DEFAULTS.maxEvaluations, storable);
  const points = new Map<number, PathPoint>();
  const direction = pathDirection(input, baseline);
  const evaluate = pointEvaluator(evaluator, input, baseline, direction, points, stage);

  const history: { evaluations: number; mapError: number }[] = [];
  let rounds = 0;
  let relativeDelta: number;
  let mapError: number;
  await evaluate(Array.from({ length: firstPass }, (_, k) => k / (firstPass - 1)));
  const sums = new IntervalSums(direction, (alpha) => points.get(alpha)!.gradient);
  const scores = new Map(intervals.map((iv) => [iv, sums.apply(iv, 1)]));
  for (;;) {
    const totals = mapTotals(sums.map);
    relativeDelta = completenessGap(totals.sum, expected);
    // Never below the map's own completeness gap: Σ|A − A*| ≥ |Σ(A − A*)| = |ΣA − (F(x) − F(x'))|.
    mapError = Math.max(jumpEstimate(sums.map, sums.variance), gapShare(totals, expected));
    history.push({ evaluations: points.size, mapError });
    const remaining = maxEvaluations - points.size;
    if ((relativeDelta <= tolerance && mapError <= mapTolerance) || remaining < 1) break;
    const most = Math.min(remaining, ROUND_POINTS);
    let chosen: Interval[];
    if (mapError > mapTolerance) {
      // A full round while the error ∝ 1/n law says that many points are still missing.
      const ratio = Math.max(mapError / mapTolerance, relativeDelta / tolerance);
      const least = Math.min(most, Math.ceil(points.size * (ratio - 1)));
      chosen = intervalsCarryingError(
        intervals,
        intervals.map((iv) => scores.get(iv)!),
        most,
        least,
      );
    } else {
      // The map is within tolerance, δ is not: close it with the intervals whose trapezoid misses their
      // exact share F(γ(b)) − F(γ(a)) of the completeness sum in δ's direction.
      const gaps = intervals.map((iv) => intervalGap(iv, points));
      chosen = intervalsClosingGap(intervals, gaps, totals.sum - expected, (tolerance / 2) * Math.abs(expected), most);
    }
    const split = new Set(chosen);
    if (split.size === 0) break;
    await evaluate([...split].map(midpoint));
    intervals = intervals.flatMap((iv) => {
      if (!split.has(iv)) return [iv];
      const m = midpoint(iv);
      const halves: [Interval, Interval] = [
        { a: iv.a, b: m },
        { a: m, b: iv.b },
      ];
      const [left, right] = sums.split(iv, m);
      scores.delete(iv);
      scores.set(halves[0], left).set(halves[1], right);
      return halves;
    });
    rounds++;
  }
  const converged = relativeDelta <= tolerance && mapError <= mapTolerance;
  return { ...collect(points, intervals, size), converged, relativeDelta, mapError, history, rounds };
}

function pointEvaluator(
  evaluator: Evaluator,
  input: Float32Array,
  baseline: Float32Array,
  direction: Float32Array,
  points: Map<number, PathPoint>,
  stage: string,
): (alphas: number[]) => Promise<void> {
  const size = input.length;
  return (alphas) =>
    evaluator.evaluatePoints(
      { count: alphas.length, build: straightPathPoints(input, baseline, alphas), direction, keepGradients: true },
      (start, chunk) => {
        for (let j = 0; j < chunk.value.length; j++) {
          const alpha = alphas[start + j]!;
          points.set(alpha, {
            alpha,
            // A view, not a copy: the chunk's buffer was transferred to this thread and is kept whole anyway.
            gradient: chunk.gradients!.subarray(j * size, (j + 1) * size),
            value: chunk.value[j]!,
            gradNorm: chunk.gradNorm[j]!,
            directional: chunk.directional![j]!,
          });
        }
      },
      stage,
    );
}

/**
 * Points a refinement round adds at most (four intervals). Fixed, not the evaluator's chunk, so the
 * map never depends on the worker count or batch size; on the tm-objects grids rounds of 8 or 16
 * points cost 4 % and 14 % more evaluations with Simpson panels (overshoot at the stop), and the
 * measured batch plan there is 2 points per thread on 2 threads. Concurrency beyond a round comes
 * from running inputs side by side.
 */
const ROUND_POINTS = 4;

const midpoint = (iv: Interval): number => (iv.a + iv.b) / 2;

/** Trapezoid of ∇F·(x − x') on the interval − (F(γ(b)) − F(γ(a))): its exact, signed completeness gap. */
function intervalGap(iv: Interval, points: ReadonlyMap<number, PathPoint>): number {
  const [a, b] = [points.get(iv.a)!, points.get(iv.b)!];
  return ((iv.b - iv.a) / 2) * (a.directional + b.directional) - (b.value - a.value);
}

/** Σ map and ‖map‖₁ in one pass (indexed: this runs over every pixel each round). */
function mapTotals(map: Float64Array): { sum: number; norm: number } {
  let sum = 0;
  let norm = 0;
  for (let i = 0; i < map.length; i++) {
    const value = map[i]!;
    sum += value;
    norm += Math.abs(value);
  }
  return { sum, norm };
}

/** |Σ map − expected| / ‖map‖₁: a lower bound of the relative map error (up to ‖A‖ for ‖A*‖). */
function gapShare({ sum, norm }: { sum: number; norm: number }, expected: number): number {
  return norm === 0 ? 0 : Math.abs(sum - expected) / norm;
}

/** |Σ map − expected| / |expected| (Infinity when expected = 0 and the sum is not). */
function completenessGap(sum: number, expected: number): number {
  const delta = sum - expected;
  return expected === 0 ? (delta === 0 ? 0 : Infinity) : Math.abs(delta) / Math.abs(expected);
}

/** The path integral's reductions from the kept points and the final intervals' trapezoid weights. */
function collect(points: Map<number, PathPoint>, intervals: Interval[], size: number): StraightPathIntegral {
  const weights = intervalWeights(intervals);
  const ordered = [...points.values()].sort((x, y) => x.alpha - y.alpha);
  const weight = ordered.map((p) => weights.get(p.alpha) ?? 0);
  const weightedGradSum = new Float64Array(size);
  for (let k = 0; k < ordered.length; k++) {
    const w = weight[k]!;
    const gradient = ordered[k]!.gradient;
    for (let i = 0; i < size; i++) weightedGradSum[i]! += w * gradient[i]!;
  }
  return {
    weightedGradSum,
    alpha: ordered.map((p) => p.alpha),
    weight,
    value: ordered.map((p) => p.value),
    gradNorm: ordered.map((p) => p.gradNorm),
    directional: ordered.map((p) => p.directional),
  };
}
