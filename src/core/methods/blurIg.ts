import { parameterProblem } from '../../shared/methods';
import * as tf from '@tensorflow/tfjs-core';
import { completeness } from '../attribution/completeness';
import { idgiParameter, elapsed, requirePositiveInteger, type AttributionMethod, type MethodOptions } from '../attribution/method';
import { PathLensError } from '../errors';
import { gaussianKernel1d } from '../input/blur';
import { IdgiAccumulator } from '../path/idgi';

export const BLUR_IG_DEFAULTS = { steps: 100, maxSigma: 50, gradStep: 0.01 };

function positive(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new PathLensError('usage', `${name} must be a number > 0 (got ${String(value)})`);
  return value;
}

/** A value checked against this method's own parameter spec (the spec is the truth for its range). */
function inSpec(name: string, value: unknown): number {
  const problem = parameterProblem(
    blurIg.parameters.find((p) => p.name === name)!,
    value,
  );
  if (problem !== undefined) throw new PathLensError('usage', problem);
  return value as number;
}

function parse(options: MethodOptions) {
  return {
    steps: requirePositiveInteger(options.steps ?? BLUR_IG_DEFAULTS.steps, 'steps'),
    maxSigma: inSpec('maxSigma', options.maxSigma ?? BLUR_IG_DEFAULTS.maxSigma),
    gradStep: positive(options.gradStep ?? BLUR_IG_DEFAULTS.gradStep, 'grad-step'),
    idgi: options.idgi === true,
  };
}

/**
 * Banded n×n matrix B with (B·v)[y] = Σ_k w[k]·v[y+k] over the truncated kernel and zero padding: the
 * 1-D pass of `gaussianBlur` (src/core/input/blur.ts) as a matrix, so a batch of blurs with different
 * σ is one batched matMul per axis.
 */
function blurMatrix(n: number, sigma: number, out: Float32Array, offset: number): void {
  const kernel = gaussianKernel1d(sigma);
  const r = (kernel.length - 1) / 2;
  for (let y = 0; y < n; y++) {
    const lo = Math.max(-r, -y);
    const hi = Math.min(r, n - 1 - y);
    for (let k = lo; k <= hi; k++) out[offset + y * n + y + k] = kernel[k + r]!;
  }
}

/**
 * `image` [H, W, C] blurred with one σ per output: [σs.length, H, W, C]. Same convention as
 * `gaussianBlur`: separable, per channel, zero padding, kernel truncated at 4σ and normalised.
 */
export function blurBatch(image: tf.Tensor3D, sigmas: number[]): tf.Tensor4D {
  const [h, w, c] = image.shape;
  const n = sigmas.length;
  const rows = new Float32Array(n * h * h);
  const cols = new Float32Array(n * w * w);
  sigmas.forEach((s, i) => {
    blurMatrix(h, s, rows, i * h * h);
    blurMatrix(w, s, cols, i * w * w);
  });
  return tf.tidy(() => {
    // Along H: [n·H, H] × [H, W·C].
    const alongH = tf.matMul(tf.tensor2d(rows, [n * h, h]), tf.reshape(image, [h, w * c]));
    // Along W: [n, W, W] × [n, W, H·C] after moving W to the front.
    const moved = tf.reshape(tf.transpose(tf.reshape(alongH, [n, h, w, c]), [0, 2, 1, 3]), [n, w, h * c]);
    const alongW = tf.matMul(tf.tensor3d(cols, [n, w, w]), moved);
    return tf.transpose(tf.reshape(alongW, [n, w, h, c]), [0, 2, 1, 3]) as tf.Tensor4D;
  });
}

/**
 * Blur IG (Xu et al. CVPR 2020; PAIR-code/saliency `blur_ig.py`): integrate along the path from the
 * input to its blur at `max_sigma`, σ_i = i·max_sigma/steps. Attribution
 * −Σ_i (σ_{i+1} − σ_i)·∂blur/∂σ(σ_i) ⊙ ∇F(blur(x, σ_i)), with ∂blur/∂σ by a forward difference of
 * `grad_step`. Path points are batched in evaluator chunks. Complete against the blurred baseline:
 * Σ attr ≈ F(x) − F(blur(x, max_sigma)). Images only.
 */
export const blurIg: AttributionMethod = {
  name: 'blur-ig',
  mapError: { parameter: 'steps', factor: 1, basis: 'Blur IG σ steps' },
  title: 'Blur IG',
  description: 'IG along a path of ever stronger Gaussian blur (no baseline choice); Σ attribution ≈ F(x) − F(blurred x).',
  complete: true,
  parameters: [
    {
      name: 'steps',
      label: 'Steps',
      description: 'Path points between σ = 0 and max σ (gradient evaluations).',
      type: 'integer',
      default: BLUR_IG_DEFAULTS.steps,
      min: 1,
      max: 4096,
    },
    {
      name: 'maxSigma',
      label: 'Max σ',
      description: 'Blur (pixels) at the far end of the path: the implicit baseline.',
      type: 'number',
      default: BLUR_IG_DEFAULTS.maxSigma,
      min: 0.1,
      max: 500,
    },
    {
      name: 'gradStep',
      label: 'Gradient step',
      description: 'σ step of the forward difference for ∂blur/∂σ.',
      type: 'number',
      default: BLUR_IG_DEFAULTS.gradStep,
      min: 1e-4,
      max: 1,
    },
    idgiParameter(),
  ],
  validate(options) {
    parse(options);
  },
  async run(context, options) {
    const started = performance.now();
    const evaluationsBefore = context.evaluator.evaluations;
    const { steps, maxSigma, gradStep, idgi } = parse(options);
    const shape = context.evaluator.inputShape;
    if (shape.length !== 3) {
      throw new PathLensError(
        'usage',
        `Blur IG needs an image input [height, width, channels]; this model's input is [${shape.join(', ')}]. Use ig or guided-ig instead`,
      );
    }
    const size = context.input.data.length;
    const sigmas = Array.from({ length: steps + 1 }, (_, i) => (i * maxSigma) / steps);
    const image = tf.tensor3d(context.input.data, shape as [number, number, number]);
    const attr = new Float64Array(size);
    const directional = new Array<number>(steps);
    const values = new Array<number>(steps);
    const gradNorm = new Array<number>(steps);
    const accumulator = idgi ? new IdgiAccumulator(size) : null;
    const stage = idgi ? 'Blur IG (IDGI)' : 'Blur IG';
    let blurredValue: number;
    try {
      // F at the far end of the path: the implicit baseline.
      blurredValue = (await context.evaluator.values(1, () => blurBatch(image, [maxSigma]), 'F(blurred input)'))[0]!;
      const dSigma = sigmas.slice(1).map((s, j) => s - sigmas[j]!);
      await context.evaluator.evaluatePoints(
        {
          count: steps,
          build: (start, count) => tf.tidy(() => blurBatch(image, sigmas.slice(start, start + count)).dataSync() as Float32Array),
          // ∂γ/∂σ by a forward difference; the path runs from x to the blurred image, so attribution
          // integrates it backwards (weights −dσ).
          multipliers: (start, count, points) =>
            tf.tidy(() => {
              const ahead = blurBatch(
                image,
                sigmas.slice(start, start + count).map((s) => s + gradStep),
              );
              return tf.div(tf.sub(ahead, tf.tensor(points, ahead.shape)), gradStep).dataSync() as Float32Array;
            }),
          weights: dSigma.map((d) => -d),
          totals: true,
          keepGradients: accumulator !== null,
        },
        (start, { value, gradNorm: norms, weightedSum, totals, gradients }) => {
          for (let i = 0; i < size; i++) attr[i]! += weightedSum![i]!;
          for (let j = 0; j < value.length; j++) {
            directional[start + j] = -dSigma[start + j]! * totals![j]!;
            values[start + j] = value[j]!;
            gradNorm[start + j] = norms[j]!;
            // IDGI walks the path backwards from the blurred end to x: F changes by f_i − f_{i+1}.
            accumulator?.pushLeft(gradients!.subarray(j * size, (j + 1) * size), -value[j]!);
          }
        },
        stage,
      );
    } finally {
      image.dispose();
    }
    const expected = context.inputValue - blurredValue;
    let data: Float64Array = attr;
    let cumulativeSum: number[];
    if (accumulator) {
      data = accumulator.finish(-blurredValue);
      cumulativeSum = accumulator.cumulative();
    } else {
      let running = 0;
      cumulativeSum = directional.map((d) => (running += d));
    }
    const attribution = Float32Array.from(data);
    return {
      method: 'blur-ig',
      params: { steps, maxSigma, gradStep, baseline: `blur σ=${maxSigma}`, idgi },
      attribution: { shape: context.input.shape, data: attribution },
      completeness: completeness(attribution, expected),
      path: { alpha: sigmas.slice(0, steps), value: values, gradNorm, cumulativeSum, expected, extra: { blurredValue: [blurredValue] } },
      timing: { ms: elapsed(started), evaluations: context.evaluator.evaluations - evaluationsBefore },
    };
  },
};
