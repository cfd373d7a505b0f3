/**
 * The SmoothGrad family (SmoothGrad, SmoothGrad², VarGrad): average an attribution E over noisy copies
 * x + ε of the input, ε ~ N(0, σ²), σ = noise · (max − min) of the input's range — σ is RELATIVE to
 * the range (PAIR's convention, default 0.15), not absolute as in Captum's NoiseTunnel.
 *
 *   SmoothGrad  = mean_k E(x + ε_k)
 *   SmoothGrad² = mean_k E(x + ε_k)²
 *   VarGrad     = mean_k E(x + ε_k)² − (mean_k E(x + ε_k))²   (population variance)
 *
 * E is the gradient, gradient × (noisy) input, or IG of the noisy input from the chosen baseline.
 */
import { inputRange } from '../input/baseline';
import { PathLensError } from '../errors';
import { integrateStraightPath } from '../path/straightPath';
import { quadrature, QUADRATURE_RULES } from '../path/quadrature';
import { createRng } from '../random';
import type { QuadratureRuleName } from '../types';
import {
  elapsed,
  requirePositiveInteger,
  type AttributionMethod,
  type MethodContext,
  type MethodOptions,
  type ParameterSpec,
} from './method';

export const WRAPPED_METHODS = ['gradient', 'grad-x-input', 'ig'] as const;
export type WrappedMethod = (typeof WRAPPED_METHODS)[number];
export type Aggregate = 'mean' | 'mean-square' | 'variance';

export const SMOOTHING_DEFAULTS = {
  samples: 25,
  noise: 0.15,
  wrap: 'gradient' as WrappedMethod,
  seed: 0,
  igSteps: 50,
  igRule: 'gauss-legendre' as QuadratureRuleName,
  baseline: 'zero' as const,
};

export interface SmoothingOptions {
  samples: number;
  noise: number;
  wrap: WrappedMethod;
  seed: number;
  /** For wrap = ig. */
  steps: number;
  rule: QuadratureRuleName;
}

export function parseSmoothingOptions(options: MethodOptions): SmoothingOptions {
  const samples = requirePositiveInteger(options.samples ?? SMOOTHING_DEFAULTS.samples, 'samples');
  const noise = options.noise ?? SMOOTHING_DEFAULTS.noise;
  if (typeof noise !== 'number' || !Number.isFinite(noise) || noise < 0) {
    throw new PathLensError('usage', `noise must be a number ≥ 0 (σ relative to the input range; got ${String(noise)})`);
  }
  const wrap = (options.wrap ?? SMOOTHING_DEFAULTS.wrap) as WrappedMethod;
  if (!WRAPPED_METHODS.includes(wrap))
    throw new PathLensError('usage', `wrap must be one of ${WRAPPED_METHODS.join(', ')} (got '${String(wrap)}')`);
  const seed = options.seed ?? SMOOTHING_DEFAULTS.seed;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new PathLensError('usage', `seed must be a number (got ${String(seed)})`);
  const steps = requirePositiveInteger(options.steps ?? SMOOTHING_DEFAULTS.igSteps, 'steps');
  const rule = options.rule ?? SMOOTHING_DEFAULTS.igRule;
  if (wrap === 'ig') {
    if (!QUADRATURE_RULES.includes(rule))
      throw new PathLensError('usage', `the wrapped IG needs one of the rules ${QUADRATURE_RULES.join(', ')} (got '${rule}')`);
    quadrature(rule, steps);
  }
  return { samples, noise, wrap, seed, steps, rule };
}

export const SMOOTHING_PARAMETERS: readonly ParameterSpec[] = [
  {
    name: 'wrap',
    label: 'Wrapped method',
    description: 'Attribution averaged over the noisy copies.',
    type: 'choice',
    default: SMOOTHING_DEFAULTS.wrap,
    choices: [...WRAPPED_METHODS],
  },
  {
    name: 'samples',
    label: 'Samples',
    description: 'Number of noisy copies of the input.',
    type: 'integer',
    default: SMOOTHING_DEFAULTS.samples,
    min: 1,
    max: 1024,
  },
  {
    name: 'noise',
    label: 'Noise (relative σ)',
    description: 'Noise σ as a fraction of the input range (max − min), not absolute.',
    type: 'number',
    default: SMOOTHING_DEFAULTS.noise,
    min: 0,
    max: 1,
  },
  { name: 'seed', label: 'Seed', description: 'Seed of the noise.', type: 'integer', default: SMOOTHING_DEFAULTS.seed },
];

/** Σ_k E_k and Σ_k E_k² in float64 over the noisy samples. */
async function noisySums(
  context: MethodContext,
  o: SmoothingOptions,
  sigma: number,
  baselineData: Float32Array | null,
): Promise<{ sum: Float64Array; sumSq: Float64Array }> {
  const x = context.input.data;
  const size = x.length;
  const rng = createRng(o.seed);
  const noisy = () => {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = x[i]! + (sigma === 0 ? 0 : sigma * rng.normal());
    return out;
  };
  const sum = new Float64Array(size);
  const sumSq = new Float64Array(size);
  const add = (e: ArrayLike<number>) => {
    for (let i = 0; i < size; i++) {
      sum[i]! += e[i]!;
      sumSq[i]! += e[i]! * e[i]!;
    }
  };
  if (o.wrap === 'ig') {
    const rule = quadrature(o.rule, o.steps);
    for (let k = 0; k < o.samples; k++) {
      const xk = noisy();
      const integral = await integrateStraightPath(context.evaluator, xk, baselineData!, rule, `SmoothGrad (IG ${k + 1}/${o.samples})`);
      const e = new Float64Array(size);
      for (let i = 0; i < size; i++) e[i] = (xk[i]! - baselineData![i]!) * integral.weightedGradSum[i]!;
      add(e);
    }
    return { sum, sumSq };
  }
  // Gradient / gradient × input: the noisy copies are independent, so they batch in evaluator chunks.
  await context.evaluator.evaluatePoints(
    {
      count: o.samples,
      build: (_start, count) => {
        const batch = new Float32Array(count * size);
        for (let j = 0; j < count; j++) batch.set(noisy(), j * size);
        return batch;
      },
      multipliers: o.wrap === 'grad-x-input' ? (_start, _count, points) => points : undefined,
      weights: new Array<number>(o.samples).fill(1),
      sumOfSquares: true,
    },
    (_start, chunk) => {
      for (let i = 0; i < size; i++) {
        sum[i]! += chunk.weightedSum![i]!;
        sumSq[i]! += chunk.sumOfSquares![i]!;
      }
    },
    'SmoothGrad',
  );
  return { sum, sumSq };
}

/** Builds one member of the family; the methods differ only in how the samples are aggregated. */
export function smoothingMethod(meta: { name: string; title: string; description: string; aggregate: Aggregate }): AttributionMethod {
  return {
    name: meta.name,
    // The noise stream is sequential: the first half of the samples is shared with the halved run.
    mapError: { parameter: 'samples', factor: 1, basis: 'Monte-Carlo, nested half of the noisy copies' },
    title: meta.title,
    description: meta.description,
    complete: false,
    parameters: SMOOTHING_PARAMETERS,
    validate(options) {
      parseSmoothingOptions(options);
    },
    async run(context, options) {
      const started = performance.now();
      const before = context.evaluator.evaluations;
      const o = parseSmoothingOptions(options);
      const [lo, hi] = inputRange(context.input);
      const sigma = o.noise * (hi - lo);
      const baseline = o.wrap === 'ig' ? await context.baseline(options.baseline ?? SMOOTHING_DEFAULTS.baseline) : null;
      const { sum, sumSq } = await noisySums(context, o, sigma, baseline?.data ?? null);
      const size = sum.length;
      const data = new Float32Array(size);
      for (let i = 0; i < size; i++) {
        const mean = sum[i]! / o.samples;
        const meanSq = sumSq[i]! / o.samples;
        data[i] = meta.aggregate === 'mean' ? mean : meta.aggregate === 'mean-square' ? meanSq : Math.max(0, meanSq - mean * mean);
      }
      return {
        method: meta.name,
        params: {
          wrap: o.wrap,
          samples: o.samples,
          noise: o.noise,
          noiseScale: 'relative to the input range (σ = noise · (max − min))',
          sigma,
          range: [lo, hi],
          seed: o.seed,
          ...(o.wrap === 'ig' ? { steps: o.steps, rule: o.rule, baseline: baseline!.name } : {}),
        },
        attribution: { shape: context.input.shape, data },
        completeness: null,
        timing: { ms: elapsed(started), evaluations: context.evaluator.evaluations - before },
      };
    },
  };
}
