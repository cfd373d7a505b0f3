/**
 * Perturbation curves of one explained input (../shared/EVALUATION.md §5): every method's map is
 * ranked, the perturbed copies of each metric are evaluated as batches of forward passes for the
 * input's fixed target, and the curves are scored. A seeded random ranking runs beside the methods.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Evaluator } from '../engine/evaluator';
import type { LoadedModel } from '../model/load';
import { createRng } from '../random';
import type { CancellationSignal, InputResult, MethodResult, OutputKind, PreparedInput, Preprocessing, ProgressCallback } from '../types';
import { displayOfImage } from '../input/preprocess';
import {
  featureLayout,
  featureScores,
  metricCurve,
  metricOrder,
  perturbedCopies,
  perturbedCopyAt,
  randomRanking,
  rankFeatures,
  stepCounts,
  type FeatureLayout,
} from './metrics';
import { RANDOM_METHOD, type EvaluatedInput, type EvaluatedMethod, type MetricCurve, type MetricName } from '../../shared/evaluate';
import type { PerturbedStep } from '../../shared/protocol';

export type { EvaluatedInput };

export interface EvaluateSettings {
  metrics: MetricName[];
  evalSteps: number;
  patch: number | null;
  seed: number;
}

export interface CurveHooks {
  signal?: CancellationSignal;
  onProgress?: ProgressCallback;
  memoryBudgetMB?: number;
}

/** The random reference ranking of input `index`: seeded by run seed and input position, so shards agree. */
export function referenceRanking(count: number, seed: number, index: number): Int32Array {
  return randomRanking(count, createRng(`${seed}:random:${index}`));
}

/** What the curves need of an explained input: its prediction, fixed target and every method's map. */
export type ExplainedMaps = Pick<InputResult, 'path' | 'prediction' | 'target'> & {
  results: Pick<MethodResult, 'method' | 'params' | 'attribution'>[];
};

/** Curves of every method (and the random reference) for one input whose maps `explained` holds. */
export async function evaluateExplained(
  model: LoadedModel,
  input: PreparedInput,
  explained: ExplainedMaps,
  baseline: Float32Array,
  settings: EvaluateSettings & { index: number; output: OutputKind },
  hooks: CurveHooks = {},
): Promise<Omit<EvaluatedInput, 'timing'> & { evaluations: number }> {
  const layout = featureLayout(model.inputShape, settings.patch);
  const evaluator = new Evaluator(
    { model, target: explained.target.index, output: settings.output },
    { memoryBudgetMB: hooks.memoryBudgetMB, signal: hooks.signal, onProgress: hooks.onProgress },
  );
  const rankings = explained.results.map((r) => ({
    method: r.method,
    params: r.params,
    ranking: rankFeatures(featureScores(r.attribution.data, layout)),
  }));
  rankings.push({
    method: RANDOM_METHOD,
    params: { seed: settings.seed },
    ranking: referenceRanking(layout.count, settings.seed, settings.index),
  });
  const results: EvaluatedMethod[] = [];
  for (const [done, { method, params, ranking }] of rankings.entries()) {
    hooks.onProgress?.({ stage: `curves ${method}`, done, total: rankings.length });
    results.push({ method, params, metrics: await methodCurves(evaluator, input.data, baseline, layout, ranking, settings) });
  }
  const { prediction, target, path } = explained;
  return { index: settings.index, path, prediction, target, features: layout.count, results, evaluations: evaluator.evaluations };
}

async function methodCurves(
  evaluator: Evaluator,
  input: Float32Array,
  baseline: Float32Array,
  layout: FeatureLayout,
  ranking: Int32Array,
  settings: EvaluateSettings,
): Promise<Partial<Record<MetricName, MetricCurve>>> {
  const size = input.length;
  const shape = evaluator.inputShape;
  const out: Partial<Record<MetricName, MetricCurve>> = {};
  const valuesOf = new Map<string, number[]>();
  for (const metric of settings.metrics) {
    // MoRF perturbs exactly like deletion: one set of forward passes serves both.
    const key = metric === 'morf' ? 'deletion' : metric;
    let values = valuesOf.get(key);
    if (!values) {
      const copies = perturbedCopies(metric, input, baseline, layout, ranking, settings.evalSteps);
      const batch = await evaluator.values(
        settings.evalSteps + 1,
        (start, n) => tf.tensor(copies.subarray(start * size, (start + n) * size), [n, ...shape]),
        `${metric} curve`,
      );
      values = Array.from(batch);
      valuesOf.set(key, values);
    }
    out[metric] = metricCurve(metric, values);
  }
  return out;
}

/**
 * The perturbed copy x^(k) that curve point k of `metric` fed to the model, for one map (null: the
 * input's random reference ranking), shown as an image when the input is one.
 */
export function perturbedStep(
  input: PreparedInput,
  baseline: Float32Array,
  attribution: ArrayLike<number> | null,
  settings: EvaluateSettings & { index: number; metric: MetricName; step: number },
  preprocessing: Preprocessing | null,
): PerturbedStep {
  const { metric, evalSteps, step } = settings;
  if (!Number.isInteger(step) || step < 0 || step > evalSteps) throw new RangeError(`step ${step} is outside 0…${evalSteps}`);
  const layout = featureLayout(input.shape, settings.patch);
  if (attribution !== null && attribution.length !== input.data.length)
    throw new RangeError(`the map has ${attribution.length} values but the input has ${input.data.length}`);
  const ranking =
    attribution === null ? referenceRanking(layout.count, settings.seed, settings.index) : rankFeatures(featureScores(attribution, layout));
  const copy = perturbedCopyAt(metric, input.data, baseline, layout, ranking, evalSteps, step);
  const changed = stepCounts(layout.count, evalSteps)[step]!;
  const out: PerturbedStep = { index: settings.index, metric, step, fraction: step / evalSteps, changed, features: layout.count };
  if (input.kind === 'image' && preprocessing && input.shape.length === 3)
    return { ...out, display: displayOfImage(copy, input.shape, preprocessing) };
  const mask = new Uint8Array(copy.length);
  const order = metricOrder(metric, ranking);
  for (let i = 0; i < changed; i++) for (const o of layout.members[order[i]!]!) mask[o] = 1;
  return { ...out, values: copy, changedMask: mask };
}
