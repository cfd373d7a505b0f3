import type { Evaluator } from '../engine/evaluator';
import { panelEstimate } from './mapError';
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

/** Composite Simpson map d ⊙ Σ_P S_P, the panels' Simpson − trapezoid vectors summed, and each panel's L1 share. */
export function panelMaps(
  panels: readonly Panel[],
  gradient: (alpha: number) => Float32Array,
  direction: Float32Array,
): { map: Float64Array; difference: Float64Array; scores: number[] } {
  const size = direction.length;
  const map = new Float64Array(size);
  const difference = new Float64Array(size);
  const scores = panels.map(({ a, m, b }) => {
    const [ga, gm, gb] = [gradient(a), gradient(m), gradient(b)];
    const h = b - a;
    let score = 0;
    for (let i = 0; i < size; i++) {
      map[i]! += direction[i]! * (h / 6) * (ga[i]! + 4 * gm[i]! + gb[i]!);
      const v = direction[i]! * (h / 12) * (2 * gm[i]! - ga[i]! - gb[i]!);
      difference[i]! += v;
      score += Math.abs(v);
    }
    return score;
  });
  return { map, difference, scores };
}

/**
 * The fewest panels that carry half of the estimated error (largest first, at most `maxPanels`), so a
 * batch spends no evaluations on panels that are already accurate; the widest when all are flat.
 */
export function panelsCarryingError(panels: readonly Panel[], scores: readonly number[], maxPanels: number): Panel[] {
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
    if (chosen.length >= Math.max(1, maxPanels) || covered >= total / 2) break;
    chosen.push(s.panel);
    covered += s.score;
  }
  return chosen;
}

/**
 * Integrated-gradients path integral by adaptive Simpson refinement on the MAP: every evaluation is
 * kept and reused (splitting a panel adds its two quarter points); the panels carrying most of the
 * estimated map error are split in batches until the estimated map error is within `mapTolerance`
 * and the completeness gap within `tolerance`, or the evaluation cap is reached.
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
  for (;;) {
    const { map, difference, scores } = panelMaps(panels, (alpha) => points.get(alpha)!.gradient, direction);
    mapError = panelEstimate(map, difference);
    history.push({ evaluations: points.size, mapError });
    let sum = 0;
    for (const value of map) sum += value;
    const delta = sum - expected;
    relativeDelta = expected === 0 ? (delta === 0 ? 0 : Infinity) : Math.abs(delta) / Math.abs(expected);
    const remaining = maxEvaluations - points.size;
    if ((relativeDelta <= tolerance && mapError <= mapTolerance) || remaining < 2) break;
    const budget = Math.min(remaining, Math.max(2, await evaluator.chunkSize()));
    const split = new Set(panelsCarryingError(panels, scores, Math.floor(budget / 2)));
    if (split.size === 0) break;
    const added: number[] = [];
    panels = panels.flatMap((p) => {
      if (!split.has(p)) return [p];
      const left = { a: p.a, m: (p.a + p.m) / 2, b: p.m };
      const right = { a: p.m, m: (p.m + p.b) / 2, b: p.b };
      added.push(left.m, right.m);
      return [left, right];
    });
    await evaluate(added);
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
            gradient: chunk.gradients!.slice(j * size, (j + 1) * size),
            value: chunk.value[j]!,
            gradNorm: chunk.gradNorm[j]!,
            directional: chunk.directional![j]!,
          });
        }
      },
      stage,
    );
}

/** The path integral's reductions from the kept points and the final panels' Simpson weights. */
function collect(points: Map<number, PathPoint>, panels: Panel[], size: number): StraightPathIntegral {
  const weights = panelWeights(panels);
  const ordered = [...points.values()].sort((x, y) => x.alpha - y.alpha);
  const weight = ordered.map((p) => weights.get(p.alpha) ?? 0);
  const weightedGradSum = new Float64Array(size);
  ordered.forEach((p, k) => {
    const w = weight[k]!;
    for (let i = 0; i < size; i++) weightedGradSum[i]! += w * p.gradient[i]!;
  });
  return {
    weightedGradSum,
    alpha: ordered.map((p) => p.alpha),
    weight,
    value: ordered.map((p) => p.value),
    gradNorm: ordered.map((p) => p.gradNorm),
    directional: ordered.map((p) => p.directional),
  };
}
