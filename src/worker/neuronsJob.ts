/**
 * The neurons job as the worker runs it: load the (cached) model and the one input, resolve target and
 * baseline, then split the model at the layer and attribute to its units.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createMethodContext } from '../core/attribution/context';
import { Evaluator } from '../core/engine/evaluator';
import { PathLensError } from '../core/errors';
import { predictionOf, resolveTarget } from '../core/explain';
import { loadInputs } from '../core/input';
import { defaultCropFor } from '../core/model/sidecars';
import { attributeLayer, NEURON_DEFAULTS, ravel, unitMap, type NeuronPath, type PathOptions } from '../core/neurons/analyze';
import { channelActivation, splitModel } from '../core/neurons/pathTensors';
import type { ExplainedScalar } from '../core/engine/scalar';
import type { CancellationSignal } from '../core/types';
import type { NeuronsResult, UnitView } from '../shared/neurons';
import type { NeuronsJob, WorkerEvent } from '../shared/protocol';
import { bindInputShape } from '../core/model/inputLayout';
import { jobResources, ModelCache, parseBaseline, preprocessingFor, PROGRESS_INTERVAL_MS, throttle } from './jobs';

export async function runNeuronsJob(
  jobId: number,
  job: NeuronsJob,
  cache: ModelCache,
  signal: CancellationSignal,
  emit: (event: WorkerEvent) => void,
): Promise<NeuronsResult> {
  const cached = await cache.get(job.modelPath);
  if (cached.onnx) {
    throw new PathLensError(
      'model-unsupported',
      `neurons needs a model's internal layers; ${path.basename(job.modelPath)} is an imported ONNX graph, which does not expose them yet (explain and sanity work on it)`,
    );
  }
  const preprocessing = preprocessingFor(cached, job);
  const crop = defaultCropFor(job.modelPath);
  const inputs = await loadInputs([job.input], cached, preprocessing, { maxRows: 1, crop });
  if (inputs.length !== 1)
    throw new PathLensError('usage', `neurons explains one input; ${job.input} holds ${inputs.length} (name one file)`);
  const model = bindInputShape(cached, inputs);
  const input = inputs[0]!;
  const prediction = predictionOf(model, input);
  const target = resolveTarget(model, prediction, job.target);
  const fn = { model, target, output: job.output };
  const evaluator = new Evaluator(fn, {
    memoryBudgetMB: job.memoryBudgetMB,
    signal,
    onProgress: throttle(PROGRESS_INTERVAL_MS, (progress) => emit({ kind: 'progress', jobId, progress })),
  });
  const context = await createMethodContext(evaluator, input, jobResources(job.modelPath, model, preprocessing, job.seed ?? 0));
  const baseline = await context.baseline(parseBaseline(job.baseline) ?? 'zero');
  const inputValue = context.inputValue;
  const neuronPath = { input: input.data, baseline, inputValue };
  const pathOptions = { steps: job.steps ?? NEURON_DEFAULTS.steps, rule: job.rule ?? NEURON_DEFAULTS.rule };
  const outcome = job.unit
    ? { unit: await unitView(fn, evaluator, neuronPath, job, job.unit, pathOptions, tf.tensor(input.data, [1, ...model.inputShape])) }
    : {
        result: await attributeLayer(fn, evaluator, neuronPath, {
          layer: job.layer,
          method: job.method,
          region: job.region,
          top: job.top ?? NEURON_DEFAULTS.top,
          ...pathOptions,
        }),
      };
  const labels = model.summary.labels;
  return {
    modelPath: path.resolve(job.modelPath),
    input: input.path,
    prediction,
    target: { index: target, output: job.output, score: inputValue, ...(labels ? { label: labels[target] } : {}) },
    ...outcome,
  };
}

/** One unit's input map (conductance or IG of h_k) and its channel's activation map. */
async function unitView(
  fn: ExplainedScalar,
  evaluator: Evaluator,
  path: NeuronPath,
  job: NeuronsJob,
  index: number[],
  pathOptions: PathOptions,
  input: tf.Tensor,
): Promise<UnitView> {
  const neuron = `${job.layer}:${index.join(',')}`;
  const map = await unitMap(fn, evaluator, path, { neuron, method: job.unitMethod ?? 'conductance', ...pathOptions }, fn.model.inputShape);
  const split = splitModel(fn, job.layer);
  const activation = channelActivation(split, input, ravel(index, split.layer.shape, neuron));
  input.dispose();
  return { layer: split.layer.name, index, map, activation };
}
