/**
 * The evaluate job as the worker runs it: the explain job's model, inputs and hooks, then per input of
 * this shard that is not done yet: every method's map (exactly as `explain` computes it), then its
 * perturbation curves. One `evaluate-input` event per input lets the caller cache and resume.
 */
import { currentBackend } from '../core/engine/backend';
import { explainInputs } from '../core/explain';
import { featureLayout } from '../core/evaluate/metrics';
import { inShard, summaryOf } from '../core/evaluate/result';
import { evaluateExplained } from '../core/evaluate/run';
import { PathLensError } from '../shared/errors';
import { CancelledError, describeError } from '../shared/errors';
import type { EvaluatedInput } from '../shared/evaluate';
import type { BaselineSpec, CancellationSignal, InputResult, PreparedInput } from '../shared/types';
import type { EvaluateJob, EvaluatePlan, WorkerEvent } from '../shared/protocol';
import type { ExplainHooks } from '../core/explain';
import { ModelCache, prepareExplain, PROGRESS_INTERVAL_MS, throttle, type PreparedExplain } from './jobs';

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
    const shardPositions = inputs.map((_, j) => j).filter((j) => inShard(j, job.shard));
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
      const input = await evaluateOne(prepared, job, index, inputs[index]!, { signal, onProgress, remotesFor });
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
): Promise<EvaluatedInput> {
  const started = performance.now();
  const [explained] = await explainInputs(prepared.model, [input], prepared.request, { ...prepared.hooks, ...hooks });
  const evaluations = explained!.results.reduce((sum, r) => sum + r.timing.evaluations, 0);
  if (explained!.error) return failed(index, explained!, explained!.error, started, evaluations);
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

function failed(index: number, explained: InputResult, error: string, started: number, evaluations: number): EvaluatedInput {
  const { path, prediction, target } = explained;
  return { index, path, prediction, target, features: 0, results: [], timing: { ms: performance.now() - started, evaluations }, error };
}
