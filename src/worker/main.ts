/**
 * The attribution worker: one per pool slot, runs jobs one at a time, keeps models cached, stops
 * between chunks when a job is cancelled (shared flag, so cancellation needs no event-loop turn).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../core/engine/backend';
import { CancelledError, describeError } from '../shared/errors';
import type { CancellationSignal } from '../shared/types';
import { reducePointChunks } from '../core/engine/pointBatch';
import { bindInputShape } from '../core/model/inputLayout';
import type { EvaluatorEvent, EvaluatorRequest, ExplainJob, WorkerEvent, WorkerInit, WorkerRequest } from '../shared/protocol';
import { runExplainJob, runInfoJob, runPatternsFitJob, type JobThreads } from './jobs';
import { ModelCache, type ModelSource } from './modelCache';
import { BatchPlanner } from './batchPlan';
import { lowerThisThreadPriority } from './threadPriority';
import { announceThreadRole } from './threadCpu';
import { probeBatchSizes } from '../core/engine/batchProbe';
import { defaultWorkerCount, EvaluationPool } from './pool';
import { runSanityJob } from './sanityJob';
import { runNeuronsJob } from './neuronsJob';
import { runEvaluateJob, runEvaluateStepJob } from './evaluateJob';
import { runExportJob } from './exportJob';
import { distinctBuffers } from './transfer';
import { bootInfo } from './bootInfo';
import { PathStore } from './poolPaths';

// Imports run first, so this is when the bundle finished loading (on the process's clock).
const moduleLoadedAt = performance.now();
const port = parentPort;
if (!port) throw new Error('src/worker/main.ts must run in a worker thread');

const init = workerData as WorkerInit;
const emit = (event: WorkerEvent) => port.postMessage(event);
// Pool threads tell their coordinator about every model they load (the warm-pool tests count them).
const cache = new ModelCache((modelPath, fromDisk) => {
  if (init.role === 'evaluator') port.postMessage({ kind: 'model-read', modelPath, fromDisk } satisfies EvaluatorEvent);
});
const planner = new BatchPlanner();
// Pool threads that compute gradient chunks while this thread dispatches (none for one worker:
// then this thread computes). Spawned on first use.
const workerCount = init.workers ?? defaultWorkerCount();
// Pool threads start from the same entry as this one (dist/worker.js: its code cache), else this bundle.
const pool = new EvaluationPool(bootInfo()?.script ?? __filename, init, workerCount > 1 ? workerCount : 0);
const cancelled = new Set<number>();
let queue: Promise<void> = Promise.resolve();

function signalFor(jobId: number, flag: SharedArrayBuffer | undefined): CancellationSignal {
  const view = flag ? new Int32Array(flag) : null;
  return {
    get cancelled() {
      return cancelled.has(jobId) || (view !== null && Atomics.load(view, 0) !== 0);
    },
  };
}

/**
 * The pool threads one job computes on (none when the job asks for one worker). Preparing them hands
 * them this thread's read of the model's files (read once here, taken by this thread's own load).
 */
function threadsFor(jobId: number, job: ExplainJob): JobThreads {
  const jobWorkers = job.workers ?? pool.size;
  const limit = jobWorkers > 1 ? Math.min(jobWorkers, pool.size) : 0;
  return {
    count: limit,
    remotesFor: (target, output, inputShape, order) => pool.remotesFor(jobId, job.modelPath, target, output, limit, inputShape, order),
    prepare: async (modelPath, memoryBudgetMB) => {
      if (limit > 0) await pool.prepare(modelPath, memoryBudgetMB, limit, cache.source(modelPath));
    },
    probe: (modelPath, output, inputShape, budgetPerThread) => pool.probe(modelPath, output, inputShape, budgetPerThread, limit),
  };
}

async function handle(request: Exclude<WorkerRequest, { kind: 'cancel' }>): Promise<void> {
  const signal = signalFor(request.jobId, 'cancelFlag' in request ? request.cancelFlag : undefined);
  try {
    if (signal.cancelled) throw new CancelledError();
    if (request.kind === 'memory') {
      const { numTensors, numBytes } = tf.memory();
      const modelLoads = cache.reads + cache.handedOver + pool.modelReads;
      emit({ kind: 'memory', jobId: request.jobId, numTensors, numBytes, modelLoads, modelFileReads: cache.reads + pool.modelFileReads });
    } else if (request.kind === 'info') {
      const { summary, preprocessing } = await runInfoJob(request.modelPath, cache);
      emit({ kind: 'info', jobId: request.jobId, summary, preprocessing });
    } else if (request.kind === 'sanity') {
      const result = await runSanityJob(request.jobId, request.job, cache, signal, emit);
      emit({ kind: 'sanity-done', jobId: request.jobId, result });
    } else if (request.kind === 'neurons') {
      const result = await runNeuronsJob(request.jobId, request.job, cache, signal, emit);
      emit({ kind: 'neurons-done', jobId: request.jobId, result });
    } else if (request.kind === 'evaluate') {
      const result = await runEvaluateJob(
        request.jobId,
        request.job,
        cache,
        signal,
        emit,
        preparedRemotes(threadsFor(request.jobId, request.job), request.job),
      );
      emit({ kind: 'evaluate-done', jobId: request.jobId, result });
    } else if (request.kind === 'evaluate-step') {
      const result = await runEvaluateStepJob(request.job, cache, signal);
      emit({ kind: 'evaluate-step-done', jobId: request.jobId, result });
    } else if (request.kind === 'export') {
      const result = await runExportJob(request.jobId, request.job, signal, emit);
      emit({ kind: 'exported', jobId: request.jobId, result });
    } else if (request.kind === 'patterns-fit') {
      const result = await runPatternsFitJob(request.jobId, request.job, cache, signal, emit);
      emit({ kind: 'patterns-fitted', jobId: request.jobId, result });
    } else {
      const result = await runExplainJob(request.jobId, request.job, cache, signal, emit, threadsFor(request.jobId, request.job), planner);
      emit({ kind: 'explained', jobId: request.jobId, result });
    }
  } catch (err) {
    const { code, message } = describeError(err);
    emit({ kind: 'error', jobId: request.jobId, error: { code, message, stack: err instanceof Error ? err.stack : undefined } });
  } finally {
    cancelled.delete(request.jobId);
    // The pool threads drop the paths of this job's inputs (also after a cancellation or failure).
    pool.release(request.jobId);
    cache.dropPendingReads();
  }
}

/**
 * The job's remote evaluators once its pool threads hold the model version this thread uses (their
 * chunks compute on the version last prepared); a failed preparation is the job's own load error.
 */
function preparedRemotes(threads: JobThreads, job: ExplainJob): JobThreads['remotesFor'] {
  const prepared = threads.count > 0 ? threads.prepare(job.modelPath, job.memoryBudgetMB).catch(() => {}) : Promise.resolve();
  return (...args) =>
    threads.remotesFor(...args).map((remote) => ({
      evaluate: async (chunk) => {
        await prepared;
        return remote.evaluate(chunk);
      },
    }));
}

/** A pool thread: loads models, probes batch sizes and evaluates point chunks for its coordinator, one at a time. */
function serveChunks(): void {
  const send = (event: EvaluatorEvent, transfer: ArrayBuffer[] = []) => port!.postMessage(event, distinctBuffers(transfer));
  let queue: Promise<void> = Promise.resolve();
  const paths = new PathStore();
  port!.on('message', (request: EvaluatorRequest) => {
    queue = queue.then(async () => {
      try {
        if (request.kind === 'load') {
          await cache.prepare(request.modelPath, request.source as ModelSource | undefined, request.memoryBudgetMB);
          send({ kind: 'loaded', id: request.id });
          return;
        }
        if (request.kind === 'release') {
          paths.release(request.paths);
          send({ kind: 'released', id: request.id });
          return;
        }
        if (request.kind === 'stats') {
          send({ kind: 'stats', id: request.id, stats: { paths: paths.size, numTensors: tf.memory().numTensors } });
          return;
        }
        // A chunk request's paths are kept first, whatever happens next: the coordinator counts them as held.
        const parts = request.kind === 'chunk' ? paths.admit(request) : [];
        const model = bindInputShape(await cache.current(request.modelPath), [{ path: request.modelPath, shape: request.inputShape }]);
        if (request.kind === 'probe') {
          const probe = await probeBatchSizes({ model, target: 0, output: request.output }, request.budgetBytes);
          send({ kind: 'probed', id: request.id, probe });
          return;
        }
        const results = await reducePointChunks(model, request.output, model.inputShape, parts);
        const buffers = results.flatMap((result) => Object.values(result).map((a: Float32Array) => a.buffer as ArrayBuffer));
        send({ kind: 'chunk-result', id: request.id, results }, buffers);
      } catch (err) {
        send({ kind: 'failed', id: request.id, error: describeError(err) });
      }
    });
  });
}

async function main(): Promise<void> {
  if (init.lowPriority) lowerThisThreadPriority();
  announceThreadRole(init.role === 'evaluator' ? 'evaluator' : 'coordinator');
  // The pool threads load their bundle and backend while this one does (started by the boot entry).
  if (init.role !== 'evaluator' && init.prestartPool) {
    const prestarted = bootInfo()?.prestarted.splice(0) ?? [];
    pool.adopt(prestarted.slice(0, pool.size));
    for (const extra of prestarted.slice(pool.size)) void extra.terminate();
    pool.start();
  }
  try {
    const started = performance.now();
    const backend = await initBackend(init.backend, { wasmDir: init.wasmDir });
    emit({
      kind: 'ready',
      backend,
      startup: {
        moduleLoadMs: moduleLoadedAt - (init.spawnedAt ?? 0),
        backendInitMs: performance.now() - started,
        codeCache: bootInfo()?.codeCache ?? 'off',
      },
    });
  } catch (err) {
    emit({ kind: 'fatal', error: describeError(err) });
    return;
  }
  if (init.role === 'evaluator') {
    serveChunks();
    return;
  }
  // The code cache (when due) right after start-up: V8 flushes the bytecode of functions that ran
  // only then (module and backend set-up) once they age, so a later cache would lack them.
  bootInfo()?.saveCodeCache();
  port!.on('message', (request: WorkerRequest) => {
    if (request.kind === 'cancel') {
      cancelled.add(request.jobId);
      return;
    }
    queue = queue.then(() => handle(request));
  });
}

void main();
