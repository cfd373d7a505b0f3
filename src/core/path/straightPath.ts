import type { Evaluator } from '../engine/evaluator';
import { writePathPoints, type PathArrays, type StraightPathBuilder } from '../engine/pointBatch';
import type { Quadrature } from './quadrature';

/** Gradients along γ(α) = x' + α(x − x'), reduced per chunk to what attribution and plots need. */
export interface StraightPathIntegral {
  /** Σ_k w_k ∇F(γ(α_k)), float64. */
  weightedGradSum: Float64Array;
  alpha: number[];
  weight: number[];
  /** F(γ(α_k)). */
  value: number[];
  /** ‖∇F(γ(α_k))‖₂. */
  gradNorm: number[];
  /** ∇F(γ(α_k)) · (x − x'): the integrand of Σ attribution. */
  directional: number[];
}

export async function integrateStraightPath(
  evaluator: Evaluator,
  input: Float32Array,
  baseline: Float32Array,
  rule: Pick<Quadrature, 'alphas' | 'weights'>,
  stage: string,
  /**
   * Optional: receives every path point's gradient ([count × size], row-major) and F, chunk by chunk
   * in path order (for post-processing such as IDGI). Omit it to download only the reductions.
   */
  onPoints?: (start: number, count: number, gradients: Float32Array, values: Float32Array) => void,
): Promise<StraightPathIntegral> {
  const size = input.length;
  const n = rule.alphas.length;
  const result: StraightPathIntegral = {
    weightedGradSum: new Float64Array(size),
    alpha: [...rule.alphas],
    weight: [...rule.weights],
    value: new Array<number>(n),
    gradNorm: new Array<number>(n),
    directional: new Array<number>(n),
  };
  await evaluator.evaluatePoints(
    {
      count: n,
      build: straightPathPoints(input, baseline, rule.alphas),
      weights: rule.weights,
      direction: pathDirection(input, baseline),
      keepGradients: onPoints !== undefined,
    },
    (start, chunk) => {
      onPoints?.(start, chunk.value.length, chunk.gradients!, chunk.value);
      for (let i = 0; i < size; i++) result.weightedGradSum[i]! += chunk.weightedSum![i]!;
      for (let j = 0; j < chunk.value.length; j++) {
        result.value[start + j] = chunk.value[j]!;
        result.gradNorm[start + j] = chunk.gradNorm[j]!;
        result.directional[start + j] = chunk.directional![j]!;
      }
    },
    stage,
  );
  return result;
}

/** The fixed arrays of each straight path, per input and baseline array (computed once per input). */
const PATHS = new WeakMap<Float32Array, WeakMap<Float32Array, PathArrays>>();
let nextPathId = 1;

/** x' and x − x' of the path from `baseline` to `input`, with an id naming it to pool threads. */
export function straightPath(input: Float32Array, baseline: Float32Array): PathArrays {
  let byBaseline = PATHS.get(input);
  if (!byBaseline) PATHS.set(input, (byBaseline = new WeakMap()));
  let path = byBaseline.get(baseline);
  if (!path) {
    path = { id: nextPathId++, baseline, direction: input.map((v, i) => v - baseline[i]!) };
    byBaseline.set(baseline, path);
  }
  return path;
}

/**
 * x − x' (float32). The same array for the same input and baseline arrays (computed once per input
 * and known to pool threads by its path), so never write to it.
 */
export function pathDirection(input: Float32Array, baseline: Float32Array): Float32Array {
  return straightPath(input, baseline).direction;
}

/**
 * Builds points γ(α_k) = x' + α_k(x − x') for k in [start, start + count), row-major. The builder
 * also describes its path, so the evaluator ships pool threads alphas instead of points.
 */
export function straightPathPoints(input: Float32Array, baseline: Float32Array, alphas: readonly number[]): StraightPathBuilder {
  const path = straightPath(input, baseline);
  const build = (start: number, count: number) => {
    const out = new Float32Array(count * input.length);
    writePathPoints(out, 0, path, alphas.slice(start, start + count));
    return out;
  };
  return Object.assign(build, { path, alphas });
}

/** Running Σ_{j≤k} w_j·(∇F·(x − x'))_j: how Σ attribution approaches F(x) − F(x') along the path. */
export function cumulativeAttribution(integral: Pick<StraightPathIntegral, 'weight' | 'directional'>): number[] {
  let sum = 0;
  return integral.directional.map((d, k) => (sum += integral.weight[k]! * d));
}
