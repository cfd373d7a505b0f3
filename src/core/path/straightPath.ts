import * as tf from '@tensorflow/tfjs-core';
import type { Evaluator } from '../engine/evaluator';
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
  const shape = evaluator.inputShape;
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
  const x = tf.tensor(input, [1, ...shape]);
  const base = tf.tensor(baseline, [1, ...shape]);
  const difference = tf.sub(x, base);
  const flatDifference = tf.reshape(difference, [1, size]);
  const alphaShape = [-1, ...shape.map(() => 1)];
  try {
    await evaluator.gradients(
      n,
      (start, count) => tf.add(base, tf.mul(tf.reshape(tf.tensor1d(rule.alphas.slice(start, start + count)), alphaShape), difference)),
      ({ start, count, grad }) => {
        const flat = tf.reshape(grad, [count, size]);
        const weights = tf.tensor2d(rule.weights.slice(start, start + count), [count, 1]);
        const reductions = [tf.sum(tf.mul(flat, weights), 0), tf.sqrt(tf.sum(tf.square(flat), 1)), tf.sum(tf.mul(flat, flatDifference), 1)];
        return onPoints ? [...reductions, flat] : reductions;
      },
      ({ start, count, value, outputs: [weighted, norms, directional, gradients] }) => {
        if (onPoints) onPoints(start, count, gradients!, value);
        for (let i = 0; i < size; i++) result.weightedGradSum[i]! += weighted![i]!;
        for (let j = 0; j < count; j++) {
          result.value[start + j] = value[j]!;
          result.gradNorm[start + j] = norms![j]!;
          result.directional[start + j] = directional![j]!;
        }
      },
      stage,
    );
  } finally {
    tf.dispose([x, base, difference, flatDifference]);
  }
  return result;
}

/** Running Σ_{j≤k} w_j·(∇F·(x − x'))_j: how Σ attribution approaches F(x) − F(x') along the path. */
export function cumulativeAttribution(integral: Pick<StraightPathIntegral, 'weight' | 'directional'>): number[] {
  let sum = 0;
  return integral.directional.map((d, k) => (sum += integral.weight[k]! * d));
}
