import { baselineParameter, elapsed, requirePositiveInteger, type AttributionMethod, type MethodOptions } from '../attribution/method';
import { PathLensError } from '../errors';
import { quadrature, QUADRATURE_RULES, type Quadrature } from '../path/quadrature';
import type { Evaluator } from '../engine/evaluator';
import { checkTwinValue, patternBackwardAt, patternBackwardPass, requirePatterns } from '../patterns/backward';
import { pathDirection, straightPathPoints } from '../path/straightPath';
import type { Patterns } from '../patterns/patterns';
import type { QuadratureRuleName } from '../types';

/**
 * 'interior' is the reference's placement (DFKI-NLP/pgig): α = k/n for k = 1..n−1 (neither end point),
 * here averaged (weights 1/(n−1)); the reference divides the sum by n instead (a factor (n−1)/n).
 */
export const PGIG_RULES = ['interior', ...QUADRATURE_RULES] as const;
export type PgigRule = (typeof PGIG_RULES)[number];
export const PGIG_DEFAULTS = { steps: 25, rule: 'interior' as PgigRule, baseline: 'zero' as const };

function pgigQuadrature(options: MethodOptions): Quadrature & { ruleName: PgigRule } {
  const steps = requirePositiveInteger(options.steps ?? PGIG_DEFAULTS.steps, 'steps');
  const rule = (options.rule ?? PGIG_DEFAULTS.rule) as PgigRule;
  if (!PGIG_RULES.includes(rule)) {
    throw new PathLensError(
      'usage',
      `pgig: unknown rule '${rule}' (choose one of ${PGIG_RULES.join(', ')}; adaptive does not apply: PGIG is not complete)`,
    );
  }
  if (rule === 'interior') {
    if (steps < 2) throw new PathLensError('usage', 'pgig: the interior rule needs at least 2 steps (points k/n, k = 1..n−1)');
    const alphas = Array.from({ length: steps - 1 }, (_, k) => (k + 1) / steps);
    return { rule: 'riemann-right', ruleName: rule, alphas, weights: alphas.map(() => 1 / (steps - 1)) };
  }
  return { ...quadrature(rule as QuadratureRuleName, steps), ruleName: rule };
}

const STAGE = 'Pattern-Guided IG';

/** What the path accumulates: Σ_k w_k r(γ(α_k)) per feature, and F, ‖r‖ and w_k r·(x − x′) per point. */
interface PathSums {
  weighted: Float64Array;
  values: number[];
  norms: number[];
  contributions: number[];
}

/** The PatternAttribution relevance r in place of ∇F along the path x′ + α (x − x′), reduced by the evaluator. */
async function pathSums(evaluator: Evaluator, patterns: Patterns, x: Float32Array, x0: Float32Array, q: Quadrature): Promise<PathSums> {
  const size = x.length;
  const count = q.alphas.length;
  const sums: PathSums = {
    weighted: new Float64Array(size),
    values: new Array<number>(count),
    norms: new Array<number>(count),
    contributions: new Array<number>(count),
  };
  await evaluator.evaluatePoints(
    {
      count,
      build: straightPathPoints(x, x0, q.alphas),
      weights: q.weights,
      direction: pathDirection(x, x0),
      backward: patternBackwardPass(evaluator, patterns, 'pattern-attribution'),
    },
    (start, chunk) => {
      for (let i = 0; i < size; i++) sums.weighted[i]! += chunk.weightedSum![i]!;
      for (let j = 0; j < chunk.value.length; j++) {
        sums.values[start + j] = chunk.value[j]!;
        sums.norms[start + j] = chunk.gradNorm[j]!;
        sums.contributions[start + j] = q.weights[start + j]! * chunk.directional![j]!;
      }
    },
    STAGE,
  );
  return sums;
}

/**
 * Pattern-Guided Integrated Gradients (Schwarzenberg & Castle 2020): IG whose gradient is replaced by
 * the PatternAttribution backward pass at every path point, `(x − x') ⊙ Σ_k w_k PAback(γ(α_k))`, the
 * backward pass seeded with ∂F/∂logits (1 at the target logit, or through the final softmax/sigmoid).
 */
export const pgig: AttributionMethod = {
  name: 'pgig',
  mapError: { parameter: 'steps', factor: 1, basis: 'PGIG path points' },
  title: 'Pattern-Guided IG',
  description: 'IG with the PatternAttribution backward pass (W⊙A) in place of the gradient; not complete (needs `pathlens patterns fit`).',
  complete: false,
  needs: { patterns: true },
  parameters: [
    {
      name: 'steps',
      label: 'Steps',
      description: 'Path steps n (the interior rule uses the points k/n, k = 1..n−1).',
      type: 'integer',
      default: PGIG_DEFAULTS.steps,
      min: 1,
      max: 4096,
    },
    {
      name: 'rule',
      label: 'Quadrature rule',
      description: 'Placement of the path points; interior = the reference (k/n without the ends).',
      type: 'choice',
      default: PGIG_DEFAULTS.rule,
      choices: [...PGIG_RULES],
    },
    baselineParameter(PGIG_DEFAULTS.baseline),
  ],
  validate(options) {
    pgigQuadrature(options);
  },
  async run(context, options) {
    const started = performance.now();
    const q = pgigQuadrature(options);
    const patterns = await requirePatterns(context, 'pgig');
    const baseline = await context.baseline(options.baseline ?? PGIG_DEFAULTS.baseline);
    const x = context.input.data;
    const x0 = baseline.data;
    const size = x.length;
    const count = q.alphas.length;
    const sums = await pathSums(context.evaluator, patterns, x, x0, q);
    // The twin must reproduce F; check it at the path's end point when that is on the path, else at x.
    const twinAtInput =
      q.alphas[count - 1] === 1
        ? sums.values[count - 1]!
        : (await patternBackwardAt(context.evaluator, patterns, 'gradient', x, 'PGIG twin check')).value;
    checkTwinValue(twinAtInput, context.inputValue, 'pgig');
    const attribution = new Float32Array(size);
    const diff = pathDirection(x, x0);
    for (let i = 0; i < size; i++) attribution[i] = diff[i]! * sums.weighted[i]!;
    let running = 0;
    const cumulativeSum = sums.contributions.map((c) => (running += c));
    return {
      method: 'pgig',
      params: {
        steps: options.steps ?? PGIG_DEFAULTS.steps,
        rule: q.ruleName,
        points: count,
        baseline: baseline.name,
        estimator: patterns.header.estimator,
        patternSamples: patterns.header.samples,
      },
      attribution: { shape: context.input.shape, data: attribution },
      // Not complete by design: there is no δ to report.
      completeness: null,
      path: {
        alpha: [...q.alphas],
        value: sums.values,
        gradNorm: sums.norms,
        cumulativeSum,
        expected: context.inputValue - baseline.value,
      },
      timing: { ms: elapsed(started), evaluations: count },
    };
  },
};
