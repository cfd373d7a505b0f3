/**
 * The fixed cost of a CLI run, phase by phase (`PATHLENS_TIMINGS=1` prints it to stderr as one line
 * `pathlens timings: {json}`; the bench reads it). Process start is Node's own bootstrap, module load
 * the CLI bundle's, then the worker's start (its bundle and backend), the job's phases as the worker
 * reports them, the time of every input's last result and of the JSON written, and each thread's CPU
 * time (main, coordinator, pool threads: inputs are computed at once, so only the threads' CPU says
 * where the time goes).
 */
import { performance as nodePerformance } from 'node:perf_hooks';
import type { ClientStartup } from '../worker/client';
import type { WorkerEvent } from '../shared/protocol';
import { threadCpuMs, ThreadRoles, type ThreadRole } from '../worker/threadCpu';

export const TIMINGS_ENV = 'PATHLENS_TIMINGS';

// Listening from the module's load: the worker threads announce themselves as they start, before any job.
const threadRoles = process.env[TIMINGS_ENV] === '1' ? new ThreadRoles() : null;

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
  /** From the job's submission to the result printed or written (serialisation included). */
  writtenMs: number;
  /** `performance.timeOrigin` (ms since the epoch), to place the process start on another process's clock. */
  timeOriginEpochMs: number;
  /** The job's submission, from the time origin. */
  submittedAtMs: number;
  /**
   * CPU ms per thread (Linux; empty elsewhere): in all until the report, while computing (first
   * progress → last result) and while writing the result (last result → written).
   */
  threads: { role: ThreadRole | 'other'; cpuMs: number; computingCpuMs: number; writingCpuMs: number }[];
  /** From the time origin to the report (everything but process exit). */
  totalMs: number;
}

export class RunTimings {
  private readonly phases: RunTimingsReport['phases'] = [];
  private readonly inputDone: number[] = [];
  private submitted = NaN;
  private firstProgress = NaN;
  private finished = NaN;
  private written = NaN;
  private readonly cpuAt: { firstProgress?: Map<number, number>; finished?: Map<number, number> } = {};

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
    else if (event.kind === 'progress' && Number.isNaN(this.firstProgress)) {
      this.firstProgress = performance.now() - this.submitted;
      this.cpuAt.firstProgress = threadCpuMs();
    }
  }

  done(): void {
    this.finished = performance.now();
    this.cpuAt.finished = threadCpuMs();
  }

  /** The result is printed or written. */
  resultWritten(): void {
    this.written = performance.now();
  }

  private threadReport(): RunTimingsReport['threads'] {
    const now = threadCpuMs();
    const { firstProgress = new Map<number, number>(), finished = now } = this.cpuAt;
    threadRoles?.close();
    return [...now]
      .map(([tid, cpuMs]) => ({
        role: threadRoles?.roles.get(tid) ?? ('other' as const),
        cpuMs,
        computingCpuMs: (finished.get(tid) ?? cpuMs) - (firstProgress.get(tid) ?? 0),
        writingCpuMs: cpuMs - (finished.get(tid) ?? 0),
      }))
      .sort((a, b) => b.cpuMs - a.cpuMs);
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
      writtenMs: this.written - this.submitted,
      timeOriginEpochMs: nodePerformance.timeOrigin,
      submittedAtMs: this.submitted,
      threads: this.threadReport(),
      totalMs: performance.now(),
    };
  }
}
