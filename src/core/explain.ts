import * as tf from '@tensorflow/tfjs-core';
import { checkOptionLimits } from './safety';
import { createMethodContext, type MethodResources } from './attribution/context';
import { optionsFor, validateOptions, type MethodOptions } from './attribution/method';
import { Evaluator, type BatchPlan } from './engine/evaluator';
import type { ChunkOrder, RemoteEvaluator } from './engine/pointBatch';
import { InputOrder } from './attribution/inputOrder';
import { CancelledError, describeError, PathLensError } from './errors';
import { getMethod } from './methods';
import { withMapError } from './attribution/mapErrorByHalving';
import type { LoadedModel } from './model/load';
import type {
  CancellationSignal,
  InputResult,
  MethodResult,
  OutputKind,
  Prediction,
  PreparedInput,
  ProgressCallback,
  Target,
} from './types';

export interface ExplainRequest {
  methods: string[];
  /** 'top' = the top-1 prediction of each input. */
  target: 'top' | number;
  output: OutputKind;
  options: MethodOptions;
  memoryBudgetMB?: number;
}

export interface ExplainHooks extends MethodResources {
  signal?: CancellationSignal;
  onProgress?: ProgressCallback;
  /** Called as soon as one (input, method) result exists, for streaming UIs. */
  onResult?: (inputIndex: number, result: MethodResult) => void;
  /** Called once per input when its prediction and target are known (before any method runs). */
  onInput?: (inputIndex: number, input: Omit<InputResult, 'results'>) => void;
  /**
   * Pool workers that share gradient chunks for one explained scalar (none = this thread only).
   * `inputShape`: the per-example shape the chunks have (symbolic dims bound from the inputs);
   * `order`: the input's place in the pool's queue (earlier inputs first) and the job's signal.
   */
  remotesFor?: (target: number, output: OutputKind, inputShape: number[], order?: ChunkOrder) => RemoteEvaluator[];
  /**
   * Inputs computed at once (default 1), so pool threads compute one input's chunks while another
   * waits for its next round. Each input's evaluations, sums and events are those of a sequential run.
   */
  concurrentInputs?: number;
  /** Measured points per chunk for each executing thread (else sized from the memory budget). */
  batchPlan?: BatchPlan;
}

/** Rejects unknown methods and invalid options before any computation. */
export function validateRequest(request: ExplainRequest): void {
  if (request.methods.length === 0) throw new PathLensError('usage', 'no method given');
  checkOptionLimits(request.options as Record<string, unknown>);
  for (const name of request.methods) validateOptions(getMethod(name), optionsFor(request.options, name));
}

export function predictionOf(model: LoadedModel, input: PreparedInput, topK = 5): Prediction {
  const probabilities = tf.tidy(() => model.predict(tf.tensor(input.data, [1, ...model.inputShape])).dataSync());
  for (const p of probabilities) {
    if (!Number.isFinite(p))
      throw new PathLensError('non-finite', `the model outputs ${p} for ${input.path}; check the preprocessing and the model`);
  }
  const order = Array.from(probabilities.keys()).sort((a, b) => probabilities[b]! - probabilities[a]!);
  const labels = model.summary.labels;
  const entry = (index: number) => ({ index, score: probabilities[index]!, ...(labels ? { label: labels[index] } : {}) });
  return { ...entry(order[0]!), top: order.slice(0, topK).map(entry) };
}

/** The class to explain: the top-1 prediction for 'top', else the given index, checked against the model's classes. */
export function resolveTarget(model: LoadedModel, prediction: Prediction, requested: 'top' | number): number {
  const target = requested === 'top' ? prediction.index : requested;
  if (!Number.isInteger(target) || target < 0 || target >= model.numClasses) {
    throw new PathLensError(
      'target',
      `target class ${target} is out of range: the model has ${model.numClasses} classes (0–${model.numClasses - 1})`,
    );
  }
  return target;
}

/**
 * Explains every input with every requested method, up to `hooks.concurrentInputs` at once; results
 * and events come in input order. Per-input failures are recorded on that input (others still run);
 * cancellation stops everything.
 */
export async function explainInputs(
  model: LoadedModel,
  inputs: PreparedInput[],
  request: ExplainRequest,
  hooks: ExplainHooks,
): Promise<InputResult[]> {
  validateRequest(request);
  const results: InputResult[] = [];
  const order = new InputOrder<Omit<InputResult, 'results'>>(hooks);
  let next = 0;
  let cancelled = false;
  // Each lane takes the next input when its previous one is done.
  const lane = async () => {
    while (next < inputs.length && !cancelled) {
      const inputIndex = next++;
      if (hooks.signal?.cancelled) throw new CancelledError();
      results[inputIndex] = await explainRecorded(model, inputIndex, inputs[inputIndex]!, request, {
        ...hooks,
        ...order.eventsOf(inputIndex),
      });
      order.finish(inputIndex);
    }
  };
  const lanes = Math.max(1, Math.min(hooks.concurrentInputs ?? 1, inputs.length));
  // Every lane ends before the job does (none keeps computing after a cancellation is reported).
  const settled = await Promise.allSettled(
    Array.from({ length: lanes }, () =>
      lane().catch((err: unknown) => {
        cancelled = true;
        throw err;
      }),
    ),
  );
  const failure = settled.find((s) => s.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}

/** One input's result, or its error recorded on it (a cancellation is thrown). */
async function explainRecorded(
  model: LoadedModel,
  inputIndex: number,
  input: PreparedInput,
  request: ExplainRequest,
  hooks: ExplainHooks,
): Promise<InputResult> {
  try {
    return await explainOne(model, inputIndex, input, request, hooks);
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    return {
      path: input.path,
      prediction: { index: -1, score: NaN, top: [] },
      target: { index: -1, output: request.output, score: NaN },
      results: [],
      error: describeError(err).message,
    };
  }
}

async function explainOne(
  model: LoadedModel,
  inputIndex: number,
  input: PreparedInput,
  request: ExplainRequest,
  hooks: ExplainHooks,
): Promise<InputResult> {
  const prediction = predictionOf(model, input);
  const targetIndex = resolveTarget(model, prediction, request.target);
  const evaluator = new Evaluator(
    { model, target: targetIndex, output: request.output },
    {
      memoryBudgetMB: request.memoryBudgetMB,
      signal: hooks.signal,
      onProgress: hooks.onProgress,
      remotes: hooks.remotesFor?.(targetIndex, request.output, model.inputShape, { priority: inputIndex, signal: hooks.signal }),
      plan: hooks.batchPlan,
    },
  );
  const context = await createMethodContext(evaluator, input, hooks);
  const labels = model.summary.labels;
  const target: Target = {
    index: targetIndex,
    output: request.output,
    score: context.inputValue,
    ...(labels ? { label: labels[targetIndex] } : {}),
  };
  hooks.onInput?.(inputIndex, { path: input.path, prediction, target });

  const results: MethodResult[] = [];
  for (const name of request.methods) {
    evaluator.checkCancelled();
    const method = getMethod(name);
    const options = optionsFor(request.options, name);
    const result = await withMapError(method, context, options, await method.run(context, options));
    results.push(result);
    hooks.onResult?.(inputIndex, result);
  }
  return { path: input.path, prediction, target, results };
}
