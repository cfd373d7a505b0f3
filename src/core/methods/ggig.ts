/**
 * Geometrically Guided Integrated Gradients (Rahman, Lewis, Plis 2022) — a RECONSTRUCTION of the
 * paper's description; no public reference code exists (ALGORITHMS.md §7).
 *
 *   for k in 1..m:  x_k = x' + (k/m)(x − x');  z = x_k
 *     repeat K:     z ← clip_box(z + η·R·∇F(z)/‖∇F(z)‖∞)        (projected gradient ascent)
 *     a_k = (x − x') ⊙ ∇F(z)
 *   GGIG_i = a_{k*,i},  k* = argmax_k |a_{k,i}|   (ties: the smallest k)
 *
 * - box: per feature, the closed interval between x'_i and x_i;
 * - η (`ascentRate`, default 0.01) is RELATIVE: each ascent step moves the feature with the largest
 *   |gradient| by η·R, where R = max_i |x_i − x'_i| is the longest side of the box, and every other
 *   feature proportionally less (the gradient is normalised by its max-norm, so the step does not
 *   depend on the scale of F). A zero gradient leaves z where it is.
 * - The m scales run together: each ascent step is ONE batched gradient of m points (shared with pool
 *   workers through Evaluator.evaluatePoints); total evaluations m·(K + 1).
 * Not complete by design (Σ attribution need not equal F(x) − F(x')).
 */
import { baselineParameter, elapsed, type AttributionMethod, type MethodOptions } from '../attribution/method';
import type { Evaluator } from '../engine/evaluator';
import { PathLensError } from '../errors';
import type { PathTrace } from '../types';

export const GGIG_DEFAULTS = { scales: 16, ascentSteps: 5, ascentRate: 0.01, baseline: 'zero' as const };

export interface GgigParams {
  scales: number;
  ascentSteps: number;
  ascentRate: number;
}

function integerIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new PathLensError('usage', `${name} must be a whole number in [${min}, ${max}] (got ${String(value)})`);
  }
  return value;
}

export function parseGgigOptions(options: MethodOptions): GgigParams {
  const scales = integerIn(options.scales ?? GGIG_DEFAULTS.scales, 'scales', 1, 4096);
  const ascentSteps = integerIn(options.ascentSteps ?? GGIG_DEFAULTS.ascentSteps, 'ascent-steps', 0, 1000);
  const ascentRate = options.ascentRate ?? GGIG_DEFAULTS.ascentRate;
  if (typeof ascentRate !== 'number' || !Number.isFinite(ascentRate) || ascentRate < 0) {
    throw new PathLensError('usage', `ascent-rate must be a number ≥ 0 (a fraction of the largest |x − x′|; got ${String(ascentRate)})`);
  }
  return { scales, ascentSteps, ascentRate };
}

export interface GgigComputation {
  attribution: Float32Array;
  /** Scale index k* (0-based, k = index + 1) chosen per feature. */
  chosen: Int32Array;
  /** Final ascended points z_k, row-major [m, size]. */
  points: Float32Array;
  /** Candidates a_k, row-major [m, size] (only when asked for). */
  candidates?: Float32Array;
  /** F(z_k) and ‖∇F(z_k)‖₂ at the final points. */
  value: number[];
  gradNorm: number[];
}

/** The GGIG computation on plain arrays (the method below adds baselines and reporting). */
export async function computeGgig(
  evaluator: Evaluator,
  input: Float32Array,
  baseline: Float32Array,
  params: GgigParams,
  keepCandidates = false,
): Promise<GgigComputation> {
  const size = input.length;
  const m = params.scales;
  const lo = new Float32Array(size);
  const hi = new Float32Array(size);
  const diff = new Float64Array(size);
  let extent = 0;
  for (let i = 0; i < size; i++) {
    lo[i] = Math.min(input[i]!, baseline[i]!);
    hi[i] = Math.max(input[i]!, baseline[i]!);
    diff[i] = input[i]! - baseline[i]!;
    extent = Math.max(extent, Math.abs(diff[i]!));
  }
  const stepSize = params.ascentRate * extent;
  const z = new Float32Array(m * size);
  for (let k = 0; k < m; k++) {
    const alpha = (k + 1) / m;
    const row = k * size;
    for (let i = 0; i < size; i++) z[row + i] = Math.min(hi[i]!, Math.max(lo[i]!, baseline[i]! + alpha * diff[i]!));
  }
  const grads = new Float32Array(m * size);
  const value = new Array<number>(m).fill(0);
  const gradNorm = new Array<number>(m).fill(0);
  const evaluate = async (stage: string) =>
    evaluator.evaluatePoints(
      { count: m, build: (start, count) => z.slice(start * size, (start + count) * size), keepGradients: true },
      (start, result) => {
        grads.set(result.gradients!, start * size);
        for (let j = 0; j < result.value.length; j++) {
          value[start + j] = result.value[j]!;
          gradNorm[start + j] = result.gradNorm[j]!;
        }
      },
      stage,
    );
  for (let step = 0; step < params.ascentSteps; step++) {
    await evaluate(`GGIG ascent ${step + 1}/${params.ascentSteps}`);
    if (stepSize === 0) continue;
    for (let k = 0; k < m; k++) {
      const row = k * size;
      let maxAbs = 0;
      for (let i = 0; i < size; i++) maxAbs = Math.max(maxAbs, Math.abs(grads[row + i]!));
      if (maxAbs === 0) continue;
      const scale = stepSize / maxAbs;
      for (let i = 0; i < size; i++) {
        const moved = z[row + i]! + scale * grads[row + i]!;
        z[row + i] = Math.min(hi[i]!, Math.max(lo[i]!, moved));
      }
    }
  }
  await evaluate('GGIG candidates');
  const attribution = new Float32Array(size);
  const chosen = new Int32Array(size);
  const best = new Float64Array(size).fill(-1);
  const candidates = keepCandidates ? new Float32Array(m * size) : undefined;
  for (let k = 0; k < m; k++) {
    const row = k * size;
    for (let i = 0; i < size; i++) {
      const a = diff[i]! * grads[row + i]!;
      if (candidates) candidates[row + i] = a;
      if (Math.abs(a) > best[i]!) {
        best[i] = Math.abs(a);
        attribution[i] = a;
        chosen[i] = k;
      }
    }
  }
  return { attribution, chosen, points: z, candidates, value, gradNorm };
}

/** Path trace: one entry per scale; cumulativeSum adds the features whose chosen scale is ≤ k. */
function traceOf(result: GgigComputation, m: number, expected: number): PathTrace {
  const perScale = new Float64Array(m);
  const share = new Array<number>(m).fill(0);
  for (let i = 0; i < result.attribution.length; i++) {
    perScale[result.chosen[i]!] += result.attribution[i]!;
    share[result.chosen[i]!]! += 1 / result.attribution.length;
  }
  let running = 0;
  return {
    alpha: Array.from({ length: m }, (_, k) => (k + 1) / m),
    value: result.value,
    gradNorm: result.gradNorm,
    cumulativeSum: Array.from(perScale, (s) => (running += s)),
    expected,
    extra: { chosenShare: share },
  };
}

export const ggig: AttributionMethod = {
  name: 'ggig',
  title: 'Geometrically Guided IG (reconstruction)',
  description:
    "Reconstruction of the paper's description (Rahman et al. 2022; no public code): gradient ascent from m scaled inputs on the straight path, inside the box between baseline and input; per feature the largest-magnitude candidate. Not complete.",
  complete: false,
  parameters: [
    {
      name: 'scales',
      label: 'Scales (m)',
      description: 'Scaled inputs x′ + (k/m)(x − x′), k = 1..m, ascended together in one batch.',
      type: 'integer',
      default: GGIG_DEFAULTS.scales,
      min: 1,
      max: 4096,
    },
    {
      name: 'ascentSteps',
      label: 'Ascent steps (K)',
      description: 'Projected gradient-ascent steps from each scaled input (one batched gradient each).',
      type: 'integer',
      default: GGIG_DEFAULTS.ascentSteps,
      min: 0,
      max: 1000,
    },
    {
      name: 'ascentRate',
      label: 'Ascent rate (η)',
      description: 'Step of the feature with the largest |gradient|, as a fraction of max |x − x′| (gradient normalised by its max-norm).',
      type: 'number',
      default: GGIG_DEFAULTS.ascentRate,
      min: 0,
      max: 1,
    },
    { ...baselineParameter(GGIG_DEFAULTS.baseline), description: 'Reference input x′; the ascent stays in the box between x′ and x.' },
  ],
  validate(options) {
    parseGgigOptions(options);
  },
  async run(context, options) {
    const started = performance.now();
    const before = context.evaluator.evaluations;
    const params = parseGgigOptions(options);
    const baseline = await context.baseline(options.baseline ?? GGIG_DEFAULTS.baseline);
    const result = await computeGgig(context.evaluator, context.input.data, baseline.data, params);
    const expected = context.inputValue - baseline.value;
    return {
      method: 'ggig',
      params: { ...params, baseline: baseline.name, reconstruction: true },
      attribution: { shape: context.input.shape, data: result.attribution },
      completeness: null,
      path: traceOf(result, params.scales, expected),
      timing: { ms: elapsed(started), evaluations: context.evaluator.evaluations - before },
    };
  },
};
