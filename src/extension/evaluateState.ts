/**
 * The panel's "Evaluate" view on the host side, without `vscode`: the evaluate job for the maps of
 * the current comparison, worker events → panel messages, the clicked curve point's job, the report
 * for the HTML export, and everything kept for replaying to a webview that was hidden or reloaded.
 */
import { evaluateSettingsRecord, RANDOM_METHOD, type EvaluatedInput, type EvaluateReport, type SummaryRow } from '../shared/evaluate';
import type {
  EvaluateJob,
  EvaluateMaps,
  EvaluatePlan,
  EvaluateStepJob,
  EvaluateStepRequest,
  EvaluateViewSettings,
  ExplainJob,
  HostToWebview,
  PerturbedStep,
  WireError,
  WorkerEvent,
} from '../shared/protocol';

/** What the evaluation scores: the run's job and the maps the panel shows, by input position. */
export interface EvaluationSource {
  job: ExplainJob;
  maps: EvaluateMaps[];
}

interface Evaluation {
  job: EvaluateJob;
  settings: EvaluateViewSettings;
  inputs: EvaluatedInput[];
  plan: EvaluatePlan | null;
  summary: SummaryRow[] | null;
  finished: { cancelled: boolean; error?: WireError } | null;
}

/** The evaluate job for the comparison's maps: the run's own settings plus the view's metric settings. */
export function buildEvaluateJob(source: EvaluationSource, settings: EvaluateViewSettings): EvaluateJob {
  const { job, maps } = source;
  const seed = typeof job.options.seed === 'number' ? job.options.seed : 0;
  return {
    ...job,
    metrics: settings.metrics,
    evalSteps: settings.evalSteps,
    patch: settings.patch,
    bootstrap: settings.bootstrap,
    seed,
    shard: null,
    done: [],
    maps,
  };
}

export class EvaluateRunState {
  evaluateId = 0;
  private current: Evaluation | null = null;
  /** The last answered curve point (replayed with the rest). */
  private lastStep: HostToWebview | null = null;

  get running(): boolean {
    return this.current !== null && this.current.finished === null;
  }

  /** A new evaluation: forgets the previous one. Returns the job and the messages that clear the view. */
  begin(source: EvaluationSource, settings: EvaluateViewSettings): { job: EvaluateJob; messages: HostToWebview[] } {
    this.evaluateId++;
    const job = buildEvaluateJob(source, settings);
    this.current = { job, settings, inputs: [], plan: null, summary: null, finished: null };
    this.lastStep = null;
    return { job, messages: [this.startMessage()] };
  }

  /** A new explain run replaces the maps: the old evaluation no longer describes them (the view resets on 'run'). */
  clear(): void {
    this.current = null;
    this.lastStep = null;
  }

  onEvent(event: WorkerEvent): HostToWebview[] {
    const c = this.current;
    if (!c) return [];
    const evaluateId = this.evaluateId;
    if (event.kind === 'progress') return [{ type: 'evaluate-progress', evaluateId, progress: event.progress }];
    if (event.kind === 'evaluate-plan') c.plan = event.plan;
    if (event.kind !== 'evaluate-input') return [];
    c.inputs.push(event.input);
    return [{ type: 'evaluate-input', evaluateId, input: event.input }];
  }

  finish(outcome: { plan: EvaluatePlan } | { error: WireError }): HostToWebview[] {
    const c = this.current;
    if (!c) return [];
    if ('plan' in outcome) {
      c.plan = outcome.plan;
      c.summary = outcome.plan.summary ?? [];
      c.finished = { cancelled: false };
    } else {
      c.finished = outcome.error.code === 'cancelled' ? { cancelled: true } : { cancelled: false, error: outcome.error };
    }
    return [this.doneMessage()];
  }

  /** The job behind a clicked curve point, or null when it names nothing of this evaluation. */
  stepJob(request: EvaluateStepRequest): EvaluateStepJob | null {
    const c = this.current;
    if (!c || !c.settings.metrics.includes(request.metric) || request.step > c.settings.evalSteps) return null;
    const maps = c.job.maps?.find((m) => m.index === request.inputIndex);
    if (!maps) return null;
    const map = request.method === RANDOM_METHOD ? null : maps.results.find((r) => r.method === request.method);
    if (map === undefined) return null;
    return {
      modelPath: c.job.modelPath,
      inputs: c.job.inputs,
      maxRows: c.job.maxRows,
      preprocess: c.job.preprocess,
      baseline: c.job.options.baseline,
      memoryBudgetMB: c.job.memoryBudgetMB,
      index: request.inputIndex,
      attribution: map === null ? null : map.attribution.data,
      metric: request.metric,
      evalSteps: c.settings.evalSteps,
      patch: c.settings.patch,
      seed: c.job.seed,
      step: request.step,
    };
  }

  /** The answer to a clicked curve point (kept for replay). */
  stepAnswered(request: EvaluateStepRequest, outcome: { result: PerturbedStep } | { error: WireError }): HostToWebview[] {
    const message: HostToWebview = { type: 'evaluate-step', evaluateId: this.evaluateId, request, ...outcome };
    this.lastStep = message;
    return [message];
  }

  replay(): HostToWebview[] {
    const c = this.current;
    if (!c) return [];
    const evaluateId = this.evaluateId;
    const out: HostToWebview[] = [this.startMessage()];
    for (const input of c.inputs) out.push({ type: 'evaluate-input', evaluateId, input });
    if (c.finished) out.push(this.doneMessage());
    if (this.lastStep) out.push(this.lastStep);
    return out;
  }

  /** The finished evaluation in the JSON layout of `pathlens evaluate` (for the HTML report), or null. */
  report(): EvaluateReport | null {
    const c = this.current;
    if (!c || !c.finished || c.finished.error || c.finished.cancelled || !c.plan || !c.summary) return null;
    const { job } = c;
    return {
      ...evaluateSettingsRecord(job, c.plan, job.bootstrap ?? 1000),
      shard: null,
      reference: { method: RANDOM_METHOD, seed: job.seed },
      inputs: [...c.inputs].sort((a, b) => a.index - b.index),
      summary: c.summary,
    };
  }

  private startMessage(): HostToWebview {
    const c = this.current!;
    return {
      type: 'evaluate-start',
      evaluateId: this.evaluateId,
      settings: c.settings,
      methods: c.job.methods,
      inputs: (c.job.maps ?? []).map((m) => ({ index: m.index, path: m.path })),
    };
  }

  private doneMessage(): HostToWebview {
    const f = this.current!.finished!;
    return {
      type: 'evaluate-done',
      evaluateId: this.evaluateId,
      cancelled: f.cancelled,
      ...(this.current!.summary ? { summary: this.current!.summary } : {}),
      ...(f.error ? { error: f.error } : {}),
    };
  }
}
