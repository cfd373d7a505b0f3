import type { Evaluator } from '../engine/evaluator';
import { jumpEstimate } from './mapError';
import { pathDirection, straightPathPoints, type StraightPathIntegral } from './straightPath';

export const ADAPTIVE_DEFAULTS = { tolerance: 0.01, mapTolerance: 0.02, maxEvaluations: 512, initialPanels: 4 };

export interface AdaptiveOptions {
  /** Stop when |δ| ≤ tolerance · |F(x) − F(x')|. */
  tolerance?: number;
  /** Stop only when the estimated map error (mapError.ts) is also ≤ mapTolerance. */
  mapTolerance?: number;
  /** Cap on path points (gradient evaluations). */
  maxEvaluations?: number;
  /** Uniform Simpson panels of the first pass (2·panels + 1 points). */
  initialPanels?: number;
}

export interface AdaptiveIntegral extends StraightPathIntegral {
  converged: boolean;
  /** |δ| / |F(x) − F(x')| reached (Infinity when F(x) = F(x') and δ ≠ 0). */
  relativeDelta: number;
  /** Estimated relative map error of the final map (panel estimator). */
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

/** A Simpson panel [a, b] with its midpoint m; all three points are evaluated. */
export interface Panel {
  a: number;
  m: number;
  b: number;
}

export function uniformPanels(count: number): Panel[] {
  return Array.from({ length: count }, (_, k) => ({ a: k / count, m: (k + 0.5) / count, b: (k + 1) / count }));
}

/** Composite Simpson weights per path point (keyed by α): each panel adds h/6, 4h/6, h/6. */
export function panelWeights(panels: readonly Panel[]): Map<number, number> {
  const weights = new Map<number, number>();
  const add = (alpha: number, w: number) => weights.set(alpha, (weights.get(alpha) ?? 0) + w);
  for (const { a, m, b } of panels) {
    const h = b - a;
    add(a, h / 6);
    add(m, (4 * h) / 6);
    add(b, h / 6);
  }
  return weights;
}

/**
 * Panels worth splitting next: Simpson minus trapezoid on a panel is h·(d_a − 2d_m + d_b)/12, a
 * curvature measure of the integrand d(α) = ∇F(γ(α))·(x − x') of Σattr that is large at kinks and
 * saturation bends. Returns at most `maxPanels`, largest first; the widest when all are flat.
 */
export function panelsToSplit(panels: readonly Panel[], directional: ReadonlyMap<number, number>, maxPanels: number): Panel[] {
  const scores = panels.map((p) => (p.b - p.a) * Math.abs(directional.get(p.a)! - 2 * directional.get(p.m)! + directional.get(p.b)!));
  return panelsCarryingError(panels, scores, maxPanels);
}

/**
 * Running per-pixel sums over the current panels: the composite Simpson map (x − x') ⊙ Σ_P S_P, the
 * panels' S − T_f vectors and T_f's jump variance (mapError.ts). A panel's contributions are added when
 * it is created and subtracted when it is split, so a round costs its new panels, not all of them.
 */
export class PanelSums {
  readonly map: Float64Array;
  readonly difference: Float64Array;
  readonly variance: Float64Array;

  constructor(
    private readonly direction: Float32Array,
    private readonly gradient: (alpha: number) => Float32Array,
  ) {
    const size = direction.length;
    this.map = new Float64Array(size);
    this.difference = new Float64Array(size);
    this.variance = new Float64Array(size);
  }

  /**
   * Adds (sign 1) or removes (sign −1) one panel; returns its split score ‖(x − x') ⊙ (S − T_f)‖₁ (on
   * the grids it chose as well as the panel's own jump estimate and marginally better on tm-objects).
   */
  apply(panel: Panel, sign: 1 | -1): number {
    const { a, m, b } = panel;
    const ga = this.gradient(a);
    const gm = this.gradient(m);
    const gb = this.gradient(b);
    // Locals and scalars only: this loop runs over every pixel of every panel (1–2 ms per call on
    // a 224×224×3 input), on the thread that feeds the pool.
    const { direction, map, difference, variance } = this;
    const h = b - a;
    const h6 = h / 6;
    const h12 = h / 12;
    const q = (h * h) / 48; // (h/2)²/12: one sub-interval's jump variance per unit jump²
    let score = 0;
    for (let i = 0; i < direction.length; i++) {
      const x = direction[i]!;
      const gai = ga[i]!;
      const gmi = gm[i]!;
      const gbi = gb[i]!;
      const left = gmi - gai;
      const right = gbi - gmi;
      const d = x * h12 * (right - left);
      map[i]! += sign * x * h6 * (gai + 4 * gmi + gbi);
      difference[i]! += sign * d;
      variance[i]! += sign * (x * x * q * (left * left + right * right));
      score += Math.abs(d);
    }
    return score;
  }

  /**
   * Replaces `parent` by its halves `left` = [a, m] and `right` = [m, b] in one pass: the same sums as
   * apply(parent, −1) then apply(left, 1) and apply(right, 1), reading each array once instead of
   * three times (the loop is memory-bound). Returns the halves' split scores.
   */
  split(parent: Panel, left: Panel, right: Panel): [number, number] {
    const ga = this.gradient(parent.a);
    const gl = this.gradient(left.m);
    const gm = this.gradient(parent.m);
    const gr = this.gradient(right.m);
    const gb = this.gradient(parent.b);
    const { direction, map, difference, variance } = this;
    // Plain scalars only: array destructuring in this loop makes it 4× slower.
    const h = parent.b - parent.a;
    const k = h / 2;
    const h6 = h / 6;
    const h12 = h / 12;
    const hq = (h * h) / 48;
    const k6 = k / 6;
    const k12 = k / 12;
    const kq = (k * k) / 48;
    let scoreLeft = 0;
    let scoreRight = 0;
    for (let i = 0; i < direction.length; i++) {
      const x = direction[i]!;
      const gai = ga[i]!;
      const gli = gl[i]!;
      const gmi = gm[i]!;
      const gri = gr[i]!;
      const gbi = gb[i]!;
      const pl = gmi - gai;
      const pr = gbi - gmi;
      const ll = gli - gai;
      const lr = gmi - gli;
      const rl = gri - gmi;
      const rr = gbi - gri;
      const dParent = x * h12 * (pr - pl);
      const dLeft = x * k12 * (lr - ll);
      const dRight = x * k12 * (rr - rl);
      const simpson = k6 * (gai + 4 * gli + 2 * gmi + 4 * gri + gbi) - h6 * (gai + 4 * gmi + gbi);
      map[i]! += x * simpson;
      difference[i]! += dLeft + dRight - dParent;
      variance[i]! += x * x * (kq * (ll * ll + lr * lr + rl * rl + rr * rr) - hq * (pl * pl + pr * pr));
      scoreLeft += Math.abs(dLeft);
      scoreRight += Math.abs(dRight);
    }
    return [scoreLeft, scoreRight];
  }
}

/**
 * The fewest panels that carry half of the estimated error (largest first, at most `maxPanels`), so a
 * batch spends no evaluations on panels that are already accurate; topped up with the next largest to
 * `minPanels` for a full round; the widest when all are flat.
 */
export function panelsCarryingError(panels: readonly Panel[], scores: readonly number[], maxPanels: number, minPanels = 1): Panel[] {
  const scored = panels.map((panel, k) => ({ panel, score: scores[k]!, h: panel.b - panel.a })).filter((s) => s.h > 1e-6);
  const total = scored.reduce((sum, s) => sum + s.score, 0);
  if (total === 0)
    return scored
      .sort((x, y) => y.h - x.h)
      .slice(0, 1)
      .map((s) => s.panel);
  scored.sort((x, y) => y.score - x.score);
  const chosen: Panel[] = [];
  let covered = 0;
  for (const s of scored) {
    if (chosen.length >= Math.max(1, maxPanels) || (covered >= total / 2 && chosen.length >= minPanels)) break;
    chosen.push(s.panel);
    covered += s.score;
  }
  return chosen;
}

/**
 * Integrated-gradients path integral by adaptive Simpson refinement on the MAP: every evaluation is
 * kept and reused (splitting a panel adds its two quarter points); the panels carrying most of the
 * estimated map error (jump model, mapError.ts) are split, ROUND_POINTS per round, until the estimate is within `mapTolerance`, then those with the largest exact completeness
 * gaps until |δ| is within `tolerance`, or the evaluation cap is reached.
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
  let panels = uniformPanels(options.initialPanels ?? ADAPTIVE_DEFAULTS.initialPanels);
  const firstPass = 2 * panels.length + 1;
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
  const sums = new PanelSums(direction, (alpha) => points.get(alpha)!.gradient);
  const scores = new Map(panels.map((p) => [p, sums.apply(p, 1)]));
  for (;;) {
    const totals = mapTotals(sums.map);
    relativeDelta = completenessGap(totals.sum, expected);
    // Never below the map's own completeness gap: Σ|A − A*| ≥ |Σ(A − A*)| = |ΣA − (F(x) − F(x'))|.
    mapError = Math.max(jumpEstimate(sums.map, sums.difference, sums.variance), gapShare(totals, expected));
    history.push({ evaluations: points.size, mapError });
    const remaining = maxEvaluations - points.size;
    if ((relativeDelta <= tolerance && mapError <= mapTolerance) || remaining < 2) break;
    const most = Math.floor(Math.min(remaining, ROUND_POINTS) / 2);
    // The map first; once it is within tolerance, the panels whose Simpson misses their exact share
    // F(γ(b)) − F(γ(a)) of the completeness sum (a kink or bend the map estimate does not weigh).
    const weights = mapError > mapTolerance ? panels.map((p) => scores.get(p)!) : panels.map((p) => panelGap(p, points));
    // A full round while the error ∝ 1/n law says that many points are still missing.
    const ratio = Math.max(mapError / mapTolerance, relativeDelta / tolerance);
    const least = Math.min(most, Math.ceil((points.size * (ratio - 1)) / 2));
    const split = new Set(panelsCarryingError(panels, weights, most, least));
    if (split.size === 0) break;
    const children = new Map([...split].map((p) => [p, halves(p)] as const));
    await evaluate([...children.values()].flatMap(([left, right]) => [left.m, right.m]));
    panels = panels.flatMap((p) => {
      const pair = children.get(p);
      if (!pair) return [p];
      const [left, right] = sums.split(p, ...pair);
      scores.delete(p);
      scores.set(pair[0], left).set(pair[1], right);
      return [...pair];
    });
    rounds++;
  }
  const converged = relativeDelta <= tolerance && mapError <= mapTolerance;
  return { ...collect(points, panels, size), converged, relativeDelta, mapError, history, rounds };
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
 * Points a refinement round adds at most (two panels). Fixed, not the evaluator's chunk, so the map
 * never depends on the worker count or batch size; on the tm-objects grids rounds of 8 or 16 points
 * cost 4 % and 14 % more evaluations (overshoot at the stop), and the measured batch plan there is 2
 * points per thread on 2 threads. Concurrency beyond a round comes from running inputs side by side.
 */
const ROUND_POINTS = 4;

function halves(p: Panel): [Panel, Panel] {
  return [
    { a: p.a, m: (p.a + p.m) / 2, b: p.m },
    { a: p.m, m: (p.m + p.b) / 2, b: p.b },
  ];
}

/** |Simpson of ∇F·(x − x') on the panel − (F(γ(b)) − F(γ(a)))|: the panel's exact completeness gap. */
function panelGap(p: Panel, points: ReadonlyMap<number, PathPoint>): number {
  const [a, m, b] = [points.get(p.a)!, points.get(p.m)!, points.get(p.b)!];
  return Math.abs(((p.b - p.a) / 6) * (a.directional + 4 * m.directional + b.directional) - (b.value - a.value));
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

/** The path integral's reductions from the kept points and the final panels' Simpson weights. */
function collect(points: Map<number, PathPoint>, panels: Panel[], size: number): StraightPathIntegral {
  const weights = panelWeights(panels);
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
