/**
 * What one panel knows about its model's latest run, without `vscode`: turns worker events into
 * panel messages (HostToWebview), keeps the accumulated result for exports and for replaying to a
 * webview that was hidden or reloaded, and builds the smaller jobs that setTarget / recompute need.
 */
import { isAbsolute } from 'node:path';
import type { ExplainResult, InputResult, MethodResult, ModelSummary, BackendName, Preprocessing } from '../shared/types';
import type { EvaluateMaps, ExplainJob, HostToWebview, InputStarted, MethodInfo, WireError, WorkerEvent } from '../shared/protocol';

/** What a run recomputes: everything, one input for another class, or one (input, method) map. */
export type RunScope =
  | { kind: 'full' }
  | { kind: 'target'; inputIndex: number; target: number }
  | { kind: 'recompute'; inputIndex: number; method: string; params: Record<string, string | number | boolean> };

interface InputState {
  started: InputStarted;
  results: MethodResult[];
  error?: string;
}

export type RunOutcome = { result: ExplainResult } | { error: WireError } | { cancelled: true };

/** `file.csv#row3` → `file.csv`: what the worker must load to reproduce that input. */
export function inputFile(inputPath: string): string {
  const hash = inputPath.lastIndexOf('#');
  return hash > 0 && /#row\d+$/.test(inputPath) ? inputPath.slice(0, hash) : inputPath;
}

/** Job options that are not settings and carry over from the full job to setTarget / recompute jobs. */
const CARRIED_OPTIONS = ['reference', 'patterns'] as const;

const mapParamsKey = (inputIndex: number, method: string) => `${inputIndex}:${method}`;

export class RunState {
  runId = 0;
  job: ExplainJob | null = null;
  model: ModelSummary | null = null;
  backend: BackendName | null = null;
  preprocessing: Preprocessing | null = null;
  methods: MethodInfo[] = [];
  inputCount = 0;
  inputs: (InputState | undefined)[] = [];
  runError: WireError | null = null;
  /** Errors of inputs that failed before the panel saw them. */
  orphanErrors = new Map<number, string>();
  /** null while a run is going. */
  finished: { cancelled: boolean } | null = null;
  /** Sub-run (setTarget/recompute) worker input index → panel input index. */
  private subMap = new Map<number, number>();
  /** Parameters set via recompute, per `inputIndex:method` (kept across target changes). */
  private readonly mapParams = new Map<string, Record<string, string | number | boolean>>();

  constructor(private readonly describeMethods: (names: string[]) => MethodInfo[]) {}

  get running(): boolean {
    return this.job !== null && this.finished === null;
  }

  /** A new full run: clears everything. Returns the run id. */
  beginFull(job: ExplainJob): number {
    this.runId++;
    this.job = job;
    this.model = null;
    this.backend = null;
    this.preprocessing = null;
    this.methods = this.describeMethods(job.methods);
    this.inputCount = 0;
    this.inputs = [];
    this.runError = null;
    this.orphanErrors.clear();
    this.finished = null;
    this.subMap.clear();
    this.mapParams.clear();
    return this.runId;
  }

  /** A partial run on the current results (same run id). */
  beginSub(): void {
    this.finished = null;
    this.subMap.clear();
  }

  /**
   * The jobs for a setTarget / recompute scope, or null if the input (or method) is unknown. Options
   * of the full job that are not settings (Expected Gradients' reference set, an explicit pattern file)
   * carry over; a recompute keeps its parameters for that map, so a later target change recomputes the
   * map with them (methods with the same parameters share one job).
   */
  subJobs(
    scope: Exclude<RunScope, { kind: 'full' }>,
    build: (inputs: string[], methods: string[], target: 'top' | number, params?: Record<string, string | number | boolean>) => ExplainJob,
  ): ExplainJob[] | null {
    const input = this.inputs[scope.inputIndex];
    if (!input || !this.job) return null;
    const file = inputFile(input.started.path);
    const carried: Record<string, string | number | boolean> = {};
    for (const key of CARRIED_OPTIONS) {
      const value = this.job.options[key];
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') carried[key] = value;
    }
    if (scope.kind === 'target') {
      const groups = new Map<string, { methods: string[]; params: Record<string, string | number | boolean> }>();
      for (const method of this.job.methods) {
        const params = { ...carried, ...(this.mapParams.get(mapParamsKey(scope.inputIndex, method)) ?? {}) };
        const key = JSON.stringify(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
        const group = groups.get(key);
        if (group) group.methods.push(method);
        else groups.set(key, { methods: [method], params });
      }
      return [...groups.values()].map((g) => build([file], g.methods, scope.target, g.params));
    }
    if (!this.job.methods.includes(scope.method)) return null;
    this.mapParams.set(mapParamsKey(scope.inputIndex, scope.method), { ...scope.params });
    return [build([file], [scope.method], input.started.target.index, { ...carried, ...scope.params })];
  }

  /** The parameters the user last set (recompute) for one map, if any. */
  paramsFor(inputIndex: number, method: string): Record<string, string | number | boolean> | undefined {
    return this.mapParams.get(mapParamsKey(inputIndex, method));
  }

  /** Updates the state from a worker event; returns the messages for the panel (maybe none). */
  onEvent(scope: RunScope, event: WorkerEvent): HostToWebview[] {
    const runId = this.runId;
    switch (event.kind) {
      case 'progress':
        return [{ type: 'progress', runId, progress: event.progress }];
      case 'started':
        if (scope.kind !== 'full') return [];
        this.model = event.model;
        this.backend = event.backend;
        this.preprocessing = event.preprocessing;
        this.inputCount = event.inputCount;
        this.inputs = new Array<InputState | undefined>(event.inputCount).fill(undefined);
        return [this.runMessage()];
      case 'input': {
        if (scope.kind === 'full') {
          this.inputs[event.inputIndex] = { started: event.input, results: [] };
          return [{ type: 'input', runId, inputIndex: event.inputIndex, input: event.input }];
        }
        const target = this.inputs.findIndex((s) => s?.started.path === event.input.path);
        if (target < 0 || target !== scope.inputIndex) return [];
        this.subMap.set(event.inputIndex, target);
        if (scope.kind === 'target') {
          // A target change runs one job per parameter group: the first one clears the old maps.
          const previous = this.inputs[target];
          const results = previous && previous.started.target.index === event.input.target.index ? previous.results : [];
          this.inputs[target] = { started: event.input, results };
          return [{ type: 'input', runId, inputIndex: target, input: event.input }];
        }
        return [];
      }
      case 'result': {
        const index = scope.kind === 'full' ? event.inputIndex : this.subMap.get(event.inputIndex);
        if (index === undefined) return [];
        const state = this.inputs[index];
        if (!state) return [];
        const at = state.results.findIndex((r) => r.method === event.result.method);
        if (at >= 0) state.results[at] = event.result;
        else state.results.push(event.result);
        return [{ type: 'result', runId, inputIndex: index, result: event.result }];
      }
      default:
        return [];
    }
  }

  /** The run ended: final messages (errors per input, the run error, done). */
  finish(scope: RunScope, outcome: RunOutcome): HostToWebview[] {
    const runId = this.runId;
    const out: HostToWebview[] = [];
    if ('cancelled' in outcome || ('error' in outcome && outcome.error.code === 'cancelled')) {
      this.finished = { cancelled: true };
      out.push({ type: 'done', runId, cancelled: true });
      return out;
    }
    if ('error' in outcome) {
      if (scope.kind === 'full') this.runError = outcome.error;
      const inputIndex = scope.kind === 'full' ? undefined : scope.inputIndex;
      if (inputIndex !== undefined && this.inputs[inputIndex]) this.inputs[inputIndex]!.error = outcome.error.message;
      out.push(
        inputIndex === undefined
          ? { type: 'error', runId, error: outcome.error }
          : { type: 'error', runId, inputIndex, error: outcome.error },
      );
    } else {
      const result = outcome.result;
      if (scope.kind === 'full') {
        this.model = result.model;
        this.backend = result.backend;
        this.preprocessing = result.preprocessing;
      }
      result.inputs.forEach((input, k) => {
        const index = scope.kind === 'full' ? k : (this.subMap.get(k) ?? -1);
        if (index < 0 || !input.error) return;
        const state = this.inputs[index];
        if (state) state.error = input.error;
        else this.orphanErrors.set(index, input.error);
        out.push({ type: 'error', runId, inputIndex: index, error: { code: 'input', message: `${input.path}: ${input.error}` } });
      });
    }
    this.finished = { cancelled: false };
    out.push({ type: 'done', runId, cancelled: false });
    return out;
  }

  private runMessage(): HostToWebview {
    return {
      type: 'run',
      runId: this.runId,
      model: this.model!,
      backend: this.backend!,
      preprocessing: this.preprocessing,
      methods: this.methods,
      inputCount: this.inputCount,
    };
  }

  /** Everything the panel should show now, for a webview that just (re)loaded. */
  replay(): HostToWebview[] {
    if (!this.model || !this.backend) {
      return this.runError
        ? [
            { type: 'error', runId: this.runId, error: this.runError },
            ...(this.finished ? [{ type: 'done' as const, runId: this.runId, cancelled: this.finished.cancelled }] : []),
          ]
        : [];
    }
    const out: HostToWebview[] = [this.runMessage()];
    this.inputs.forEach((state, inputIndex) => {
      if (!state) return;
      out.push({ type: 'input', runId: this.runId, inputIndex, input: state.started });
      for (const result of state.results) out.push({ type: 'result', runId: this.runId, inputIndex, result });
      if (state.error) out.push({ type: 'error', runId: this.runId, inputIndex, error: { code: 'input', message: state.error } });
    });
    for (const [inputIndex, message] of this.orphanErrors)
      out.push({ type: 'error', runId: this.runId, inputIndex, error: { code: 'input', message } });
    if (this.runError) out.push({ type: 'error', runId: this.runId, error: this.runError });
    if (this.finished) out.push({ type: 'done', runId: this.runId, cancelled: this.finished.cancelled });
    return out;
  }

  /**
   * The maps of the comparison for an evaluation, by input position: every input that has a map of
   * each method of the run (inputs that failed or were cancelled half-way are left out).
   */
  evaluationMaps(): EvaluateMaps[] {
    const methods = this.job?.methods ?? [];
    const maps: EvaluateMaps[] = [];
    this.inputs.forEach((state, index) => {
      if (!state || state.error) return;
      const results = methods.map((m) => state.results.find((r) => r.method === m));
      if (results.some((r) => r === undefined)) return;
      const { path, prediction, target } = state.started;
      maps.push({
        index,
        path,
        prediction,
        target,
        results: results.map((r) => ({ method: r!.method, params: r!.params, attribution: r!.attribution })),
      });
    });
    return maps;
  }

  /** The current results as one ExplainResult (for JSON / HTML export), or null before any input. */
  toResult(): ExplainResult | null {
    if (!this.model || !this.backend) return null;
    const inputs: InputResult[] = [];
    for (const state of this.inputs) {
      if (!state) continue;
      const { started } = state;
      inputs.push({
        path: started.path,
        prediction: started.prediction,
        target: started.target,
        results: [...state.results],
        ...(state.error ? { error: state.error } : {}),
      });
    }
    if (inputs.length === 0) return null;
    return { model: this.model, backend: this.backend, preprocessing: this.preprocessing, inputs };
  }
}

/** The model path in the webview's saved state (`model.path`, see webview/state.ts), for the panel serializer. */
export function modelPathFromState(state: unknown): string | null {
  if (!state || typeof state !== 'object') return null;
  const model = (state as { model?: unknown }).model;
  const p = model && typeof model === 'object' ? (model as { path?: unknown }).path : undefined;
  return typeof p === 'string' && p.length > 0 && p.length < 4096 && isAbsolute(p) ? p : null;
}
