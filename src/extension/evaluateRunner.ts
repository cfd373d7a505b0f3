/**
 * Runs the panel's "Evaluate" view: the evaluate job for the maps of the current comparison under a
 * cancellable progress notification (the view shows progress and a Cancel button too), and the
 * perturbed copy of a clicked curve point. State and messages live in EvaluateRunState.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EvaluatePlan, EvaluateStepRequest, EvaluateViewSettings, HostToWebview, PerturbedStep } from '../shared/protocol';
import { RANDOM_METHOD, type SummaryRow } from '../shared/evaluate';
import type { RunningJob } from '../worker/client';
import { EvaluateRunState, type EvaluationSource } from './evaluateState';
import type { Log } from './log';
import { notificationProgress } from './progress';
import { toWireError, type HostWorker } from './worker';

/** How long a cancelled evaluation may take to stop before the worker is terminated. */
const CANCEL_GRACE_MS = 4000;

export class EvaluateRunner {
  readonly state = new EvaluateRunState();
  private current: { job: RunningJob<EvaluatePlan>; cancelTimer?: NodeJS.Timeout } | null = null;
  private step: RunningJob<PerturbedStep> | null = null;

  constructor(
    private readonly worker: HostWorker,
    private readonly log: Log,
    private readonly post: (messages: HostToWebview[]) => void,
  ) {}

  get running(): boolean {
    return this.current !== null;
  }

  cancel(source: string): void {
    this.step?.cancel();
    const current = this.current;
    if (!current || current.cancelTimer) return;
    this.log.info(`evaluate: cancel requested (${source})`);
    current.job.cancel();
    current.cancelTimer = setTimeout(() => {
      if (this.current === current) void this.worker.terminate(`the evaluation did not stop within ${CANCEL_GRACE_MS} ms of Cancel`);
    }, CANCEL_GRACE_MS);
  }

  async run(source: EvaluationSource, settings: EvaluateViewSettings): Promise<void> {
    if (this.current) {
      const previous = this.current;
      this.cancel('new evaluation');
      await previous.job.result.catch(() => undefined);
      while (this.current === previous) await new Promise((r) => setTimeout(r, 10));
    }
    const { job, messages } = this.state.begin(source, settings);
    this.post(messages);
    const what = `evaluate ${job.methods.join(', ')} + ${RANDOM_METHOD} on ${source.maps.length} input(s) (${settings.metrics.join(', ')}, N = ${settings.evalSteps}${settings.patch ? `, ${settings.patch}×${settings.patch} patches` : ''})`;
    this.log.info(`${what}: ${job.modelPath}`);
    const started = Date.now();
    const title = `PathLens: faithfulness of ${job.methods.join(', ')} on ${path.basename(path.dirname(job.modelPath))}`;
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token) => {
        const bar = notificationProgress(progress);
        const running = this.worker.evaluate(job, (event) => {
          this.post(this.state.onEvent(event));
          if (event.kind === 'progress') bar.report(event.progress);
          else if (event.kind === 'evaluate-input') {
            const failed = event.input.error ? `: failed: ${event.input.error}` : '';
            this.log.info(
              `  input ${event.input.index + 1} ${path.basename(event.input.path)}: ${event.input.timing.ms.toFixed(0)} ms${failed}`,
            );
          }
        });
        this.current = { job: running };
        const onCancel = token.onCancellationRequested(() => this.cancel('notification'));
        try {
          const plan = await running.result;
          this.post(this.state.finish({ plan }));
          this.log.info(`evaluate done in ${Date.now() - started} ms${leaderboardLine(plan.summary ?? [])}`);
        } catch (err) {
          const wire = toWireError(err);
          this.post(this.state.finish({ error: wire }));
          if (wire.code === 'cancelled') this.log.info(`evaluate cancelled after ${Date.now() - started} ms`);
          else this.log.notifyError(wire.message, wire.code === 'internal' ? wire.stack : undefined);
        } finally {
          onCancel.dispose();
          if (this.current?.cancelTimer) clearTimeout(this.current.cancelTimer);
          this.current = null;
        }
      },
    );
  }

  /** Computes the perturbed input behind a clicked curve point (a newer click replaces an older one). */
  async showStep(request: EvaluateStepRequest): Promise<void> {
    const job = this.state.stepJob(request);
    if (!job) {
      this.log.warn(`evaluate: dropped a curve point request that names nothing evaluated: ${JSON.stringify(request)}`);
      return;
    }
    this.step?.cancel();
    const running = this.worker.evaluateStep(job);
    this.step = running;
    try {
      const result = await running.result;
      if (this.step === running) this.post(this.state.stepAnswered(request, { result }));
    } catch (err) {
      const error = toWireError(err);
      if (this.step === running && error.code !== 'cancelled') {
        this.post(this.state.stepAnswered(request, { error }));
        this.log.error(`evaluate: perturbed input: ${error.message}`);
      }
    } finally {
      if (this.step === running) this.step = null;
    }
  }
}

/** `; deletion: ig 1st (0.41), …` for the log. */
function leaderboardLine(rows: SummaryRow[]): string {
  const firsts = rows.filter((r) => r.rank === 1).map((r) => `${r.metric}: ${r.method} (${r.mean.toPrecision(4)})`);
  return firsts.length ? `; best ${firsts.join(', ')}` : '';
}
