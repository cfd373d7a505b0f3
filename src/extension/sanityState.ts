/**
 * The panel's sanity-check run, without `vscode`: the job from the settings, worker events → panel
 * messages, and everything kept for replaying to a webview that was hidden or reloaded.
 */
import type { SanityCheck } from '../shared/sanity';
import type { HostToWebview, MethodInfo, SanityJob, WireError, WorkerEvent } from '../shared/protocol';
import { buildJob, type PathLensSettings } from './settings';

/** The sanity job for one input and the chosen methods, with the same method options an explain run uses. */
export function buildSanityJob(
  settings: PathLensSettings,
  modelPath: string,
  input: string,
  methods: string[],
  check: SanityCheck,
  extra: Record<string, string | number | boolean> = {},
): SanityJob {
  const explain = buildJob(settings, modelPath, [input], methods, 'top', extra);
  return {
    modelPath,
    input,
    methods,
    check,
    target: 'top',
    output: explain.output,
    ...(explain.preprocess ? { preprocess: explain.preprocess } : {}),
    options: explain.options,
    memoryBudgetMB: explain.memoryBudgetMB,
    seed: typeof explain.options.seed === 'number' ? explain.options.seed : 0,
  };
}

export type SanityOutcome = { ok: true } | { error: WireError };

export class SanityRunState {
  sanityId = 0;
  job: SanityJob | null = null;
  private kept: HostToWebview[] = [];
  finished: { cancelled: boolean; error?: WireError } | null = null;

  constructor(private readonly describeMethods: (names: string[]) => MethodInfo[]) {}

  get running(): boolean {
    return this.job !== null && this.finished === null;
  }

  /** A new check: forgets the previous one. Returns the messages that clear the view. */
  begin(job: SanityJob): HostToWebview[] {
    this.sanityId++;
    this.job = job;
    this.finished = null;
    const start: HostToWebview = {
      type: 'sanity-start',
      sanityId: this.sanityId,
      check: job.check,
      input: job.input,
      methods: this.describeMethods(job.methods),
    };
    this.kept = [start];
    return [start];
  }

  onEvent(event: WorkerEvent): HostToWebview[] {
    if (!this.job) return [];
    if (event.kind === 'progress') return [{ type: 'sanity-progress', sanityId: this.sanityId, progress: event.progress }];
    if (event.kind !== 'sanity') return [];
    const message: HostToWebview = { type: 'sanity', sanityId: this.sanityId, event: event.event };
    this.kept.push(message);
    return [message];
  }

  finish(outcome: SanityOutcome): HostToWebview[] {
    const cancelled = 'error' in outcome && outcome.error.code === 'cancelled';
    this.finished = cancelled ? { cancelled } : 'error' in outcome ? { cancelled: false, error: outcome.error } : { cancelled: false };
    return [this.doneMessage()];
  }

  private doneMessage(): HostToWebview {
    const f = this.finished!;
    return { type: 'sanity-done', sanityId: this.sanityId, cancelled: f.cancelled, ...(f.error ? { error: f.error } : {}) };
  }

  /** Everything the view should show now (a still-running check sends the rest as it arrives). */
  replay(): HostToWebview[] {
    if (!this.job) return [];
    return [...this.kept, ...(this.finished ? [this.doneMessage()] : [])];
  }
}
