/**
 * The panel's "Neurons" view on the host side: offers the model's layers (with output shapes, from
 * the worker's `info`), runs neurons jobs for the panel's inputs in the worker, streams progress and
 * results, cancels, and replays the last state when the webview reloads.
 */
import type { LayerChoice, NeuronsResult } from '../shared/neurons';
import type { ExplainJob, HostToWebview, NeuronsJob, NeuronsRequest } from '../shared/protocol';
import type { ModelSummary } from '../shared/types';
import type { RunningJob } from '../worker/client';
import { toWireError, type HostWorker } from './worker';
import type { Log } from './log';

/** What the neurons job takes from the panel's explain run for one input. */
export interface NeuronsInputContext {
  job: ExplainJob;
  inputPath: string;
  target: number;
}

/** Layers with a known per-example output shape (batch dimension dropped). */
export function layerChoices(summary: ModelSummary): LayerChoice[] {
  return summary.layers.flatMap((l) => {
    const shape = l.outputShape?.slice(1);
    return shape && shape.length > 0 && shape.every((d): d is number => typeof d === 'number' && d > 0)
      ? [{ name: l.name, className: l.className, shape }]
      : [];
  });
}

export class NeuronsRunner {
  private neuronsId = 0;
  private current: RunningJob<NeuronsResult> | null = null;
  private layersMessage: HostToWebview | null = null;
  private readonly shown: HostToWebview[] = [];

  constructor(
    private readonly modelPath: string,
    private readonly worker: HostWorker,
    private readonly log: Log,
    private readonly post: (messages: HostToWebview[]) => void,
  ) {}

  /** Asks the worker for the model's layers (after a run started, so the model is cached there). */
  async offerLayers(): Promise<void> {
    try {
      const { summary } = await this.worker.info(this.modelPath).result;
      this.layersMessage = { type: 'neurons-layers', layers: layerChoices(summary) };
      this.shown.length = 0;
      this.post([this.layersMessage]);
    } catch (err) {
      this.log.warn(`neurons: could not list the model's layers: ${toWireError(err).message}`);
    }
  }

  replay(): HostToWebview[] {
    return this.layersMessage ? [this.layersMessage, ...this.shown] : [];
  }

  get running(): boolean {
    return this.current !== null;
  }

  cancel(): void {
    this.current?.cancel();
  }

  async run(request: NeuronsRequest, context: NeuronsInputContext): Promise<void> {
    this.cancel();
    const neuronsId = ++this.neuronsId;
    const job: NeuronsJob = {
      modelPath: this.modelPath,
      // A CSV row travels as `file.csv#rowN`; the neurons job reads the file's first row.
      input: context.inputPath.replace(/#row\d+$/, ''),
      layer: request.layer,
      method: request.method,
      region: request.region,
      unit: request.unit,
      target: context.target,
      output: context.job.output,
      baseline: context.job.options.baseline,
      preprocess: context.job.preprocess,
      memoryBudgetMB: context.job.memoryBudgetMB,
      seed: context.job.options.seed,
    };
    const start: HostToWebview = { type: 'neurons-start', neuronsId, request };
    this.post([start]);
    const what = request.unit ? `unit [${request.unit.join(', ')}] of ${request.layer}` : `${request.layer} (${request.method})`;
    this.log.info(`neurons: ${what} on ${job.input}${request.region ? ` region ${JSON.stringify(request.region)}` : ''}`);
    const running = this.worker.neurons(job, (event) => {
      if (event.kind === 'progress') this.post([{ type: 'neurons-progress', neuronsId, progress: event.progress }]);
    });
    this.current = running;
    try {
      const result = await running.result;
      const done: HostToWebview[] = [
        { type: 'neurons-result', neuronsId, result },
        { type: 'neurons-done', neuronsId, cancelled: false },
      ];
      this.post(done);
      this.remember([start, ...done]);
      const c = result.result?.completeness ?? result.unit?.map.completeness;
      this.log.info(`neurons: ${what} done${c ? `, δ ${(c.relative * 100).toFixed(2)} %` : ''}`);
    } catch (err) {
      const error = toWireError(err);
      this.post([{ type: 'neurons-done', neuronsId, cancelled: error.code === 'cancelled', error }]);
      if (error.code !== 'cancelled') this.log.error(`neurons: ${error.message}`);
    } finally {
      if (this.current === running) this.current = null;
    }
  }

  /** Keeps the last ranking and the last unit view for replay. */
  private remember(messages: HostToWebview[]): void {
    const isUnit = (m: HostToWebview) => m.type === 'neurons-result' && m.result.unit !== undefined;
    const unit = messages.some(isUnit);
    if (!unit) this.shown.length = 0;
    else {
      const firstUnit = this.shown.findIndex(isUnit);
      if (firstUnit >= 0) this.shown.splice(firstUnit - 1);
    }
    this.shown.push(...messages);
  }
}
