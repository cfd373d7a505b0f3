import { completeness } from '../attribution/completeness';
import { elapsed, requirePositiveInteger, type AttributionMethod, type MethodOptions } from '../attribution/method';
import { cumulativeAttribution, integrateStraightPath, type StraightPathIntegral } from '../path/straightPath';
import { ADAPTIVE_DEFAULTS, integrateAdaptive } from '../path/adaptive';
import { idgiStraightPath, requireIdgiRule } from '../path/idgi';
import { quadrature, QUADRATURE_RULES } from '../path/quadrature';
import { PathLensError } from '../errors';
import type { QuadratureRuleName } from '../types';

export const IG_DEFAULTS = { steps: 50, rule: 'gauss-legendre' as QuadratureRuleName, baseline: 'zero' as const };

/** IG's rules: the fixed quadratures plus adaptive refinement to a completeness tolerance. */
export const IG_RULES = [...QUADRATURE_RULES, 'adaptive'] as const;
export type IgRule = (typeof IG_RULES)[number];

function resolveRule(options: MethodOptions): IgRule {
  const rule = (options.rule ?? IG_DEFAULTS.rule) as IgRule;
  if (!IG_RULES.includes(rule)) {
    throw new PathLensError('usage', `unknown quadrature rule '${rule}' (choose one of ${IG_RULES.join(', ')})`);
  }
  return rule;
}

function adaptiveOptions(options: MethodOptions): { tolerance: number; maxEvaluations: number } {
  const tolerance = options.tolerance ?? ADAPTIVE_DEFAULTS.tolerance;
  if (typeof tolerance !== 'number' || !(tolerance > 0))
    throw new PathLensError('usage', `tolerance must be a number > 0 (got ${String(tolerance)})`);
  const maxEvaluations = requirePositiveInteger(options.maxEvaluations ?? ADAPTIVE_DEFAULTS.maxEvaluations, 'max-evaluations');
  if (maxEvaluations < 2 * ADAPTIVE_DEFAULTS.initialPanels + 1) {
    throw new PathLensError(
      'usage',
      `max-evaluations must be at least ${2 * ADAPTIVE_DEFAULTS.initialPanels + 1} (the first adaptive pass)`,
    );
  }
  return { tolerance, maxEvaluations };
}

/** Integrated Gradients (Sundararajan et al. 2017) along the straight path, by a chosen quadrature rule. */
export const integratedGradients: AttributionMethod = {
  name: 'ig',
  title: 'Integrated Gradients',
  description: 'Path integral of gradients from a baseline to the input; Σ attribution = F(x) − F(baseline).',
  complete: true,
  parameters: [
    {
      name: 'steps',
      label: 'Steps',
      description: 'Number of path points (gradient evaluations).',
      type: 'integer',
      default: IG_DEFAULTS.steps,
      min: 1,
      max: 4096,
    },
    {
      name: 'rule',
      label: 'Quadrature rule',
      description: 'How path points and weights are placed on [0, 1]; adaptive refines until δ is within tolerance.',
      type: 'choice',
      default: IG_DEFAULTS.rule,
      choices: [...IG_RULES],
    },
    {
      name: 'tolerance',
      label: 'Tolerance (adaptive)',
      description: 'Adaptive rule stops when |δ| ≤ tolerance·|F(x) − F(x′)|.',
      type: 'number',
      default: ADAPTIVE_DEFAULTS.tolerance,
      min: 1e-6,
      max: 1,
    },
    {
      name: 'baseline',
      label: 'Baseline',
      description: 'Reference input x′ the path starts from.',
      type: 'choice',
      default: IG_DEFAULTS.baseline,
      choices: ['zero', 'black', 'white', 'uniform', 'gaussian', 'blur'],
    },
    {
      name: 'idgi',
      label: 'IDGI',
      description: 'Post-process the path with IDGI (Riemann/trapezoid rules only): exactly complete.',
      type: 'boolean',
      default: false,
    },
  ],
  validate(options) {
    const steps = requirePositiveInteger(options.steps ?? IG_DEFAULTS.steps, 'steps');
    const rule = resolveRule(options);
    if (rule === 'adaptive') adaptiveOptions(options);
    else quadrature(rule, steps);
    if (options.idgi === true) requireIdgiRule(rule);
  },
  async run(context, options) {
    const started = performance.now();
    const evaluationsBefore = context.evaluator.evaluations;
    const steps = requirePositiveInteger(options.steps ?? IG_DEFAULTS.steps, 'steps');
    const ruleName = resolveRule(options);
    const baseline = await context.baseline(options.baseline ?? IG_DEFAULTS.baseline);
    const input = context.input.data;
    const expected = context.inputValue - baseline.value;
    const idgi = options.idgi === true;
    if (idgi) requireIdgiRule(ruleName);
    let integral: StraightPathIntegral;
    let ruleParams: Record<string, unknown>;
    let post: { attribution: Float64Array; cumulative: number[] } | null = null;
    if (idgi && ruleName !== 'adaptive') {
      const result = await idgiStraightPath(
        context.evaluator,
        input,
        baseline.data,
        quadrature(ruleName, steps),
        { inputValue: context.inputValue, baselineValue: baseline.value },
        'Integrated Gradients (IDGI)',
      );
      integral = result.integral;
      post = result;
      ruleParams = { steps, rule: ruleName };
    } else if (ruleName === 'adaptive') {
      const adaptive = adaptiveOptions(options);
      const result = await integrateAdaptive(
        context.evaluator,
        input,
        baseline.data,
        expected,
        adaptive,
        'Integrated Gradients (adaptive)',
      );
      integral = result;
      ruleParams = { steps: result.alpha.length, rule: 'adaptive', ...adaptive, converged: result.converged };
    } else {
      integral = await integrateStraightPath(context.evaluator, input, baseline.data, quadrature(ruleName, steps), 'Integrated Gradients');
      ruleParams = { steps, rule: ruleName };
    }
    const attribution = new Float32Array(input.length);
    if (post) attribution.set(post.attribution);
    else for (let i = 0; i < input.length; i++) attribution[i] = (input[i]! - baseline.data[i]!) * integral.weightedGradSum[i]!;
    return {
      method: 'ig',
      params: { ...ruleParams, baseline: baseline.name, idgi },
      attribution: { shape: context.input.shape, data: attribution },
      completeness: completeness(attribution, expected),
      path: {
        alpha: integral.alpha,
        value: integral.value,
        gradNorm: integral.gradNorm,
        cumulativeSum: post ? post.cumulative : cumulativeAttribution(integral),
        expected,
      },
      timing: { ms: elapsed(started), evaluations: context.evaluator.evaluations - evaluationsBefore },
    };
  },
};
