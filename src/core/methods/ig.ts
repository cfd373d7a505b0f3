import { completeness } from '../attribution/completeness';
import {
  idgiParameter,
  baselineParameter,
  elapsed,
  requirePositiveInteger,
  type AttributionMethod,
  type MethodContext,
  type MethodOptions,
} from '../attribution/method';
import { halvingEstimate } from '../path/mapError';
import { cumulativeAttribution, integrateStraightPath, type StraightPathIntegral } from '../path/straightPath';
import { ADAPTIVE_DEFAULTS, FIRST_PASS_POINTS, integrateAdaptive } from '../path/adaptive';
import { idgiStraightPath, requireIdgiRule } from '../path/idgi';
import { quadrature, QUADRATURE_RULES } from '../path/quadrature';
import { PathLensError } from '../errors';
import type { MapAccuracy, QuadratureRuleName } from '../types';

export const IG_DEFAULTS = { steps: 50, rule: 'adaptive' as IgRule, baseline: 'zero' as const };

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

function adaptiveOptions(options: MethodOptions): { tolerance: number; mapTolerance: number; maxEvaluations: number } {
  const tolerance = options.tolerance ?? ADAPTIVE_DEFAULTS.tolerance;
  if (typeof tolerance !== 'number' || !(tolerance > 0))
    throw new PathLensError('usage', `tolerance must be a number > 0 (got ${String(tolerance)})`);
  const mapTolerance = options.mapTolerance ?? ADAPTIVE_DEFAULTS.mapTolerance;
  if (typeof mapTolerance !== 'number' || !(mapTolerance > 0))
    throw new PathLensError('usage', `map-tolerance must be a number > 0 (got ${String(mapTolerance)})`);
  const maxEvaluations = requirePositiveInteger(options.maxEvaluations ?? ADAPTIVE_DEFAULTS.maxEvaluations, 'max-evaluations');
  if (maxEvaluations < FIRST_PASS_POINTS) {
    throw new PathLensError('usage', `max-evaluations must be at least ${FIRST_PASS_POINTS} (the first adaptive pass)`);
  }
  return { tolerance, mapTolerance, maxEvaluations };
}

interface IgIntegral {
  integral: StraightPathIntegral;
  ruleParams: Record<string, unknown>;
  post?: { attribution: Float64Array; cumulative: number[] };
  accuracy?: MapAccuracy;
}

function mapOf(integral: StraightPathIntegral, input: Float32Array, baseline: Float32Array): Float64Array {
  return Float64Array.from(integral.weightedGradSum, (g, i) => g * (input[i]! - baseline[i]!));
}

/** A fixed rule, with its map error estimated from the same rule at half the points (halving). */
async function fixedRule(
  context: MethodContext,
  baseline: Float32Array,
  rule: QuadratureRuleName,
  steps: number,
  options: MethodOptions,
): Promise<IgIntegral> {
  const input = context.input.data;
  const integral = await integrateStraightPath(context.evaluator, input, baseline, quadrature(rule, steps), 'Integrated Gradients');
  const halfSteps = Math.max(rule === 'trapezoid' ? 2 : 1, Math.ceil(steps / 2));
  const half = await integrateStraightPath(
    context.evaluator,
    input,
    baseline,
    quadrature(rule, halfSteps),
    'Integrated Gradients (error estimate)',
  );
  const mapError = halvingEstimate(mapOf(integral, input, baseline), mapOf(half, input, baseline), rule);
  const mapTolerance = typeof options.mapTolerance === 'number' ? options.mapTolerance : ADAPTIVE_DEFAULTS.mapTolerance;
  return {
    integral,
    ruleParams: { steps, rule },
    accuracy: { mapError, converged: mapError <= mapTolerance, basis: `${rule} at ${steps} vs ${halfSteps} points (halving)` },
  };
}

async function adaptiveRule(context: MethodContext, baseline: Float32Array, expected: number, options: MethodOptions): Promise<IgIntegral> {
  const adaptive = adaptiveOptions(options);
  const result = await integrateAdaptive(
    context.evaluator,
    context.input.data,
    baseline,
    expected,
    adaptive,
    'Integrated Gradients (adaptive)',
  );
  return {
    integral: result,
    ruleParams: { steps: result.alpha.length, rule: 'adaptive', ...adaptive, converged: result.converged },
    accuracy: { mapError: result.mapError, converged: result.converged, basis: 'adaptive trapezoid', history: result.history },
  };
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
      description:
        'How path points and weights are placed on [0, 1]; adaptive refines where the map needs it until its estimated error and δ are within tolerance.',
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
      name: 'mapTolerance',
      label: 'Map tolerance (adaptive)',
      description: 'Adaptive rule stops when the estimated map error ‖A − A*‖₁/‖A*‖₁ is ≤ this (and δ within tolerance).',
      type: 'number',
      default: ADAPTIVE_DEFAULTS.mapTolerance,
      min: 1e-4,
      max: 1,
    },
    {
      name: 'maxEvaluations',
      label: 'Max evaluations (adaptive)',
      description: "Cap on the adaptive rule's path points (gradient evaluations); a run stopped by it is not converged.",
      type: 'integer',
      default: ADAPTIVE_DEFAULTS.maxEvaluations,
      min: FIRST_PASS_POINTS,
    },
    baselineParameter(IG_DEFAULTS.baseline),
    idgiParameter(' (Riemann/trapezoid rules only)'),
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
    let computed: IgIntegral;
    if (idgi && ruleName !== 'adaptive') {
      const result = await idgiStraightPath(
        context.evaluator,
        input,
        baseline.data,
        quadrature(ruleName, steps),
        { inputValue: context.inputValue, baselineValue: baseline.value },
        'Integrated Gradients (IDGI)',
      );
      computed = { integral: result.integral, post: result, ruleParams: { steps, rule: ruleName } };
    } else if (ruleName === 'adaptive') computed = await adaptiveRule(context, baseline.data, expected, options);
    else computed = await fixedRule(context, baseline.data, ruleName, steps, options);
    const { integral, ruleParams, post, accuracy } = computed;
    const attribution = new Float32Array(input.length);
    if (post) attribution.set(post.attribution);
    else for (let i = 0; i < input.length; i++) attribution[i] = (input[i]! - baseline.data[i]!) * integral.weightedGradSum[i]!;
    return {
      method: 'ig',
      params: { ...ruleParams, baseline: baseline.name, idgi },
      attribution: { shape: context.input.shape, data: attribution },
      completeness: completeness(attribution, expected),
      ...(accuracy ? { accuracy } : {}),
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
