/**
 * The PathLens panel (one per model, reused): creates or restores the webview, runs jobs under
 * `withProgress`, streams worker events into it, and handles its (validated) messages.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  parseWebviewMessage,
  type ExplainJob,
  type HostToWebview,
  type SanityJob,
  type WebviewToHost,
  type WireError,
  type WorkerEvent,
} from '../shared/protocol';
import { shouldOfferPatternFit } from './jobExtras';
import { exportFromPanel } from './reportExport';
import { notificationProgress } from './progress';
import { WorkerError, type RunningJob } from '../worker/client';
import type { ExplainResult } from '../shared/types';
import { modelPathFromState, RunState, type RunScope } from './runState';
import { SanityRunState } from './sanityState';
import type { SanityResult } from '../shared/sanity';
import { METRIC_LABELS } from '../shared/sanity';
import type { MethodCatalog } from '../shared/methods';
import { NeuronsRunner } from './neuronsRunner';
import { EvaluateRunner } from './evaluateRunner';
import { buildJob, type PathLensSettings } from './settings';
import { createNonce, renderPanelHtml } from './webviewHtml';
import { toWireError, type HostWorker } from './worker';
import type { Log } from './log';

export const PANEL_VIEW_TYPE = 'pathlens.panel';
const LAST_JOBS_KEY = 'pathlens.lastJobs';
const PANEL_TITLES_KEY = 'pathlens.panelTitles';
/** How long a cancelled job may take to stop before the worker is terminated. */
const CANCEL_GRACE_MS = 4000;

export interface PanelContext {
  extensionUri: vscode.Uri;
  worker: HostWorker;
  log: Log;
  settings(): PathLensSettings;
  /** Resolves a baseline file setting etc. against the model's workspace. */
  prepareJob(job: ExplainJob): ExplainJob;
  workspaceState: vscode.Memento;
  methods: MethodCatalog;
}

function describeJob(job: ExplainJob): string {
  const opts = Object.entries(job.options)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${job.methods.join(',')} on ${job.inputs.length} input(s) of ${job.modelPath} (target ${job.target}, ${job.output}${job.preprocess ? `, preprocess ${job.preprocess}` : ''}; ${opts})`;
}

/** The explain run's log lines: model loaded, and each map with its time, evaluations and δ. */
function logExplainEvent(log: Log, event: WorkerEvent): void {
  if (event.kind === 'started') {
    log.info(
      `  model loaded; backend ${event.backend}; ${event.inputCount} input(s); preprocessing ${event.preprocessing ? `${event.preprocessing.name} (${event.preprocessing.source})` : 'none'}`,
    );
  } else if (event.kind === 'result') {
    const r = event.result;
    const c = r.completeness;
    log.info(
      `  input ${event.inputIndex} ${r.method}: ${r.timing.ms.toFixed(0)} ms, ${r.timing.evaluations} evaluations${c ? `, δ ${c.delta.toExponential(2)} (${(c.relative * 100).toFixed(2)}%)` : ''}`,
    );
  }
}

/** Logs the finished run; inputs that failed are logged and shown in one warning. */
function reportFinished(log: Log, result: ExplainResult, started: number): void {
  const failed = result.inputs.filter((i) => i.error);
  log.info(`done in ${Date.now() - started} ms on ${result.backend}${failed.length ? `; ${failed.length} input(s) failed` : ''}`);
  for (const f of failed) log.error(`${f.path}: ${f.error}`);
  if (failed.length)
    void vscode.window
      .showWarningMessage(`PathLens: ${failed.length} input(s) could not be explained: ${failed[0]!.error}`, 'Show Log')
      .then((c) => c && log.channel.show(true));
}

/** How a run ended: with `error` when it failed (or was cancelled). */
export interface RunEnd {
  error?: WireError;
}

export class ExplainPanel implements vscode.Disposable {
  readonly state: RunState;
  readonly sanity: SanityRunState;
  private readonly neurons: NeuronsRunner;
  private readonly evaluation: EvaluateRunner;
  private sanityCurrent: { job: RunningJob<SanityResult>; cancelTimer?: NodeJS.Timeout } | null = null;
  private ready = false;
  /** Cancel was pressed during this run (stops the remaining jobs of a multi-job scope). */
  private cancelRequested = false;
  private current: { job: RunningJob<ExplainResult>; scope: RunScope; cancelTimer?: NodeJS.Timeout } | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  readonly onDispose = new vscode.EventEmitter<void>();

  constructor(
    readonly modelPath: string,
    readonly panel: vscode.WebviewPanel,
    private readonly ctx: PanelContext,
  ) {
    this.state = new RunState((names) => ctx.methods.infos(names));
    this.sanity = new SanityRunState((names) => ctx.methods.infos(names));
    const webview = panel.webview;
    webview.options = ExplainPanel.webviewOptions(ctx.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(ctx.extensionUri, 'media', 'icon.png');
    panel.title = ExplainPanel.title(modelPath);
    webview.html = this.html();
    this.neurons = new NeuronsRunner(modelPath, ctx.worker, ctx.log, (messages) => this.post(messages));
    this.evaluation = new EvaluateRunner(ctx.worker, ctx.log, (messages) => this.post(messages));
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw)),
      panel.onDidChangeViewState(() => {
        // Without retainContextWhenHidden a hidden webview is destroyed; it sends 'ready' again.
        if (!panel.visible) this.ready = false;
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  static title(modelPath: string): string {
    return `PathLens: ${path.basename(path.dirname(modelPath))}/${path.basename(modelPath)}`;
  }

  static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  private html(): string {
    const webview = this.panel.webview;
    const dir = vscode.Uri.joinPath(this.ctx.extensionUri, 'dist', 'webview');
    return renderPanelHtml({
      cspSource: webview.cspSource,
      nonce: createNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dir, 'main.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dir, 'main.css')).toString(),
      title: this.panel.title,
    });
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  get running(): boolean {
    return this.current !== null || this.sanityCurrent !== null || this.evaluation.running;
  }

  private post(messages: HostToWebview[]): void {
    if (!this.ready || this.disposed) return; // replayed in full when the webview says 'ready'
    for (const message of messages) void this.panel.webview.postMessage(message);
  }

  postSettings(): void {
    const s = this.ctx.settings();
    this.post([{ type: 'settings', colormap: s.colormap, divergingColormap: s.divergingColormap }]);
  }

  private lastJob(): ExplainJob | null {
    if (this.state.job) return this.state.job;
    const saved = this.ctx.workspaceState.get<Record<string, ExplainJob>>(LAST_JOBS_KEY)?.[this.modelPath];
    return saved && Array.isArray(saved.inputs) && Array.isArray(saved.methods) ? saved : null;
  }

  private async rememberJob(job: ExplainJob): Promise<void> {
    const all = { ...(this.ctx.workspaceState.get<Record<string, ExplainJob>>(LAST_JOBS_KEY) ?? {}) };
    delete all[job.modelPath];
    const entries = [...Object.entries(all), [job.modelPath, job] as const].slice(-20);
    await this.ctx.workspaceState.update(LAST_JOBS_KEY, Object.fromEntries(entries));
  }

  /** Runs a full job (cancelling a previous run of this panel). Resolves when it ended, with its error if it failed. */
  async runFull(job: ExplainJob): Promise<RunEnd> {
    if (this.current) await this.cancelAndWait();
    // New maps: an evaluation of the old ones no longer describes the comparison.
    if (this.evaluation.running) this.evaluation.cancel('new run');
    this.evaluation.state.clear();
    this.state.beginFull(job);
    void this.rememberJob(job);
    const end = await this.execute({ kind: 'full' }, [job]);
    // The worker has the model loaded now: list its layers for the Neurons view.
    if (!end.error) void this.neurons.offerLayers();
    return end;
  }

  private async runScoped(scope: Exclude<RunScope, { kind: 'full' }>): Promise<void> {
    if (this.current) {
      void vscode.window.showInformationMessage('PathLens is still computing this panel; wait for it or press Cancel first.');
      this.post([{ type: 'done', runId: this.state.runId, cancelled: false }]); // clears the panel's pending marks
      return;
    }
    if (!this.state.job) {
      const last = this.lastJob();
      if (!last) return;
      this.ctx.log.info('restored panel: running its last job again before changing it');
      await this.runFull(last);
    }
    const settings = this.ctx.settings();
    const jobs = this.state.subJobs(scope, (inputs, methods, target, params) =>
      this.ctx.prepareJob(buildJob(settings, this.modelPath, inputs, methods, target, params)),
    );
    if (!jobs || jobs.length === 0) {
      this.ctx.log.warn(
        `dropped ${scope.kind} for unknown input ${scope.inputIndex}${scope.kind === 'recompute' ? ` / method ${scope.method}` : ''}`,
      );
      this.post([{ type: 'done', runId: this.state.runId, cancelled: false }]);
      return;
    }
    this.state.beginSub();
    await this.execute(scope, jobs);
  }

  /** Runs the scope's jobs one after the other (a target change with per-map parameters needs several). */
  private async execute(scope: RunScope, jobs: ExplainJob[]): Promise<RunEnd> {
    const log = this.ctx.log;
    const job = jobs[0]!;
    const what =
      scope.kind === 'full'
        ? 'explain'
        : scope.kind === 'target'
          ? `explain input ${scope.inputIndex} for class ${scope.target}`
          : `recompute ${scope.method} on input ${scope.inputIndex}`;
    log.info(`${what}: ${describeJob(job)}`);
    const started = Date.now();
    const title =
      scope.kind === 'full'
        ? `PathLens: ${job.methods.join(', ')} on ${path.basename(path.dirname(job.modelPath))}/${path.basename(job.modelPath)}`
        : `PathLens: ${what}`;
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token): Promise<RunEnd> => {
        const bar = notificationProgress(progress);
        const listener = (event: WorkerEvent) => {
          this.post(this.state.onEvent(scope, event));
          if (event.kind === 'progress') bar.report(event.progress);
          else if (event.kind === 'started') bar.reset();
          logExplainEvent(log, event);
        };
        let cancelled = false;
        const onCancel = token.onCancellationRequested(() => {
          cancelled = true;
          this.cancel('notification');
        });
        try {
          let result: ExplainResult | null = null;
          for (const [k, part] of jobs.entries()) {
            if (k > 0) {
              if (cancelled || this.cancelRequested) throw new WorkerError('cancelled', 'Cancelled by the user.');
              log.info(`  then ${describeJob(part)}`);
            }
            const running = this.ctx.worker.explain(part, listener);
            this.current = { job: running, scope };
            this.cancelRequested = false;
            result = await running.result;
          }
          this.post(this.state.finish(scope, { result: result! }));
          reportFinished(log, result!, started);
          return {};
        } catch (err) {
          const wire = toWireError(err);
          this.post(this.state.finish(scope, { error: wire }));
          if (wire.code === 'cancelled') log.info(`cancelled after ${Date.now() - started} ms`);
          // The explain command offers "Fit Patterns…" for this one (no second notification).
          else if (scope.kind === 'full' && shouldOfferPatternFit(this.ctx.methods, job.methods, wire)) log.error(wire.message);
          else log.notifyError(wire.message, wire.code === 'internal' ? wire.stack : undefined);
          return { error: wire };
        } finally {
          onCancel.dispose();
          if (this.current?.cancelTimer) clearTimeout(this.current.cancelTimer);
          this.current = null;
          this.cancelRequested = false;
        }
      },
    );
  }

  /** Cancels the running job; a job that does not stop within a few seconds gets its worker terminated. */
  cancel(source: string): void {
    this.cancelSanity(source);
    this.neurons.cancel();
    this.evaluation.cancel(source);
    const current = this.current;
    if (!current || current.cancelTimer) return;
    this.cancelRequested = true;
    this.ctx.log.info(`cancel requested (${source})`);
    current.job.cancel();
    current.cancelTimer = setTimeout(() => {
      if (this.current === current) void this.ctx.worker.terminate(`the job did not stop within ${CANCEL_GRACE_MS} ms of Cancel`);
    }, CANCEL_GRACE_MS);
  }

  private cancelSanity(source: string): void {
    const current = this.sanityCurrent;
    if (!current || current.cancelTimer) return;
    this.ctx.log.info(`sanity check: cancel requested (${source})`);
    current.job.cancel();
    current.cancelTimer = setTimeout(() => {
      if (this.sanityCurrent === current)
        void this.ctx.worker.terminate(`the sanity check did not stop within ${CANCEL_GRACE_MS} ms of Cancel`);
    }, CANCEL_GRACE_MS);
  }

  /**
   * Runs a sanity check (ALGORITHMS.md §9) and streams it into the panel's "Sanity checks" view, with a
   * cancellable progress notification. A running check of this panel is cancelled first; an explain
   * run of this panel must end first (they share the worker).
   */
  async runSanity(job: SanityJob): Promise<RunEnd> {
    const log = this.ctx.log;
    if (this.current) {
      void vscode.window.showInformationMessage('PathLens is still explaining with this model; wait for it or press Cancel first.');
      return { error: { code: 'usage', message: 'an explanation is running' } };
    }
    if (this.sanityCurrent) {
      const previous = this.sanityCurrent;
      this.cancelSanity('new sanity check');
      await previous.job.result.catch(() => undefined);
      while (this.sanityCurrent === previous) await new Promise((r) => setTimeout(r, 10));
    }
    this.post(this.sanity.begin(job));
    const what = `sanity check (${job.check}) of ${job.methods.join(', ')} on ${path.basename(job.input)}`;
    log.info(`${what}: ${job.modelPath} (${job.output}${job.preprocess ? `, preprocess ${job.preprocess}` : ''}, seed ${job.seed ?? 0})`);
    const started = Date.now();
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `PathLens: ${what}`, cancellable: true },
      async (progress, token): Promise<RunEnd> => {
        const bar = notificationProgress(progress);
        const running = this.ctx.worker.sanity(job, (event) => {
          this.post(this.sanity.onEvent(event));
          if (event.kind === 'progress') bar.report(event.progress);
          else if (event.kind === 'sanity' && event.event.type === 'step') {
            const step = event.event.step;
            const sims = Object.entries(step.similarities).map(
              ([m, sim]) => `${m} ${sim.spearmanAbs === null ? 'n/a' : sim.spearmanAbs.toFixed(3)}`,
            );
            log.info(
              `  step ${step.index + 1} (${step.label}): ${METRIC_LABELS.spearmanAbs} ${sims.join(', ')}${step.draws ? `; kept ${step.draws.kept}/${step.draws.drawn} draws` : ''}`,
            );
          } else if (event.kind === 'sanity' && event.event.type === 'verdicts') {
            for (const v of event.event.verdicts) log.info(`  ${v.method}: ${v.status} — ${v.reason}`);
          }
        });
        this.sanityCurrent = { job: running };
        const onCancel = token.onCancellationRequested(() => this.cancelSanity('notification'));
        try {
          const result = await running.result;
          this.post(this.sanity.finish({ ok: true }));
          log.info(`sanity check done in ${Date.now() - started} ms on ${result.backend} (${result.timing.modelsBuilt} models built)`);
          return {};
        } catch (err) {
          const wire = toWireError(err);
          this.post(this.sanity.finish({ error: wire }));
          if (wire.code === 'cancelled') log.info(`sanity check cancelled after ${Date.now() - started} ms`);
          else log.notifyError(wire.message, wire.code === 'internal' ? wire.stack : undefined);
          return { error: wire };
        } finally {
          onCancel.dispose();
          if (this.sanityCurrent?.cancelTimer) clearTimeout(this.sanityCurrent.cancelTimer);
          this.sanityCurrent = null;
        }
      },
    );
  }

  private async cancelAndWait(): Promise<void> {
    const current = this.current;
    if (!current) return;
    this.cancel('new run');
    await current.job.result.catch(() => undefined);
    while (this.current === current) await new Promise((r) => setTimeout(r, 10));
  }

  private onMessage(raw: unknown): void {
    const message = parseWebviewMessage(raw);
    if (!message) {
      let shown: string;
      try {
        shown = JSON.stringify(raw)?.slice(0, 200) ?? String(raw);
      } catch {
        shown = String(raw);
      }
      this.ctx.log.warn(`dropped a malformed message from the panel: ${shown}`);
      return;
    }
    void this.handle(message).catch((err: unknown) => {
      const wire = toWireError(err);
      this.ctx.log.notifyError(wire.message, wire.code === 'internal' ? wire.stack : undefined);
    });
  }

  private async handle(message: WebviewToHost): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.postSettings();
        this.post(this.state.replay());
        this.post(this.sanity.replay());
        this.post(this.neurons.replay());
        this.post(this.evaluation.state.replay());
        return;
      case 'cancel':
        this.cancel('panel');
        return;
      case 'setTarget': {
        const outputs = this.state.model?.outputs[0]?.shape.at(-1);
        if (typeof outputs === 'number' && message.target >= outputs) {
          this.ctx.log.warn(`dropped setTarget ${message.target}: the model has ${outputs} outputs`);
          return;
        }
        return this.runScoped({ kind: 'target', inputIndex: message.inputIndex, target: message.target });
      }
      case 'recompute':
        return this.runScoped({ kind: 'recompute', inputIndex: message.inputIndex, method: message.method, params: message.params });
      case 'export':
        return exportFromPanel(message, {
          worker: this.ctx.worker,
          log: this.ctx.log,
          defaultUri: (fileName) => this.defaultExportUri(fileName),
          result: () => this.state.toResult(),
          evaluation: () => this.evaluation.state.report() ?? undefined,
        });
      case 'neurons':
        return this.runNeurons(message);
      case 'evaluate':
        return this.runEvaluate(message);
      case 'evaluate-step':
        return this.evaluation.showStep(message);
      case 'log': {
        const line = `[panel] ${message.message}`;
        if (message.level === 'error') this.ctx.log.error(line);
        else if (message.level === 'warn') this.ctx.log.warn(line);
        else this.ctx.log.info(line);
        return;
      }
    }
  }

  /** The Neurons view's request for one of this panel's inputs (with that input's target and the run's settings). */
  private async runNeurons(request: Extract<WebviewToHost, { type: 'neurons' }>): Promise<void> {
    const input = this.state.inputs[request.inputIndex]?.started;
    const job = this.state.job;
    if (!input || !job) {
      this.ctx.log.warn(`dropped a neurons request for unknown input ${request.inputIndex}`);
      return;
    }
    const { type: _type, ...neuronsRequest } = request;
    await this.neurons.run(neuronsRequest, { job, inputPath: input.path, target: input.target.index });
  }

  /** The Evaluate view's request: score every map of the comparison (the run must have ended). */
  private async runEvaluate(message: Extract<WebviewToHost, { type: 'evaluate' }>): Promise<void> {
    const job = this.state.job;
    const maps = this.state.evaluationMaps();
    const refuse = (why: string) => {
      void vscode.window.showInformationMessage(`PathLens: ${why}`);
      this.post([
        { type: 'evaluate-done', evaluateId: this.evaluation.state.evaluateId, cancelled: false, error: { code: 'usage', message: why } },
      ]);
    };
    if (this.current || !job) return refuse('the comparison is still being computed; evaluate it when its maps are there.');
    if (maps.length === 0) return refuse('no input has a map of every method yet, so there is nothing to evaluate.');
    const { type: _type, ...settings } = message;
    await this.evaluation.run({ job, maps }, settings);
  }

  private defaultExportUri(fileName: string): vscode.Uri {
    const folder =
      vscode.workspace.getWorkspaceFolder(vscode.Uri.file(this.modelPath))?.uri ?? vscode.Uri.file(path.dirname(this.modelPath));
    return vscode.Uri.joinPath(folder, fileName);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.current || this.sanityCurrent || this.evaluation.running) this.cancel('panel closed');
    this.onDispose.fire();
    this.onDispose.dispose();
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}

/** Panels by model path; creates, reuses and restores them. */
export class PanelManager implements vscode.Disposable {
  private readonly panels = new Map<string, ExplainPanel>();

  constructor(private readonly ctx: PanelContext) {}

  get(modelPath: string): ExplainPanel | undefined {
    return this.panels.get(path.resolve(modelPath));
  }

  all(): ExplainPanel[] {
    return [...this.panels.values()];
  }

  /** The model's panel, revealed (created if needed). */
  open(modelPath: string): ExplainPanel {
    const key = path.resolve(modelPath);
    const existing = this.panels.get(key);
    if (existing) {
      existing.reveal();
      return existing;
    }
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      ExplainPanel.title(key),
      { viewColumn: column, preserveFocus: false },
      ExplainPanel.webviewOptions(this.ctx.extensionUri),
    );
    return this.adopt(key, panel);
  }

  /** Restores a panel VS Code kept across a reload (its webview state names the model). */
  restore(panel: vscode.WebviewPanel, state: unknown): void {
    // The webview state names the model once a run started; a panel that only showed an error has
    // no model in its state, so fall back to the title → model map kept when panels are created.
    const byTitle = this.ctx.workspaceState.get<Record<string, string>>(PANEL_TITLES_KEY)?.[panel.title];
    const modelPath = modelPathFromState(state) ?? (typeof byTitle === 'string' && path.isAbsolute(byTitle) ? byTitle : null);
    if (!modelPath || this.panels.has(path.resolve(modelPath))) {
      this.ctx.log.warn(
        `could not restore a PathLens panel${modelPath ? ` (a panel for ${modelPath} is already open)` : ' (no model in its saved state)'}`,
      );
      panel.dispose();
      return;
    }
    this.ctx.log.info(`restored the panel of ${modelPath}`);
    this.adopt(path.resolve(modelPath), panel);
  }

  private adopt(key: string, panel: vscode.WebviewPanel): ExplainPanel {
    const p = new ExplainPanel(key, panel, this.ctx);
    const titles = { ...(this.ctx.workspaceState.get<Record<string, string>>(PANEL_TITLES_KEY) ?? {}) };
    titles[p.panel.title] = key;
    void this.ctx.workspaceState.update(PANEL_TITLES_KEY, Object.fromEntries(Object.entries(titles).slice(-50)));
    this.panels.set(key, p);
    p.onDispose.event(() => {
      if (this.panels.get(key) === p) this.panels.delete(key);
    });
    return p;
  }

  dispose(): void {
    for (const p of this.panels.values()) p.dispose();
    this.panels.clear();
  }
}
