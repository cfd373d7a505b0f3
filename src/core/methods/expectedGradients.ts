import * as tf from '@tensorflow/tfjs-core';
import { completeness } from '../attribution/completeness';
import { elapsed, requirePositiveInteger, type AttributionMethod, type MethodContext, type MethodOptions } from '../attribution/method';
import { PathLensError } from '../errors';
import { createRng } from '../random';

export const EXPECTED_GRADIENTS_DEFAULTS = { samples: 64, seed: 0 };

function parse(options: MethodOptions) {
  const reference = options.reference;
  if (typeof reference !== 'string' || reference.trim() === '') {
    throw new PathLensError('usage', 'expected-gradients needs a reference set: --reference <folder of images | file.csv | file.json>');
  }
  const seed = options.seed ?? EXPECTED_GRADIENTS_DEFAULTS.seed;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new PathLensError('usage', `seed must be a number (got ${String(seed)})`);
  return { reference, samples: requirePositiveInteger(options.samples ?? EXPECTED_GRADIENTS_DEFAULTS.samples, 'samples'), seed };
}

/** Rejects an empty reference set or one whose items do not have the input's size (before any computation). */
export function checkReferenceSet(references: Float32Array[], size: number, path: string, shape?: number[]): void {
  if (references.length === 0) throw new PathLensError('usage', `the reference set ${path} is empty: it needs at least one example`);
  const bad = references.findIndex((r) => r.length !== size);
  if (bad >= 0) {
    throw new PathLensError(
      'input',
      `reference ${bad + 1} of ${path} has ${references[bad]!.length} values but the model input${shape ? ` [${shape.join(', ')}]` : ''} has ${size}`,
    );
  }
}

/**
 * The (reference index, α) of each sample. References are drawn in seeded shuffled passes over the
 * set (each used ⌊K/M⌋ or ⌈K/M⌉ times: an unbiased, lower-variance version of sampling with
 * replacement; with K a multiple of M the reference mean is exact); one α ~ U(0, 1) per sample.
 */
export function drawSamples(referenceCount: number, samples: number, seed: number): { reference: number[]; alpha: number[] } {
  const rng = createRng(seed);
  const reference: number[] = [];
  const alpha: number[] = [];
  const order = Array.from({ length: referenceCount }, (_, i) => i);
  while (reference.length < samples) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const r of order) {
      if (reference.length === samples) break;
      reference.push(r);
    }
  }
  for (let k = 0; k < samples; k++) alpha.push(rng.uniform());
  return { reference, alpha };
}

async function loadReferences(context: MethodContext, path: string): Promise<Float32Array[]> {
  if (!context.referenceSet) throw new PathLensError('usage', 'reference sets cannot be loaded here (no file access in this context)');
  const references = await context.referenceSet(path);
  checkReferenceSet(references, context.input.data.length, path, context.input.shape);
  return references;
}

/** mean_D F(x′) over the whole reference set: the expectation Σ EG estimates. */
async function meanValue(context: MethodContext, references: Float32Array[]): Promise<number> {
  const size = context.input.data.length;
  const values = await context.evaluator.values(
    references.length,
    (start, count) => {
      const batch = new Float32Array(count * size);
      for (let j = 0; j < count; j++) batch.set(references[start + j]!, j * size);
      return tf.tensor(batch, [count, ...context.evaluator.inputShape]);
    },
    'F(reference set)',
  );
  return values.reduce((a, b) => a + b, 0) / references.length;
}

/**
 * ∇F at x′_k + α_k (x − x′_k) for every draw k: Σ_k ∇F ⊙ (x − x′_k) per feature, and per sample F,
 * ‖∇F‖ and its term's sum.
 */
async function sampleGradients(context: MethodContext, references: Float32Array[], draws: { reference: number[]; alpha: number[] }) {
  const x = context.input.data;
  const size = x.length;
  const samples = draws.alpha.length;
  const differences = (start: number, count: number) => {
    const out = new Float32Array(count * size);
    for (let j = 0; j < count; j++) {
      const ref = references[draws.reference[start + j]!]!;
      for (let i = 0; i < size; i++) out[j * size + i] = x[i]! - ref[i]!;
    }
    return out;
  };
  const sum = new Float64Array(size);
  const value = new Array<number>(samples);
  const gradNorm = new Array<number>(samples);
  const perSample = new Array<number>(samples);
  await context.evaluator.evaluatePoints(
    {
      count: samples,
      build: (start, count) => {
        const diff = differences(start, count);
        const points = new Float32Array(count * size);
        for (let j = 0; j < count; j++) {
          const ref = references[draws.reference[start + j]!]!;
          const a = draws.alpha[start + j]!;
          for (let i = 0; i < size; i++) points[j * size + i] = ref[i]! + a * diff[j * size + i]!;
        }
        return points;
      },
      // The terms ∇F ⊙ (x − x′_k), summed over the samples and per sample.
      multipliers: (start, count) => differences(start, count),
      weights: new Array<number>(samples).fill(1),
      totals: true,
    },
    (start, chunk) => {
      for (let i = 0; i < size; i++) sum[i]! += chunk.weightedSum![i]!;
      for (let j = 0; j < chunk.value.length; j++) {
        value[start + j] = chunk.value[j]!;
        perSample[start + j] = chunk.totals![j]!;
        gradNorm[start + j] = chunk.gradNorm[j]!;
      }
    },
    'Expected Gradients',
  );
  return { sum, value, gradNorm, perSample };
}

/**
 * Expected Gradients (Erion et al. 2021): E_{x′~D, α~U(0,1)} [(x − x′) ⊙ ∇F(x′ + α(x − x′))] with
 * baselines x′ from a reference set D and K seeded samples, batched in evaluator chunks. Complete in
 * expectation: Σ EG ≈ F(x) − mean_D F(x′) (reported as the completeness target).
 */
export const expectedGradients: AttributionMethod = {
  name: 'expected-gradients',
  // Halves are independent draws: ‖A_m − A_m/2‖ ≈ √3 × the standard error of A_m.
  mapError: { parameter: 'samples', factor: 1 / Math.sqrt(3), basis: 'Monte-Carlo, independent half' },
  title: 'Expected Gradients',
  description: 'IG averaged over baselines drawn from a reference set, one random path point per sample; Σ ≈ F(x) − mean F(reference).',
  // Complete only in expectation: its completeness is reported, but a gap is sampling noise, not a flaw.
  complete: false,
  needs: { referenceSet: true },
  parameters: [
    {
      name: 'reference',
      label: 'Reference set',
      description: 'Folder of images, CSV or JSON array file the baselines are drawn from.',
      type: 'string',
      default: '',
    },
    {
      name: 'samples',
      label: 'Samples',
      description: 'Number of (baseline, α) samples K (gradient evaluations).',
      type: 'integer',
      default: EXPECTED_GRADIENTS_DEFAULTS.samples,
      min: 1,
      max: 4096,
    },
    {
      name: 'seed',
      label: 'Seed',
      description: 'Seed of the baseline and α draws.',
      type: 'integer',
      default: EXPECTED_GRADIENTS_DEFAULTS.seed,
    },
  ],
  validate(options) {
    parse(options);
  },
  async run(context, options) {
    const started = performance.now();
    const evaluationsBefore = context.evaluator.evaluations;
    const { reference, samples, seed } = parse(options);
    const references = await loadReferences(context, reference);
    const size = context.input.data.length;
    const draws = drawSamples(references.length, samples, seed);

    const meanReferenceValue = await meanValue(context, references);
    const { sum, value, gradNorm, perSample } = await sampleGradients(context, references, draws);
    const attribution = new Float32Array(size);
    for (let i = 0; i < size; i++) attribution[i] = sum[i]! / samples;
    const expected = context.inputValue - meanReferenceValue;
    let running = 0;
    return {
      method: 'expected-gradients',
      params: {
        reference,
        referenceSize: references.length,
        samples,
        seed,
        sampling: 'shuffled passes over the reference set, α ~ U(0,1)',
        meanReferenceValue,
      },
      attribution: { shape: context.input.shape, data: attribution },
      completeness: completeness(attribution, expected),
      path: {
        // One entry per sample (in draw order): its α, F at its point, and Σ attribution so far (/K).
        alpha: draws.alpha,
        value,
        gradNorm,
        cumulativeSum: perSample.map((d) => (running += d / samples)),
        expected,
        extra: { referenceIndex: draws.reference },
      },
      timing: { ms: elapsed(started), evaluations: context.evaluator.evaluations - evaluationsBefore },
    };
  },
};
