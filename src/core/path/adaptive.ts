import type { Evaluator } from '../engine/evaluator';
import { pathDirection, straightPathPoints, type StraightPathIntegral } from './straightPath';

export const ADAPTIVE_DEFAULTS = { tolerance: 0.01, maxEvaluations: 256, initialIntervals: 8 };

export interface AdaptiveOptions {
  /** Stop when |δ| ≤ tolerance · |F(x) − F(x')|. */
  tolerance?: number;
  /** Cap on path points (gradient evaluations). */
  maxEvaluations?: number;
  /** Uniform intervals of the first pass. */
  initialIntervals?: number;
}

export interface AdaptiveIntegral extends StraightPathIntegral {
  converged: boolean;
  /** |δ| / |F(x) − F(x')| reached (Infinity when F(x) = F(x') and δ ≠ 0). */
  relativeDelta: number;
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

/** Trapezoid weights on sorted, possibly non-uniform points covering [0, 1]. */
export function trapezoidWeights(alphas: readonly number[]): number[] {
  const n = alphas.length;
  return alphas.map((_, k) => ((k + 1 < n ? alphas[k + 1]! : alphas[k]!) - (k > 0 ? alphas[k - 1]! : alphas[k]!)) / 2);
}

/**
 * Intervals worth refining next: the integrand of Σattr, d(α) = ∇F(γ(α))·(x − x'), changes most
 * across them (|Δd|·h bounds the trapezoid error of a monotone piece). Returns midpoints.
 */
export function refinementMidpoints(alphas: readonly number[], directional: readonly number[], budget: number): number[] {
  const scored = alphas.slice(0, -1).map((a, i) => {
    const h = alphas[i + 1]! - a;
    return { mid: a + h / 2, h, score: h * Math.abs(directional[i + 1]! - directional[i]!) };
  });
  const best = Math.max(...scored.map((s) => s.score));
  // Flat integrand everywhere (δ comes from curvature the end points cannot see): split the widest.
  const key = best > 0 ? (s: (typeof scored)[number]) => s.score : (s: (typeof scored)[number]) => s.h;
  const threshold = best > 0 ? best * 0.1 : 0;
  return scored
    .filter((s) => key(s) >= threshold && s.h > 1e-9)
    .sort((a, b) => key(b) - key(a))
    .slice(0, Math.max(1, budget))
    .map((s) => s.mid)
    .sort((a, b) => a - b);
}

/**
 * Integrated-gradients path integral by adaptive trapezoid refinement: every evaluation is kept and
 * reused, intervals where the integrand of Σattr changes most are bisected in batches, until the
 * completeness gap is within tolerance or the evaluation cap is reached.
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
  const initial = options.initialIntervals ?? ADAPTIVE_DEFAULTS.initialIntervals;
  const size = input.length;
  // Every point's gradient is kept on the JS side; cap the points so they fit half the budget.
  const storable = Math.max(initial + 1, Math.floor(evaluator.memoryBudgetBytes / 2 / (size * 4)));
  const maxEvaluations = Math.min(options.maxEvaluations ?? ADAPTIVE_DEFAULTS.maxEvaluations, storable);
  const points: PathPoint[] = [];

  const direction = pathDirection(input, baseline);
  const evaluate = async (alphas: number[]) =>
    evaluator.evaluatePoints(
      { count: alphas.length, build: straightPathPoints(input, baseline, alphas), direction, keepGradients: true },
      (start, chunk) => {
        for (let j = 0; j < chunk.value.length; j++) {
          points.push({
            alpha: alphas[start + j]!,
            gradient: chunk.gradients!.slice(j * size, (j + 1) * size),
            value: chunk.value[j]!,
            gradNorm: chunk.gradNorm[j]!,
            directional: chunk.directional![j]!,
          });
        }
      },
      stage,
    );

  let rounds = 0;
  let relativeDelta = Infinity;
  await evaluate(Array.from({ length: initial + 1 }, (_, k) => k / initial));
  for (;;) {
    points.sort((a, b) => a.alpha - b.alpha);
    const alphas = points.map((p) => p.alpha);
    const weights = trapezoidWeights(alphas);
    const sum = points.reduce((s, p, k) => s + weights[k]! * p.directional, 0);
    const delta = sum - expected;
    relativeDelta = expected === 0 ? (delta === 0 ? 0 : Infinity) : Math.abs(delta) / Math.abs(expected);
    const remaining = maxEvaluations - points.length;
    if (relativeDelta <= tolerance || remaining <= 0) break;
    const midpoints = refinementMidpoints(alphas, points.map((p) => p.directional), Math.min(remaining, await evaluator.chunkSize()));
    if (midpoints.length === 0) break;
    await evaluate(midpoints);
    rounds++;
  }

  points.sort((a, b) => a.alpha - b.alpha);
  const weight = trapezoidWeights(points.map((p) => p.alpha));
  const weightedGradSum = new Float64Array(size);
  points.forEach((p, k) => {
    const w = weight[k]!;
    for (let i = 0; i < size; i++) weightedGradSum[i]! += w * p.gradient[i]!;
  });
  return {
    weightedGradSum,
    alpha: points.map((p) => p.alpha),
    weight,
    value: points.map((p) => p.value),
    gradNorm: points.map((p) => p.gradNorm),
    directional: points.map((p) => p.directional),
    converged: relativeDelta <= tolerance,
    relativeDelta,
    rounds,
  };
}
