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
import { PathLensError } from '../errors';
import { IdgiAccumulator } from '../path/idgi';

export const GUIDED_IG_DEFAULTS = { steps: 200, fraction: 0.25, maxDist: 0.02, baseline: 'zero' as const };

/** The reference's closeness test for the L1 target (math.isclose with rel_tol = abs_tol = 1e-9). */
const EPSILON = 1e-9;
/** Safety net: the reference loops while γ > 1; each round marks more features done, so this is never hit in practice. */
const MAX_ROUNDS_PER_STEP = 10_000;

function fractionOf(options: MethodOptions): number {
  const fraction = options.fraction ?? GUIDED_IG_DEFAULTS.fraction;
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) {
    throw new PathLensError('usage', `fraction must be a number in (0, 1] (got ${String(fraction)})`);
  }
  return fraction;
}

function maxDistOf(options: MethodOptions): number {
  const maxDist = options.maxDist ?? GUIDED_IG_DEFAULTS.maxDist;
  if (typeof maxDist !== 'number' || !(maxDist >= 0 && maxDist <= 1)) {
    throw new PathLensError('usage', `max-dist must be a number in [0, 1] (got ${String(maxDist)})`);
  }
  return maxDist;
}

function parse(options: MethodOptions) {
  return {
    steps: requirePositiveInteger(options.steps ?? GUIDED_IG_DEFAULTS.steps, 'steps'),
    fraction: fractionOf(options),
    maxDist: maxDistOf(options),
    idgi: options.idgi === true,
  };
}

/**
 * NumPy's `np.quantile(values, q, method='lower')`: the element at floor of the virtual index
 * n·q + (1 − q) − 1 (NumPy's formula for alpha = beta = 1, evaluated the same way in float64) of the
 * sorted values. Found by selection (O(n)) on a scratch copy. +∞ entries sort last, as in NumPy.
 */
export function lowerQuantile(values: Float64Array, q: number, scratch: Float64Array = new Float64Array(values.length)): number {
  const n = values.length;
  const virtual = n * q + (1 + q * (1 - 1 - 1)) - 1;
  const k = Math.min(n - 1, Math.max(0, Math.floor(virtual)));
  scratch.set(values);
  return select(scratch.subarray(0, n), k);
}

/** k-th smallest (0-based) of `a` by Hoare-style quickselect with median-of-three pivots (reorders `a`). */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as pivot.
    const x = a[lo]!,
      y = a[mid]!,
      z = a[hi]!;
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Percentiles (0..100) of `values` by linear interpolation (for the path plot's bands). */
function percentiles(values: Float64Array, ps: number[]): number[] {
  if (values.length === 0) return ps.map(() => NaN);
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => {
    const pos = (p / 100) * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
  });
}

/** One gradient of F at a single point, through the evaluator (counted, cancellable, NaN-checked). */
function gradientAt(context: MethodContext, point: Float64Array, stage: string): Promise<{ grad: Float32Array; value: number }> {
  return context.evaluator.gradientAt(Float32Array.from(point), stage);
}

/**
 * The moving point of Guided IG and its float64 bookkeeping: x starts at the baseline and is moved,
 * step by step, towards the input; `attr` collects Σ (x_new − x_old) · ∇F(x_old) per feature.
 */
class GuidedPath {
  readonly size: number;
  readonly input: Float64Array;
  readonly base: Float64Array;
  readonly diff: Float64Array;
  readonly l1Total: number;
  readonly x: Float64Array;
  readonly attr: Float64Array;
  private readonly xOld: Float64Array;
  private readonly xMin: Float64Array;
  private readonly xMax: Float64Array;
  private readonly g: Float64Array;
  private readonly absG: Float64Array;
  private readonly scratch: Float64Array;
  private readonly selected: Uint8Array;
  /** Features that differ from the baseline, and their progress (for the trace's percentile band). */
  private readonly varying: number[] = [];
  private readonly progressOf: Float64Array;

  constructor(input: ArrayLike<number>, baseline: ArrayLike<number>) {
    const size = (this.size = input.length);
    this.input = Float64Array.from(input);
    this.base = Float64Array.from(baseline);
    this.diff = new Float64Array(size);
    let l1Total = 0;
    for (let i = 0; i < size; i++) {
      this.diff[i] = this.input[i]! - this.base[i]!;
      l1Total += Math.abs(this.diff[i]!);
      if (this.diff[i] !== 0) this.varying.push(i);
    }
    this.l1Total = l1Total;
    this.x = Float64Array.from(this.base);
    this.attr = new Float64Array(size);
    this.xOld = new Float64Array(size);
    this.xMin = new Float64Array(size);
    this.xMax = new Float64Array(size);
    this.g = new Float64Array(size);
    this.absG = new Float64Array(size);
    this.scratch = new Float64Array(size);
    this.selected = new Uint8Array(size);
    this.progressOf = new Float64Array(this.varying.length);
  }

  /**
   * One step (α = (step+1)/steps): rounds that move the `fraction` of features with the smallest
   * |gradient| to their bound α + maxDist until the L1 distance to the input reaches its target.
   * Returns the step's Σ attribution.
   */
  advance(grad: Float32Array, step: number, steps: number, maxDist: number, fraction: number): number {
    const { size, x, xOld, input } = this;
    this.g.set(grad);
    const alpha = (step + 1) / steps;
    const alphaMin = Math.max(alpha - maxDist, 0);
    this.setBounds(alphaMin, Math.min(alpha + maxDist, 1));
    const l1Target = this.l1Total * (1 - (step + 1) / steps);
    let stepSum = 0;
    let gamma = Infinity;
    for (let round = 0; gamma > 1; round++) {
      if (round >= MAX_ROUNDS_PER_STEP) throw new PathLensError('internal', `Guided IG did not reach its L1 target at step ${step + 1}`);
      xOld.set(x);
      this.catchUp(alphaMin);
      let l1Current = 0;
      for (let i = 0; i < size; i++) l1Current += Math.abs(x[i]! - input[i]!);
      if (Math.abs(l1Target - l1Current) <= Math.max(EPSILON * Math.max(Math.abs(l1Target), Math.abs(l1Current)), EPSILON)) {
        stepSum = this.accumulate(grad, stepSum);
        break;
      }
      const l1S = this.selectSlowest(fraction);
      gamma = l1S > 0 ? (l1Current - l1Target) / l1S : Infinity;
      this.moveSelected(gamma);
      stepSum = this.accumulate(grad, stepSum);
      // Nothing left to move (every feature at x_max) yet the target was missed by rounding: the
      // reference would spin here; the step is as complete as it can be.
      if (l1S === 0) break;
    }
    return stepSum;
  }

  private setBounds(alphaMin: number, alphaMax: number): void {
    const { base, diff, xMin, xMax } = this;
    for (let i = 0; i < this.size; i++) {
      xMin[i] = base[i]! + diff[i]! * alphaMin;
      xMax[i] = base[i]! + diff[i]! * alphaMax;
    }
  }

  /** Features that fell behind α_min jump to x_min (constant features count as α_max: never behind). */
  private catchUp(alphaMin: number): void {
    const { x, base, diff, xMin } = this;
    for (let i = 0; i < this.size; i++) {
      if (diff[i] === 0) continue;
      if ((x[i]! - base[i]!) / diff[i]! < alphaMin) x[i] = xMin[i]!;
    }
  }

  /** Marks the `fraction` of features with the smallest |gradient| (not yet at x_max); returns their L1 distance to x_max. */
  private selectSlowest(fraction: number): number {
    const { x, g, absG, xMax, selected } = this;
    // Features at x_max are done for this step: excluded from the selection by an infinite gradient.
    for (let i = 0; i < this.size; i++) {
      if (x[i] === xMax[i]) g[i] = Infinity;
      absG[i] = Math.abs(g[i]!);
    }
    const threshold = lowerQuantile(absG, fraction, this.scratch);
    let l1S = 0;
    for (let i = 0; i < this.size; i++) {
      const s = absG[i]! <= threshold && g[i] !== Infinity;
      selected[i] = s ? 1 : 0;
      if (s) l1S += Math.abs(x[i]! - xMax[i]!);
    }
    return l1S;
  }

  /** The selected features move to x_max (γ > 1) or the fraction γ of the way there. */
  private moveSelected(gamma: number): void {
    const { x, xMax, selected } = this;
    if (gamma > 1) {
      for (let i = 0; i < this.size; i++) if (selected[i]) x[i] = xMax[i]!;
    } else {
      for (let i = 0; i < this.size; i++) if (selected[i]) x[i] = x[i]! + (xMax[i]! - x[i]!) * gamma;
    }
  }

  /** Adds (x − x_old) · ∇F(x_old) to the attribution; returns `sum` plus these terms (added in order, as the reference does). */
  private accumulate(grad: Float32Array, sum: number): number {
    const { x, xOld, attr } = this;
    for (let i = 0; i < this.size; i++) {
      const d = (x[i]! - xOld[i]!) * grad[i]!;
      sum += d;
      attr[i]! += d;
    }
    return sum;
  }

  /** Share of the baseline-to-input L1 distance covered so far. */
  l1Covered(): number {
    let l1 = 0;
    for (let i = 0; i < this.size; i++) l1 += Math.abs(this.x[i]! - this.input[i]!);
    return 1 - l1 / this.l1Total;
  }

  /** 10th, 50th and 90th percentile of the varying features' progress α_i. */
  progressPercentiles(): number[] {
    const { x, base, diff, varying, progressOf } = this;
    for (let j = 0; j < varying.length; j++) {
      const i = varying[j]!;
      progressOf[j] = (x[i]! - base[i]!) / diff[i]!;
    }
    return percentiles(progressOf, [10, 50, 90]);
  }
}

interface GuidedTrace {
  alpha: number[];
  value: number[];
  gradNorm: number[];
  cumulativeSum: number[];
  l1Covered: number[];
  p10: number[];
  p50: number[];
  p90: number[];
}

/**
 * Guided Integrated Gradients (Kapishnikov et al. CVPR 2021) with the semantics of PAIR-code/saliency's
 * `guided_ig.py`: at each step, move the features with the smallest |gradient| (a `fraction` of them)
 * towards the input, within `max_dist` of the straight path, until the L1 distance to the input has
 * shrunk by 1/steps. The path adapts to the gradients, so steps run one after another (one gradient
 * each). All path bookkeeping is float64 on the CPU. Complete up to discretisation.
 */
export const guidedIg: AttributionMethod = {
  name: 'guided-ig',
  mapError: { parameter: 'steps', factor: 1, basis: 'Guided IG steps' },
  title: 'Guided Integrated Gradients',
  description: 'IG along an adaptive path that first moves the features with the smallest gradients; fewer off-object artefacts.',
  complete: true,
  parameters: [
    {
      name: 'steps',
      label: 'Steps',
      description: 'Path steps (one gradient each, sequential).',
      type: 'integer',
      default: GUIDED_IG_DEFAULTS.steps,
      min: 1,
      max: 4096,
    },
    {
      name: 'fraction',
      label: 'Fraction',
      description: 'Share of features (smallest |gradient|) moved per round; ties move more.',
      type: 'number',
      default: GUIDED_IG_DEFAULTS.fraction,
      min: 0,
      minExclusive: true,
      max: 1,
    },
    {
      name: 'maxDist',
      label: 'Max distance',
      description: 'How far (in α) a feature may run ahead of the straight path: 0 = IG (left Riemann), 1 = unbounded.',
      type: 'number',
      default: GUIDED_IG_DEFAULTS.maxDist,
      min: 0,
      max: 1,
    },
    baselineParameter(GUIDED_IG_DEFAULTS.baseline),
    idgiParameter(),
  ],
  validate(options) {
    parse(options);
  },
  async run(context, options) {
    const started = performance.now();
    const evaluationsBefore = context.evaluator.evaluations;
    const { steps, fraction, maxDist, idgi } = parse(options);
    const baseline = await context.baseline(options.baseline ?? GUIDED_IG_DEFAULTS.baseline);
    const expected = context.inputValue - baseline.value;
    const path = new GuidedPath(context.input.data, baseline.data);
    const params = { steps, fraction, maxDist, baseline: baseline.name, idgi };
    const trace: GuidedTrace = { alpha: [], value: [], gradNorm: [], cumulativeSum: [], l1Covered: [], p10: [], p50: [], p90: [] };
    const result = (data: Float64Array) => {
      const attribution = Float32Array.from(data);
      return {
        method: 'guided-ig',
        params,
        attribution: { shape: context.input.shape, data: attribution },
        completeness: completeness(attribution, expected),
        path: {
          alpha: trace.alpha,
          value: trace.value,
          gradNorm: trace.gradNorm,
          cumulativeSum: trace.cumulativeSum,
          expected,
          extra: { l1Covered: trace.l1Covered, progressP10: trace.p10, progressP50: trace.p50, progressP90: trace.p90 },
        },
        timing: { ms: elapsed(started), evaluations: context.evaluator.evaluations - evaluationsBefore },
      };
    };
    // Input equal to the baseline: zero attribution (as the reference), no evaluation.
    if (path.l1Total === 0) return result(path.attr);

    const accumulator = idgi ? new IdgiAccumulator(path.size) : null;
    const pointValues: number[] = [];
    const stage = idgi ? 'Guided IG (IDGI)' : 'Guided IG';
    let cumulative = 0;
    for (let step = 0; step < steps; step++) {
      const { grad, value } = await gradientAt(context, path.x, stage);
      pointValues.push(value);
      accumulator?.pushLeft(grad, value);
      let norm2 = 0;
      for (let i = 0; i < grad.length; i++) norm2 += grad[i]! * grad[i]!;
      cumulative += path.advance(grad, step, steps, maxDist, fraction);
      // Trace: the state after this step (α = (t+1)/T); F there is the next step's value (F(x) at the end).
      const [p10, p50, p90] = path.progressPercentiles();
      trace.alpha.push((step + 1) / steps);
      trace.gradNorm.push(Math.sqrt(norm2));
      trace.cumulativeSum.push(cumulative);
      trace.l1Covered.push(path.l1Covered());
      trace.p10.push(p10!);
      trace.p50.push(p50!);
      trace.p90.push(p90!);
    }
    for (let t = 0; t < steps; t++) trace.value.push(t + 1 < steps ? pointValues[t + 1]! : context.inputValue);
    if (accumulator) {
      const data = accumulator.finish(context.inputValue);
      trace.cumulativeSum = accumulator.cumulative();
      return result(data);
    }
    return result(path.attr);
  },
};
