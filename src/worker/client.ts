/**
 * The caller's side of the attribution worker (used by the CLI and the extension host): starts the
 * worker thread, runs jobs with progress and streaming events, cancels, and survives a worker crash.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PathLensError, type ErrorCode } from '../shared/errors';
import type { BackendChoice, BackendName, ExplainResult, ModelSummary, Preprocessing } from '../shared/types';
import type { SanityResult } from '../shared/sanity';
import type { NeuronsResult } from '../shared/neurons';
import type {
  ExplainJob,
  ExportJob,
  NeuronsJob,
  EvaluateJob,
  EvaluatePlan,
  EvaluateStepJob,
  PerturbedStep,
  PatternsFitJob,
  PatternsFitted,
  ReportExported,
  SanityJob,
  WorkerEvent,
  WorkerInit,
  WorkerRequest,
  WorkerStartup,
} from '../shared/protocol';

export interface WorkerClientOptions {
  /** Path of the bundled worker (dist/worker.js). */
  workerScript?: string;
  backend?: BackendChoice;
  wasmDir?: string;
  /** Threads evaluating gradients (the worker plus its pool); default: the number of cores. */
  workers?: number;
  /** Extra V8 heap for the worker thread, in MB. */
  maxHeapMB?: number;
  /** Compute below normal CPU priority, so this (interactive) thread stays responsive during jobs. */
  lowPriority?: boolean;
  /** Start the worker's pool threads at once, in parallel with its own start (the first job will use them). */
  prestartPool?: boolean;
}

export interface RunningJob<T> {
  readonly id: number;
  readonly result: Promise<T>;
  cancel(): void;
}

type Listener = (event: WorkerEvent) => void;

interface Pending {
  listener: Listener;
  resolve: (value: never) => void;
  reject: (err: Error) => void;
  cancelFlag: Int32Array;
}

export class WorkerError extends PathLensError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly workerStack?: string,
  ) {
    super(code, message);
  }
}

/** Start-up of the worker: thread spawn to 'ready' as seen here, and its parts measured inside the thread. */
export interface ClientStartup extends WorkerStartup {
  readyMs: number;
}

export class WorkerClient {
  /** Set once the worker is ready. */
  startup: ClientStartup | null = null;
  private worker: Worker | null = null;
  private ready: Promise<BackendName> | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly options: WorkerClientOptions = {}) {}

  /** Starts the worker if needed; resolves with the backend it runs on. */
  start(): Promise<BackendName> {
    if (this.ready) return this.ready;
    const script = this.options.workerScript ?? path.join(__dirname, 'worker.js');
    const spawned = performance.now();
    const init: WorkerInit = {
      backend: this.options.backend ?? 'auto',
      wasmDir: this.options.wasmDir,
      workers: this.options.workers,
      spawnedAt: spawned,
      ...(this.options.lowPriority ? { lowPriority: true } : {}),
      ...(this.options.prestartPool ? { prestartPool: true } : {}),
    };
    const worker = new Worker(script, {
      workerData: init,
      resourceLimits: this.options.maxHeapMB ? { maxOldGenerationSizeMb: this.options.maxHeapMB } : undefined,
    });
    this.worker = worker;
    this.ready = new Promise<BackendName>((resolve, reject) => {
      const onEvent = (event: WorkerEvent) => {
        if (event.kind === 'ready') {
          this.startup = { readyMs: performance.now() - spawned, moduleLoadMs: NaN, backendInitMs: NaN, ...event.startup };
          resolve(event.backend);
        } else if (event.kind === 'fatal') {
          reject(new WorkerError(event.error.code, event.error.message));
          void this.dispose();
        } else this.route(event);
      };
      worker.on('message', onEvent);
      worker.on('error', (err) => {
        const failure = new WorkerError('internal', `the attribution worker crashed: ${err.message}`);
        reject(failure);
        this.failAll(failure);
      });
      worker.on('exit', (code) => {
        const failure = new WorkerError(
          code === 0 ? 'internal' : 'memory',
          code === 0
            ? 'the attribution worker stopped'
            : `the attribution worker exited with code ${code} (out of memory?); it restarts on the next job`,
        );
        reject(failure);
        this.failAll(failure);
        this.worker = null;
        this.ready = null;
      });
    });
    return this.ready;
  }

  explain(job: ExplainJob, listener: Listener = () => {}): RunningJob<ExplainResult> {
    return this.run<ExplainResult>((id, cancelFlag) => ({ kind: 'explain', jobId: id, job, cancelFlag }), listener);
  }

  info(modelPath: string): RunningJob<{ summary: ModelSummary; preprocessing: Preprocessing | null }> {
    return this.run(
      (id, cancelFlag) => ({ kind: 'info', jobId: id, modelPath, cancelFlag }),
      () => {},
    );
  }

  /** Runs a sanity check; `sanity` events (plan, original, steps, verdicts) and progress go to `listener`. */
  sanity(job: SanityJob, listener: Listener = () => {}): RunningJob<SanityResult> {
    return this.run<SanityResult>((id, cancelFlag) => ({ kind: 'sanity', jobId: id, job, cancelFlag }), listener);
  }

  /** Fits patterns for a layers model (progress events go to `listener`); resolves with where they were saved. */
  fitPatterns(job: PatternsFitJob, listener: Listener = () => {}): RunningJob<PatternsFitted> {
    return this.run<PatternsFitted>((id, cancelFlag) => ({ kind: 'patterns-fit', jobId: id, job, cancelFlag }), listener);
  }

  /** Attributes a prediction to the units of one layer (progress events go to `listener`). */
  neurons(job: NeuronsJob, listener: Listener = () => {}): RunningJob<NeuronsResult> {
    return this.run<NeuronsResult>((id, cancelFlag) => ({ kind: 'neurons', jobId: id, job, cancelFlag }), listener);
  }

  /** Writes a finished result as an HTML report or result.json (progress events go to `listener`). */
  exportReport(job: ExportJob, listener: Listener = () => {}): RunningJob<ReportExported> {
    return this.run<ReportExported>((id, cancelFlag) => ({ kind: 'export', jobId: id, job, cancelFlag }), listener);
  }

  /** Faithfulness curves; `evaluate-plan` and one `evaluate-input` per input go to `listener`. */
  evaluate(job: EvaluateJob, listener: Listener = () => {}): RunningJob<EvaluatePlan> {
    return this.run<EvaluatePlan>((id, cancelFlag) => ({ kind: 'evaluate', jobId: id, job, cancelFlag }), listener);
  }

  /** One perturbed copy of an evaluated input (a clicked curve point). */
  evaluateStep(job: EvaluateStepJob): RunningJob<PerturbedStep> {
    return this.run<PerturbedStep>(
      (id, cancelFlag) => ({ kind: 'evaluate-step', jobId: id, job, cancelFlag }),
      () => {},
    );
  }

  /**
   * The worker's live tensor count and bytes (for leak checks), the models it and its pool threads
   * loaded, and how many of those loads read the model's files.
   */
  memory(): Promise<{ numTensors: number; numBytes: number; modelLoads: number; modelFileReads: number }> {
    return this.run<{ numTensors: number; numBytes: number; modelLoads: number; modelFileReads: number }>(
      (id) => ({ kind: 'memory', jobId: id }),
      () => {},
    ).result;
  }

  async dispose(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.ready = null;
    this.failAll(new WorkerError('cancelled', 'the attribution worker was shut down'));
    if (worker) await worker.terminate();
  }

  private run<T>(makeRequest: (id: number, flag: SharedArrayBuffer) => WorkerRequest, listener: Listener): RunningJob<T> {
    const id = this.nextId++;
    const shared = new SharedArrayBuffer(4);
    const cancelFlag = new Int32Array(shared);
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { listener, resolve: resolve as (v: never) => void, reject, cancelFlag });
      this.start().then(
        () => this.worker?.postMessage(makeRequest(id, shared)),
        (err: Error) => {
          this.pending.delete(id);
          reject(err);
        },
      );
    });
    return {
      id,
      result,
      cancel: () => {
        Atomics.store(cancelFlag, 0, 1);
        this.worker?.postMessage({ kind: 'cancel', jobId: id } satisfies WorkerRequest);
      },
    };
  }

  private route(event: WorkerEvent): void {
    if (!('jobId' in event)) return;
    const job = this.pending.get(event.jobId);
    if (!job) return;
    if (event.kind === 'error') {
      this.pending.delete(event.jobId);
      job.reject(new WorkerError(event.error.code, event.error.message, event.error.stack));
    } else if (event.kind === 'explained') {
      this.pending.delete(event.jobId);
      job.resolve(event.result as never);
    } else if (event.kind === 'sanity-done') {
      this.pending.delete(event.jobId);
      job.resolve(event.result as never);
    } else if (event.kind === 'info') {
      this.pending.delete(event.jobId);
      job.resolve({ summary: event.summary, preprocessing: event.preprocessing } as never);
    } else if (
      event.kind === 'patterns-fitted' ||
      event.kind === 'neurons-done' ||
      event.kind === 'exported' ||
      event.kind === 'evaluate-done' ||
      event.kind === 'evaluate-step-done'
    ) {
      this.pending.delete(event.jobId);
      job.resolve(event.result as never);
    } else if (event.kind === 'memory') {
      this.pending.delete(event.jobId);
      job.resolve({
        numTensors: event.numTensors,
        numBytes: event.numBytes,
        modelLoads: event.modelLoads ?? NaN,
        modelFileReads: event.modelFileReads ?? NaN,
      } as never);
    } else {
      job.listener(event);
    }
  }

  private failAll(err: Error): void {
    for (const [id, job] of this.pending) {
      this.pending.delete(id);
      job.reject(err);
    }
  }
}
