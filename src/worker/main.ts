/**
 * The attribution worker: one per pool slot, runs jobs one at a time, keeps models cached, stops
 * between chunks when a job is cancelled (shared flag, so cancellation needs no event-loop turn).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../core/engine/backend';
import { CancelledError, describeError } from '../core/errors';
import type { CancellationSignal } from '../core/types';
import type { WorkerEvent, WorkerInit, WorkerRequest } from '../protocol';
import { ModelCache, runExplainJob, runInfoJob } from './jobs';

const port = parentPort;
if (!port) throw new Error('src/worker/main.ts must run in a worker thread');

const emit = (event: WorkerEvent) => port.postMessage(event);
const cache = new ModelCache();
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

async function handle(request: Exclude<WorkerRequest, { kind: 'cancel' }>): Promise<void> {
  const signal = signalFor(request.jobId, request.cancelFlag);
  try {
    if (signal.cancelled) throw new CancelledError();
    if (request.kind === 'info') {
      const { summary, preprocessing } = await runInfoJob(request.modelPath, cache);
      emit({ kind: 'info', jobId: request.jobId, summary, preprocessing });
    } else {
      const result = await runExplainJob(request.jobId, request.job, cache, signal, emit);
      emit({ kind: 'explained', jobId: request.jobId, result });
    }
  } catch (err) {
    const { code, message } = describeError(err);
    emit({ kind: 'error', jobId: request.jobId, error: { code, message, stack: err instanceof Error ? err.stack : undefined } });
  } finally {
    cancelled.delete(request.jobId);
  }
}

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  try {
    const backend = await initBackend(init.backend, { wasmDir: init.wasmDir });
    emit({ kind: 'ready', backend });
  } catch (err) {
    emit({ kind: 'fatal', error: describeError(err) });
    return;
  }
  port!.on('message', (request: WorkerRequest) => {
    if (request.kind === 'cancel') {
      cancelled.add(request.jobId);
      return;
    }
    queue = queue.then(() => handle(request));
  });
}

void main();
