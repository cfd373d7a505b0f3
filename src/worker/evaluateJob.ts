/**
 * The evaluate job as the worker runs it: the explain job's model, inputs and hooks, then per input of
 * this shard that is not done yet: every method's map (exactly as `explain` computes it), then its
 * perturbation curves. One `evaluate-input` event per input lets the caller cache and resume.
 */
import { currentBackend } from '../core/engine/backend';
import { explainInputs } from '../core/explain';
import { featureLayout } from '../core/evaluate/metrics';
import { inShard, summaryOf } from '../core/evaluate/result';
import { evaluateExplained, perturbedStep } from '../core/evaluate/run';
import { loadInputs, makeBaseline } from '../core/input';
import { defaultCropFor } from '../core/model/sidecars';
import { PathLensError } from '../shared/errors';
import { CancelledError, describeError } from '../shared/errors';
import type { EvaluatedInput } from '../shared/evaluate';
import type { BaselineSpec, CancellationSignal, InputResult, PreparedInput } from '../shared/types';
import type { EvaluateJob, EvaluateMaps, EvaluatePlan, EvaluateStepJob, PerturbedStep, WorkerEvent } from '../shared/protocol';
import type { ExplainHooks } from '../core/explain';
import { ModelCache, parseBaseline, prepareExplain, preprocessingFor, PROGRESS_INTERVAL_MS, throttle, type PreparedExplain } from './jobs';

export async function runEvaluateJob(
  jobId: number,
  job: EvaluateJob,
  cache: ModelCache,
  signal: CancellationSignal,
  emit: (event: WorkerEvent) => void,
  remotesFor?: ExplainHooks['remotesFor'],
): Promise<EvaluatePlan> {
  const prepared = await prepareExplain(job, cache);
  try {
    const { model, preprocessing, inputs } = prepared;
    // --patch on a table or sequence is refused before any work (and before anything is written).
    if (job.patch !== null) wrapUsage(() => featureLayout(model.inputShape, job.patch));
    const done = new Set(job.done);
    const given = job.maps ? givenMaps(job.maps, inputs) : null;
    const shardPositions = inputs.map((_, j) => j).filter((j) => inShard(j, job.shard) && (!given || given.has(j)));
    const todo = shardPositions.filter((j) => !done.has(j));
    const plan: EvaluatePlan = {
      model: model.summary,
      backend: currentBackend(),
      preprocessing,
      inputs: inputs.length,
      inShard: shardPositions.length,
      todo: todo.length,
    };
    emit({ kind: 'evaluate-plan', jobId, plan });
    const onProgress = throttle(PROGRESS_INTERVAL_MS, (progress) => emit({ kind: 'progress', jobId, progress }));
    const evaluated: EvaluatedInput[] = [];
    for (const [done, index] of todo.entries()) {
      if (signal.cancelled) throw new CancelledError();
      emit({ kind: 'progress', jobId, progress: { stage: 'inputs', done, total: todo.length } });
      const input = await evaluateOne(prepared, job, index, inputs[index]!, { signal, onProgress, remotesFor }, given?.get(index));
      evaluated.push(input);
      emit({ kind: 'evaluate-input', jobId, input });
    }
    emit({ kind: 'progress', jobId, progress: { stage: 'inputs', done: todo.length, total: todo.length } });
    const summary = summaryOf({ methods: job.methods, metrics: job.metrics, bootstrap: job.bootstrap ?? 1000, seed: job.seed }, evaluated);
    return { ...plan, summary };
  } finally {
    prepared.dispose();
  }
}

/** The given maps by input position, each checked against the input the job loaded there. */
function givenMaps(maps: EvaluateMaps[], inputs: PreparedInput[]): Map<number, EvaluateMaps> {
  const byIndex = new Map<number, EvaluateMaps>();
  for (const entry of maps) {
    const input = inputs[entry.index];
    if (!input || input.path !== entry.path)
      throw new PathLensError(
        'evaluate',
        `the maps of ${entry.path} do not belong to input ${entry.index + 1} of this job (the inputs changed)`,
      );
    for (const r of entry.results)
      if (r.attribution.data.length !== input.data.length)
        throw new PathLensError(
          'evaluate',
          `the ${r.method} map of ${entry.path} has ${r.attribution.data.length} values, the input ${input.data.length}`,
        );
    byIndex.set(entry.index, entry);
  }
  return byIndex;
}

function wrapUsage<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw new PathLensError('usage', (err as Error).message);
  }
}

async function evaluateOne(
  prepared: PreparedExplain,
  job: EvaluateJob,
  index: number,
  input: PreparedInput,
  hooks: Pick<ExplainHooks, 'signal' | 'onProgress' | 'remotesFor'>,
  given?: EvaluateMaps,
): Promise<EvaluatedInput> {
  const started = performance.now();
  // Given maps are scored as they are; otherwise each map is computed exactly as `explain` does.
  const [explained] = given ? [given] : await explainInputs(prepared.model, [input], prepared.request, { ...prepared.hooks, ...hooks });
  const evaluations = given ? 0 : (explained as InputResult).results.reduce((sum, r) => sum + r.timing.evaluations, 0);
  if ('error' in explained! && explained.error) return failed(index, explained, explained.error, started, evaluations);
  try {
    const spec: BaselineSpec = prepared.request.options.baseline ?? 'zero';
    const baseline = prepared.hooks.makeBaseline(spec, input).data;
    const curves = await evaluateExplained(
      prepared.model,
      input,
      explained!,
      baseline,
      { metrics: job.metrics, evalSteps: job.evalSteps, patch: job.patch, seed: job.seed, index, output: job.output },
      { signal: hooks.signal, onProgress: hooks.onProgress, memoryBudgetMB: job.memoryBudgetMB },
    );
    const { evaluations: curveEvaluations, ...entry } = curves;
    return { ...entry, timing: { ms: performance.now() - started, evaluations: evaluations + curveEvaluations } };
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    return failed(index, explained!, describeError(err).message, started, evaluations);
  }
}

function failed(
  index: number,
  explained: Pick<InputResult, 'path' | 'prediction' | 'target'>,
  error: string,
  started: number,
  evaluations: number,
): EvaluatedInput {
  const { path, prediction, target } = explained;
  return { index, path, prediction, target, features: 0, results: [], timing: { ms: performance.now() - started, evaluations }, error };
}

/** The perturbed copy behind one curve point: loads the input and baseline as the evaluate job did. */
export async function runEvaluateStepJob(job: EvaluateStepJob, cache: ModelCache, signal: CancellationSignal): Promise<PerturbedStep> {
  const model = await cache.get(job.modelPath, job.memoryBudgetMB);
  const preprocessing = preprocessingFor(model, job);
  const crop = defaultCropFor(job.modelPath);
  const inputs = await loadInputs(job.inputs, model, preprocessing, { maxRows: job.maxRows, crop });
  const input = inputs[job.index];
  if (!input) throw new PathLensError('input', `input ${job.index + 1} is no longer there (${inputs.length} inputs found now)`);
  if (signal.cancelled) throw new CancelledError();
  const spec: BaselineSpec = parseBaseline(job.baseline) ?? 'zero';
  const baseline = makeBaseline(spec, input, { preprocessing, seed: job.seed, imageOptions: { crop }, tensorLayout: model.tensorLayout });
  const settings = { metrics: [job.metric], evalSteps: job.evalSteps, patch: job.patch, seed: job.seed };
  return wrapUsage(() =>
    perturbedStep(input, baseline, job.attribution, { ...settings, index: job.index, metric: job.metric, step: job.step }, preprocessing),
  );
}
