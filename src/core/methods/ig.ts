import { completeness } from '../attribution/completeness';
import { elapsed, requirePositiveInteger, type AttributionMethod, type MethodOptions } from '../attribution/method';
import { cumulativeAttribution, integrateStraightPath } from '../path/straightPath';
import { quadrature, QUADRATURE_RULES } from '../path/quadrature';
import { PathLensError } from '../errors';
import type { QuadratureRuleName } from '../types';

export const IG_DEFAULTS = { steps: 50, rule: 'gauss-legendre' as QuadratureRuleName, baseline: 'zero' as const };

function resolveRule(options: MethodOptions): QuadratureRuleName {
  const rule = options.rule ?? IG_DEFAULTS.rule;
  if (!QUADRATURE_RULES.includes(rule)) {
    throw new PathLensError('usage', `unknown quadrature rule '${rule}' (choose one of ${QUADRATURE_RULES.join(', ')})`);
  }
  return rule;
}

/** Integrated Gradients (Sundararajan et al. 2017) along the straight path, by a chosen quadrature rule. */
export const integratedGradients: AttributionMethod = {
  name: 'ig',
  title: 'Integrated Gradients',
  description: 'Path integral of gradients from a baseline to the input; Σ attribution = F(x) − F(baseline).',
  complete: true,
  parameters: [
    { name: 'steps', label: 'Steps', description: 'Number of path points (gradient evaluations).', type: 'integer', default: IG_DEFAULTS.steps, min: 1, max: 4096 },
    { name: 'rule', label: 'Quadrature rule', description: 'How path points and weights are placed on [0, 1].', type: 'choice', default: IG_DEFAULTS.rule, choices: [...QUADRATURE_RULES] },
    { name: 'baseline', label: 'Baseline', description: 'Reference input x′ the path starts from.', type: 'choice', default: IG_DEFAULTS.baseline, choices: ['zero', 'black', 'white', 'uniform', 'gaussian', 'blur'] },
  ],
  validate(options) {
    const steps = requirePositiveInteger(options.steps ?? IG_DEFAULTS.steps, 'steps');
    quadrature(resolveRule(options), steps);
  },
  async run(context, options) {
    const started = performance.now();
    const evaluationsBefore = context.evaluator.evaluations;
    const steps = requirePositiveInteger(options.steps ?? IG_DEFAULTS.steps, 'steps');
    const rule = quadrature(resolveRule(options), steps);
    const baseline = await context.baseline(options.baseline ?? IG_DEFAULTS.baseline);
    const input = context.input.data;
    const integral = await integrateStraightPath(context.evaluator, input, baseline.data, rule, 'Integrated Gradients');
    const attribution = new Float32Array(input.length);
    for (let i = 0; i < input.length; i++) attribution[i] = (input[i]! - baseline.data[i]!) * integral.weightedGradSum[i]!;
    const expected = context.inputValue - baseline.value;
    return {
      method: 'ig',
      params: { steps, rule: rule.rule, baseline: baseline.name },
      attribution: { shape: context.input.shape, data: attribution },
      completeness: completeness(attribution, expected),
      path: {
        alpha: integral.alpha,
        value: integral.value,
        gradNorm: integral.gradNorm,
        cumulativeSum: cumulativeAttribution(integral),
        expected,
      },
      timing: { ms: elapsed(started), evaluations: context.evaluator.evaluations - evaluationsBefore },
    };
  },
};
