/**
 * The host's attribution worker: one WorkerClient, created lazily from the settings (backend,
 * tfjs-node path), recreated when those change or after a crash. Between jobs it stays warm (pool
 * threads, loaded models, the measured batch plan) so the next explanation starts at once, until it
 * has been idle for `pathlens.workerIdleMinutes`. Never throws into the host.
 */
import * as path from 'node:path';
import { describeError } from '../shared/errors';
import type { BackendName } from '../shared/types';
import type {
  EvaluateJob,
  EvaluatePlan,
  EvaluateStepJob,
  PerturbedStep,
  ExplainJob,
  NeuronsJob,
  ExportJob,
  PatternsFitJob,
  PatternsFitted,
  ReportExported,
  SanityJob,
  WireError,
  WorkerEvent,
} from '../shared/protocol';
import type { NeuronsResult } from '../shared/neurons';
import type { SanityResult } from '../shared/sanity';
import { WorkerClient, WorkerError, type RunningJob } from '../worker/client';
import type { ExplainResult, ModelSummary, Preprocessing } from '../shared/types';
import { workerKey, type PathLensSettings } from './settings';

export interface HostLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, detail?: string): void;
}

/** Any failure as the wire error the panel shows. */
export function toWireError(err: unknown): WireError {
  if (err instanceof WorkerError) return { code: err.code, message: err.message, stack: err.workerStack };
  const { code, message } = describeError(err);
  return { code, message, stack: err instanceof Error ? err.stack : undefined };
}

export class HostWorker {
  private client: WorkerClient | null = null;
  private key = '';
  private backend: BackendName | null = null;
  private readonly active = new Set<RunningJob<unknown>>();
  /** Counts terminations, so a job whose worker was terminated while starting fails as cancelled. */
  private terminations = 0;
  private idleTimer: NodeJS.Timeout | null = null;

  /** `idleMs` overrides the idle time of the settings (tests). */
  constructor(
    private readonly distDir: string,
    private readonly settings: () => PathLensSettings,
    private readonly log: HostLog,
    private readonly idleMs?: number,
  ) {}

  /** The backend of the running worker, if started. */
  get backendName(): BackendName | null {
    return this.backend;
  }

  get busy(): boolean {
    return this.active.size > 0;
  }

  private ensure(): WorkerClient {
    this.stopIdleTimer();
    const settings = this.settings();
    const key = workerKey(settings);
    if (this.client && key !== this.key && !this.busy) {
      this.log.info('backend settings changed: restarting the attribution worker');
      void this.client.dispose();
      this.client = null;
    }
    if (!this.client) {
      this.key = key;
      this.backend = null;
      this.client = new WorkerClient({
        workerScript: path.join(this.distDir, 'worker.js'),
        backend: settings.backend,
        wasmDir: this.distDir,
        ...(settings.workers > 0 ? { workers: settings.workers } : {}),
        // The worker threads live in the extension host's process: the host's thread must win the CPU.
        lowPriority: true,
      });
    }
    return this.client;
  }

  /** Starts the worker if needed (the worker inherits PATHLENS_TFJS_NODE_PATH from the setting). */
  async start(): Promise<BackendName> {
    const client = this.ensure();
    const settings = this.settings();
    const started = Date.now();
    // The worker copies process.env when it is constructed (synchronously inside start()), so the
    // variable is set only for that moment and the host's environment is left as it was.
    const previous = process.env.PATHLENS_TFJS_NODE_PATH;
    if (settings.tfjsNodePath) process.env.PATHLENS_TFJS_NODE_PATH = settings.tfjsNodePath;
    let ready: Promise<BackendName>;
    try {
      ready = client.start();
    } finally {
      if (previous === undefined) delete process.env.PATHLENS_TFJS_NODE_PATH;
      else process.env.PATHLENS_TFJS_NODE_PATH = previous;
    }
    try {
      const backend = await ready;
      if (this.backend !== backend) {
        this.log.info(
          `attribution worker ready on backend '${backend}' (requested '${settings.backend}'${settings.tfjsNodePath ? `, tfjs-node from ${settings.tfjsNodePath}` : ''}) in ${Date.now() - started} ms`,
        );
      }
      this.backend = backend;
      return backend;
    } catch (err) {
      // A failed start (e.g. a forced backend that cannot load) must not stick: the next job retries.
      if (this.client === client) {
        this.client = null;
        this.backend = null;
        void client.dispose();
      }
      throw err;
    }
  }

  explain(job: ExplainJob, listener: (event: WorkerEvent) => void): RunningJob<ExplainResult> {
    return this.track(this.withStart((client) => client.explain(job, listener)));
  }

  /** Fits patterns (PatternNet / PatternAttribution / PGIG) for a layers model; progress events go to `listener`. */
  fitPatterns(job: PatternsFitJob, listener: (event: WorkerEvent) => void): RunningJob<PatternsFitted> {
    return this.track(this.withStart((client) => client.fitPatterns(job, listener)));
  }

  /** Runs a sanity check; `sanity` and `progress` events go to `listener`. */
  sanity(job: SanityJob, listener: (event: WorkerEvent) => void): RunningJob<SanityResult> {
    return this.track(this.withStart((client) => client.sanity(job, listener)));
  }

  /** Writes a finished result as an HTML report or result.json in the worker; progress events go to `listener`. */
  exportReport(job: ExportJob, listener: (event: WorkerEvent) => void): RunningJob<ReportExported> {
    return this.track(this.withStart((client) => client.exportReport(job, listener)));
  }

  /** Attributes to a layer's units (or one unit's view); progress events go to `listener`. */
  neurons(job: NeuronsJob, listener: (event: WorkerEvent) => void): RunningJob<NeuronsResult> {
    return this.track(this.withStart((client) => client.neurons(job, listener)));
  }

  /** Faithfulness curves of the panel's maps; plan, per-input and progress events go to `listener`. */
  evaluate(job: EvaluateJob, listener: (event: WorkerEvent) => void): RunningJob<EvaluatePlan> {
    return this.track(this.withStart((client) => client.evaluate(job, listener)));
  }

  /** The perturbed copy behind one curve point. */
  evaluateStep(job: EvaluateStepJob): RunningJob<PerturbedStep> {
    return this.track(this.withStart((client) => client.evaluateStep(job)));
  }

  info(modelPath: string): RunningJob<{ summary: ModelSummary; preprocessing: Preprocessing | null }> {
    return this.track(this.withStart((client) => client.info(modelPath)));
  }

  /** Stops the worker at once (a hung job): pending jobs fail as cancelled; the next job restarts it. */
  async terminate(reason: string): Promise<void> {
    this.terminations++;
    const client = this.client;
    this.client = null;
    this.backend = null;
    if (client) {
      this.log.warn(`terminating the attribution worker: ${reason}`);
      await client.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.stopIdleTimer();
    const client = this.client;
    this.client = null;
    this.backend = null;
    if (client) await client.dispose();
  }

  /** After the last job ends, stop the worker once it has been idle long enough (it holds the model's memory). */
  private startIdleTimer(): void {
    this.stopIdleTimer();
    if (!this.client) return;
    const minutes = this.settings().workerIdleMinutes;
    const ms = this.idleMs ?? minutes * 60_000;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.busy || !this.client) return;
      this.log.info(`stopping the attribution worker: idle for ${this.idleMs === undefined ? `${minutes} min` : `${ms} ms`}`);
      void this.dispose();
    }, ms);
    this.idleTimer.unref?.();
  }

  private stopIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** Starts the worker first (so the tfjs-node path applies), then submits the job. */
  private withStart<T>(submit: (client: WorkerClient) => RunningJob<T>): RunningJob<T> {
    let inner: RunningJob<T> | null = null;
    let cancelled = false;
    const terminations = this.terminations;
    const result = this.start().then(
      () => {
        if (cancelled) throw new WorkerError('cancelled', 'Cancelled by the user.');
        inner = submit(this.ensure());
        return inner.result;
      },
      (err: unknown) => {
        // Terminated (a hung job, Cancel) while the worker was still starting: this job was cancelled too.
        if (this.terminations !== terminations) throw new WorkerError('cancelled', 'Cancelled by the user.');
        throw err;
      },
    );
    return {
      id: -1,
      result,
      cancel: () => {
        cancelled = true;
        inner?.cancel();
      },
    };
  }

  private track<T>(job: RunningJob<T>): RunningJob<T> {
    this.active.add(job as RunningJob<unknown>);
    this.stopIdleTimer();
    const done = () => {
      this.active.delete(job as RunningJob<unknown>);
      if (!this.busy) this.startIdleTimer();
    };
    job.result.then(done, done);
    return job;
  }
}
