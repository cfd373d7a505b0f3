import * as tf from '@tensorflow/tfjs-core';
import type { Evaluator } from '../engine/evaluator';
import { PathLensError } from '../errors';
import type { QuadratureRuleName } from '../types';
import type { Quadrature } from './quadrature';
import { integrateStraightPath, type StraightPathIntegral } from './straightPath';

/**
 * IDGI — Important Direction Gradient Integration (Yang, Wang, Bilgic CVPR 2023), as a post-processing
 * of any discretised path: with gradients g_j at path points and F at the segment ends,
 *
 *   IDGI = Σ_j g_j² · (f_{j+1} − f_j) / ‖g_j‖²
 *
 * Each segment hands its whole change of F to the features along its gradient's squared direction,
 * so Σ IDGI = Σ_j (f_{j+1} − f_j) = F(end) − F(start) exactly (telescoping).
 *
 * Zero-gradient guard: a segment whose gradient is exactly 0 has no direction. Dropping it would lose
 * its Δf and break completeness, so its Δf is carried to the next segment with a non-zero gradient
 * (or, for trailing zero-gradient segments, to the last one). Only a path with no non-zero gradient at
 * all gives a zero attribution (then F is constant along the path up to discretisation).
 *
 * Everything is accumulated in float64 on the CPU.
 */
export class IdgiAccumulator {
  readonly attribution: Float64Array;
  /** Δf actually attributed per segment (after carrying), in segment order. */
  readonly segmentSums: number[] = [];
  private carry = 0;
  private lastNonZero: { g: ArrayLike<number>; norm2: number; segment: number } | null = null;
  private pending: { g: ArrayLike<number>; f: number } | null = null;
  private previousValue: number | null;

  /** `startValue`: F at the path start, needed only by `pushRight`. */
  constructor(
    readonly size: number,
    startValue: number | null = null,
  ) {
    this.attribution = new Float64Array(size);
    this.previousValue = startValue;
  }

  /** One segment with its gradient and the change of F over it, in path order. */
  addSegment(g: ArrayLike<number>, deltaF: number): void {
    let norm2 = 0;
    for (let i = 0; i < this.size; i++) norm2 += g[i]! * g[i]!;
    const segment = this.segmentSums.length;
    if (norm2 === 0 || !Number.isFinite(norm2)) {
      this.carry += deltaF;
      this.segmentSums.push(0);
      return;
    }
    const mass = deltaF + this.carry;
    this.carry = 0;
    this.spread(g, norm2, mass);
    this.segmentSums.push(mass);
    this.lastNonZero = { g, norm2, segment };
  }

  /** A path point whose gradient drives the segment that starts there (left end point). */
  pushLeft(g: ArrayLike<number>, f: number): void {
    if (this.pending) this.addSegment(this.pending.g, f - this.pending.f);
    this.pending = { g, f };
  }

  /** A path point whose gradient drives the segment that ends there (right end point). */
  pushRight(g: ArrayLike<number>, f: number): void {
    if (this.previousValue === null) throw new Error('IdgiAccumulator.pushRight needs the start value');
    this.addSegment(g, f - this.previousValue);
    this.previousValue = f;
  }

  /** Closes the path: `endValue` is F at the last point (closes a pending left segment). */
  finish(endValue?: number): Float64Array {
    if (this.pending) {
      if (endValue === undefined) throw new Error('IdgiAccumulator.finish needs the end value after pushLeft');
      this.addSegment(this.pending.g, endValue - this.pending.f);
      this.pending = null;
    }
    if (this.carry !== 0 && this.lastNonZero) {
      const { g, norm2, segment } = this.lastNonZero;
      this.spread(g, norm2, this.carry);
      this.segmentSums[segment]! += this.carry;
      this.carry = 0;
    }
    return this.attribution;
  }

  /** Running Σ attribution per segment (for path traces). */
  cumulative(): number[] {
    let sum = 0;
    return this.segmentSums.map((s) => (sum += s));
  }

  private spread(g: ArrayLike<number>, norm2: number, mass: number): void {
    const scale = mass / norm2;
    for (let i = 0; i < this.size; i++) this.attribution[i]! += scale * g[i]! * g[i]!;
  }
}

/** Quadrature rules whose points are a discretised path with known segment ends (IDGI applies). */
export const IDGI_RULES: readonly QuadratureRuleName[] = ['riemann-left', 'riemann-right', 'riemann-middle', 'trapezoid'];

export function requireIdgiRule(rule: string): void {
  if (!(IDGI_RULES as readonly string[]).includes(rule)) {
    throw new PathLensError(
      'usage',
      `IDGI needs a discretised path with segment end points; the '${rule}' rule's nodes are not one. Use --rule ${IDGI_RULES.join(' | ')} with --idgi`,
    );
  }
}

/**
 * IG's straight path with IDGI instead of the quadrature sum. Segments per rule (n points α_k):
 * riemann-left: [α_k, α_{k+1}] (α_n = 1), gradient at the left end; riemann-right: [α_{k−1}, α_k]
 * (α_0 = 0), gradient at the right end; riemann-middle: [k/n, (k+1)/n], gradient at the midpoint (F at
 * the n−1 interior ends costs n−1 extra forward passes); trapezoid: the n−1 intervals between its
 * points, gradient at the left end. F(x) and F(x′) close the path, so Σ IDGI = F(x) − F(x′).
 */
export async function idgiStraightPath(
  evaluator: Evaluator,
  input: Float32Array,
  baseline: Float32Array,
  rule: Quadrature,
  ends: { inputValue: number; baselineValue: number },
  stage: string,
): Promise<{ integral: StraightPathIntegral; attribution: Float64Array; cumulative: number[] }> {
  requireIdgiRule(rule.rule);
  const size = input.length;
  const n = rule.alphas.length;
  const accumulator = new IdgiAccumulator(size, ends.baselineValue);
  let boundaries: Float64Array | null = null;
  if (rule.rule === 'riemann-middle' && n > 1) {
    boundaries = await forwardAlongStraightPath(
      evaluator,
      input,
      baseline,
      Array.from({ length: n - 1 }, (_, k) => (k + 1) / n),
      `${stage} (IDGI segment ends)`,
    );
  }
  const onPoints = (start: number, count: number, gradients: Float32Array, values: Float32Array) => {
    for (let j = 0; j < count; j++) {
      const k = start + j;
      const g = gradients.subarray(j * size, (j + 1) * size);
      const f = values[j]!;
      switch (rule.rule) {
        case 'riemann-left':
          accumulator.pushLeft(g, f);
          break;
        case 'riemann-right':
          accumulator.pushRight(g, f);
          break;
        case 'riemann-middle': {
          const lo = k === 0 ? ends.baselineValue : boundaries![k - 1]!;
          const hi = k === n - 1 ? ends.inputValue : boundaries![k]!;
          accumulator.addSegment(g, hi - lo);
          break;
        }
        case 'trapezoid':
          // The last point (α = 1) closes the path; its gradient drives no segment.
          if (k < n - 1) accumulator.pushLeft(g, f);
          break;
        default:
          break;
      }
    }
  };
  const integral = await integrateStraightPath(evaluator, input, baseline, rule, stage, onPoints);
  const attribution = accumulator.finish(rule.rule === 'riemann-left' || rule.rule === 'trapezoid' ? ends.inputValue : undefined);
  const perSegment = accumulator.cumulative();
  // One entry per path point: trapezoid's last point (α = 1) ends with the total.
  const cumulative = Array.from({ length: n }, (_, k) => perSegment[Math.min(k, perSegment.length - 1)] ?? 0);
  return { integral, attribution, cumulative };
}

/** F at points of the straight path (forward passes only). */
export async function forwardAlongStraightPath(
  evaluator: Evaluator,
  input: Float32Array,
  baseline: Float32Array,
  alphas: number[],
  stage: string,
): Promise<Float64Array> {
  const shape = evaluator.inputShape;
  const x = tf.tensor(input, [1, ...shape]);
  const base = tf.tensor(baseline, [1, ...shape]);
  const alphaShape = [-1, ...shape.map(() => 1)];
  try {
    return await evaluator.values(
      alphas.length,
      (start, count) => tf.add(base, tf.mul(tf.reshape(tf.tensor1d(alphas.slice(start, start + count)), alphaShape), tf.sub(x, base))),
      stage,
    );
  } finally {
    tf.dispose([x, base]);
  }
}
