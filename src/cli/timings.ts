/**
 * The fixed cost of a CLI run, phase by phase (`PATHLENS_TIMINGS=1` prints it to stderr as one line
 * `pathlens timings: {json}`; the bench reads it). Process start is Node's own bootstrap, module load
 * the CLI bundle's, then the worker's start (its bundle and backend), the job's phases as the worker
 * reports them, and the time of every input's last result.
 */
import { performance as nodePerformance } from 'node:perf_hooks';
import type { ClientStartup } from '../worker/client';
import type { WorkerEvent } from '../shared/protocol';

export const TIMINGS_ENV = 'PATHLENS_TIMINGS';

export interface RunTimingsReport {
  /** Node's bootstrap, from the process's time origin (the exec before it is not visible here). */
  processStartMs: number;
  moduleLoadMs: number;
  worker: ClientStartup | null;
  /** Job phases in the order they ended, with the worker's detail (cached, batch chosen, …). */
  phases: { phase: string; ms: number; detail?: string }[];
  /** From the job's submission to its first progress event (computing started). */
  firstProgressMs: number;
  /** From the job's submission to the end of each input's last result. */
  inputDoneMs: number[];
  jobMs: number;
  /** From the time origin to the report (everything but process exit). */
  totalMs: number;
}

export class RunTimings {
  private readonly phases: RunTimingsReport['phases'] = [];
  private readonly inputDone: number[] = [];
  private submitted = NaN;
  private firstProgress = NaN;
  private finished = NaN;

  constructor(private readonly entryMs: number) {}

  static enabled(): boolean {
    return process.env[TIMINGS_ENV] === '1';
  }

  submit(): void {
    this.submitted = performance.now();
  }

  /** Listener for the job's events. */
  onEvent(event: WorkerEvent): void {
    if (event.kind === 'phase') this.phases.push({ phase: event.phase, ms: event.ms, ...(event.detail ? { detail: event.detail } : {}) });
    else if (event.kind === 'result') this.inputDone[event.inputIndex] = performance.now() - this.submitted;
    else if (event.kind === 'progress' && Number.isNaN(this.firstProgress)) this.firstProgress = performance.now() - this.submitted;
  }

  done(): void {
    this.finished = performance.now();
  }

  report(worker: ClientStartup | null): RunTimingsReport {
    const bootstrap = nodePerformance.nodeTiming.bootstrapComplete;
    return {
      processStartMs: bootstrap,
      moduleLoadMs: this.entryMs - bootstrap,
      worker,
      phases: this.phases,
      firstProgressMs: this.firstProgress,
      inputDoneMs: [...this.inputDone],
      jobMs: this.finished - this.submitted,
      totalMs: performance.now(),
    };
  }
}
