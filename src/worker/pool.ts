/**
 * Pool threads that evaluate point chunks for the coordinator worker. Each holds its own backend and
 * model cache; the coordinator's Evaluator hands them chunks (work stealing) and sums in float64.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { RemoteEvaluator } from '../core/engine/pointBatch';
import { PathLensError } from '../shared/errors';
import type { OutputKind } from '../shared/types';
import type { EvaluatorEvent, EvaluatorRequest, PointChunk, PointChunkResult, WorkerInit } from '../shared/protocol';

export function defaultWorkerCount(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

interface PoolThread {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, { resolve: (r: PointChunkResult) => void; reject: (e: Error) => void }>;
  /** Set once 'ready' arrived, so requests are posted without waiting a microtask. */
  started: boolean;
}

export class EvaluationPool {
  private threads: PoolThread[] = [];
  private nextId = 1;

  /** `size`: pool threads (the coordinator dispatches to them and computes nothing itself). */
  constructor(
    private readonly script: string,
    private readonly init: WorkerInit,
    readonly size: number,
  ) {}

  /** Remote evaluators bound to one explained scalar; at most `limit` of them. */
  remotesFor(modelPath: string, target: number, output: OutputKind, limit = this.size, inputShape: number[]): RemoteEvaluator[] {
    return this.ensureThreads()
      .slice(0, Math.max(0, limit))
      .map((thread) => ({
        evaluate: (chunk: PointChunk) =>
          this.send(thread, { kind: 'chunk', id: this.nextId++, modelPath, target, output, inputShape, chunk }),
      }));
  }

  async dispose(): Promise<void> {
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private ensureThreads(): PoolThread[] {
    while (this.threads.length < this.size) this.threads.push(this.spawn());
    return this.threads;
  }

  private spawn(): PoolThread {
    const worker = new Worker(this.script, { workerData: { ...this.init, role: 'evaluator' } satisfies WorkerInit });
    const pending: PoolThread['pending'] = new Map();
    const thread: PoolThread = { worker, pending, ready: Promise.resolve(), started: false };
    const fail = (err: Error) => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      this.threads = this.threads.filter((t) => t !== thread); // respawned on next use
    };
    thread.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (event: EvaluatorEvent) => {
        if (event.kind === 'ready') {
          thread.started = true;
          resolve();
        } else if (event.kind === 'fatal') {
          const err = new PathLensError(event.error.code, `pool worker: ${event.error.message}`);
          reject(err);
          fail(err);
        } else {
          const job = pending.get(event.id);
          if (!job) return;
          pending.delete(event.id);
          if (event.kind === 'chunk-result') job.resolve(event.result);
          else job.reject(new PathLensError(event.error.code, event.error.message));
        }
      });
      worker.on('error', (err) => {
        const failure = new PathLensError('internal', `a pool worker crashed: ${err.message}`);
        reject(failure);
        fail(failure);
      });
      worker.on('exit', (code) => fail(new PathLensError('memory', `a pool worker exited (code ${code}); out of memory?`)));
    });
    thread.ready.catch(() => {});
    return thread;
  }

  private async send(thread: PoolThread, request: EvaluatorRequest): Promise<PointChunkResult> {
    if (!thread.started) await thread.ready;
    return new Promise<PointChunkResult>((resolve, reject) => {
      thread.pending.set(request.id, { resolve, reject });
      thread.worker.postMessage(request, [request.chunk.points.buffer as ArrayBuffer]);
    });
  }
}
