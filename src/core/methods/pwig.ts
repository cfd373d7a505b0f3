/**
 * Path-Weighted Integrated Gradients (Kamalov, Al Falasi, Thabtah, arXiv 2509.17491, 2025):
 * PWIG_i = (x_i − x'_i) ∫₀¹ w(α) ∂_iF(γ(α)) dα along the straight path, w normalised so ∫w = 1
 * (src/core/path/pathWeights.ts). Uniform w is IG exactly; any other w breaks completeness, so only
 * the uniform weight reports a completeness check.
 */
import { completeness } from '../attribution/completeness';
import { baselineParameter, elapsed, requirePositiveInteger, type AttributionMethod, type MethodOptions } from '../attribution/method';
import { PathLensError } from '../errors';
import { HALVING_FACTOR } from '../path/mapError';
import { pathWeight, PATH_WEIGHTS, type PathWeightSpec } from '../path/pathWeights';
import { quadrature, QUADRATURE_RULES } from '../path/quadrature';
import { cumulativeAttribution, integrateStraightPath } from '../path/straightPath';
import type { QuadratureRuleName } from '../types';

export const PWIG_DEFAULTS = { steps: 64, rule: 'gauss-legendre' as QuadratureRuleName, weight: 'ramp-up', betaA: 2, betaB: 2 };

function parse(options: MethodOptions): { steps: number; rule: QuadratureRuleName; weight: PathWeightSpec } {
  const steps = requirePositiveInteger(options.steps ?? PWIG_DEFAULTS.steps, 'steps');
  const rule = (options.rule ?? PWIG_DEFAULTS.rule) as QuadratureRuleName;
  if (!QUADRATURE_RULES.includes(rule)) {
    throw new PathLensError('usage', `pwig's --rule must be one of ${QUADRATURE_RULES.join(', ')} (got '${rule}')`);
  }
  const name = (options.weight ?? PWIG_DEFAULTS.weight) as PathWeightSpec['name'];
  const weight: PathWeightSpec = { name, a: Number(options.betaA ?? PWIG_DEFAULTS.betaA), b: Number(options.betaB ?? PWIG_DEFAULTS.betaB) };
  pathWeight(weight); // validates the family and its parameters
  quadrature(rule, steps);
  return { steps, rule, weight };
}

export const pathWeightedIg: AttributionMethod = {
  name: 'pwig',
  mapError: { parameter: 'steps', factor: (params) => HALVING_FACTOR[String(params.rule)] ?? 1, basis: 'PWIG quadrature' },
  title: 'Path-Weighted IG',
  description: 'IG with a weight w(α) along the path (uniform = IG); complete only for the uniform weight.',
  complete: false,
  parameters: [
    {
      name: 'steps',
      label: 'Steps',
      description: 'Path points (gradient evaluations).',
      type: 'integer',
      default: PWIG_DEFAULTS.steps,
      min: 1,
      max: 4096,
    },
    {
      name: 'rule',
      label: 'Quadrature rule',
      description: 'How path points and weights are placed on [0, 1].',
      type: 'choice',
      default: PWIG_DEFAULTS.rule,
      choices: [...QUADRATURE_RULES],
    },
    {
      name: 'weight',
      label: 'Path weight',
      description: 'w(α): uniform (= IG), ramp-up 2α (late path), ramp-down 2(1 − α) (early path), beta Beta(a, b) density.',
      type: 'choice',
      default: PWIG_DEFAULTS.weight,
      choices: [...PATH_WEIGHTS],
    },
    {
      name: 'betaA',
      label: 'Beta a',
      description: 'Beta weight: a ≥ 1 (mean a/(a + b)).',
      type: 'number',
      default: PWIG_DEFAULTS.betaA,
      min: 1,
      max: 100,
    },
    { name: 'betaB', label: 'Beta b', description: 'Beta weight: b ≥ 1.', type: 'number', default: PWIG_DEFAULTS.betaB, min: 1, max: 100 },
    baselineParameter(),
  ],
  validate(options) {
    parse(options);
  },
  async run(context, options) {
    const started = performance.now();
    const before = context.evaluator.evaluations;
    const { steps, rule, weight } = parse(options);
    const w = pathWeight(weight);
    const baseline = await context.baseline(options.baseline ?? 'zero');
    const input = context.input.data;
    const q = quadrature(rule, steps);
    const weights = q.alphas.map((alpha, k) => q.weights[k]! * w(alpha));
    const integral = await integrateStraightPath(
      context.evaluator,
      input,
      baseline.data,
      { alphas: q.alphas, weights },
      'Path-Weighted IG',
    );
    const attribution = new Float32Array(input.length);
    for (let i = 0; i < input.length; i++) attribution[i] = (input[i]! - baseline.data[i]!) * integral.weightedGradSum[i]!;
    const expected = context.inputValue - baseline.value;
    return {
      method: 'pwig',
      params: {
        steps,
        rule,
        weight: weight.name,
        ...(weight.name === 'beta' ? { betaA: weight.a, betaB: weight.b } : {}),
        baseline: baseline.name,
        ...(weight.name === 'uniform' ? {} : { note: 'not complete: Σ attribution ≠ F(x) − F(x′) unless the weight is uniform' }),
      },
      attribution: { shape: context.input.shape, data: attribution },
      completeness: weight.name === 'uniform' ? completeness(attribution, expected) : null,
      path: {
        alpha: integral.alpha,
        value: integral.value,
        gradNorm: integral.gradNorm,
        cumulativeSum: cumulativeAttribution(integral),
        expected,
      },
      timing: { ms: elapsed(started), evaluations: context.evaluator.evaluations - before },
    };
  },
};
