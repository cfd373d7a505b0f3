/**
 * Perturbation curves of one explained input (../shared/EVALUATION.md §5): every method's map is
 * ranked, the perturbed copies of each metric are evaluated as batches of forward passes for the
 * input's fixed target, and the curves are scored. A seeded random ranking runs beside the methods.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Evaluator } from '../engine/evaluator';
import type { LoadedModel } from '../model/load';
import { createRng } from '../random';
import type { CancellationSignal, InputResult, OutputKind, PreparedInput, ProgressCallback } from '../types';
import { featureLayout, featureScores, metricCurve, perturbedCopies, randomRanking, rankFeatures, type FeatureLayout } from './metrics';
import { RANDOM_METHOD, type EvaluatedInput, type EvaluatedMethod, type MetricCurve, type MetricName } from '../../shared/evaluate';

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

/** Curves of every method (and the random reference) for one input whose maps `explained` holds. */
export async function evaluateExplained(
  model: LoadedModel,
  input: PreparedInput,
  explained: InputResult,
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
