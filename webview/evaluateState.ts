/**
 * The "Evaluate" view's state (pure, no DOM): the form's settings, a reducer over the host's evaluate
 * messages, and the data the view draws: curves per metric (one input, or the mean over the
 * inputs), leaderboard rows, and the clicked curve point's perturbed input.
 */
import { METRIC_NAMES, METRIC_SCORE, RANDOM_METHOD, type EvaluatedInput, type MetricName, type SummaryRow } from '../src/shared/evaluate';
import type { EvaluateStepRequest, EvaluateViewSettings, HostToWebview, PerturbedStep, WireError } from '../src/shared/protocol';
import type { Progress } from '../src/shared/types';

export type EvaluateMessage = Extract<
  HostToWebview,
  { type: 'evaluate-start' | 'evaluate-progress' | 'evaluate-input' | 'evaluate-done' | 'evaluate-step' }
>;

export interface EvaluationRun {
  evaluateId: number;
  settings: EvaluateViewSettings;
  methods: string[];
  inputs: { index: number; path: string }[];
  /** Evaluated inputs by input position. */
  evaluated: Record<number, EvaluatedInput>;
  summary: SummaryRow[] | null;
  progress: Progress | null;
  running: boolean;
  cancelled: boolean;
  error: WireError | null;
}

export interface EvaluateViewState {
  /** What the form will ask for next. */
  settings: EvaluateViewSettings;
  run: EvaluationRun | null;
  /** Curves of one input (its position) or the mean over the evaluated inputs. */
  selection: number | 'mean';
  step: { request: EvaluateStepRequest; result: PerturbedStep | null; error: WireError | null } | null;
  /** A map was recomputed (new target or parameters) after the evaluation ended: it no longer describes the grid. */
  stale: boolean;
}

export const DEFAULT_EVALUATE_SETTINGS: EvaluateViewSettings = { metrics: [...METRIC_NAMES], evalSteps: 20, patch: null, bootstrap: 1000 };

export function initialEvaluateState(): EvaluateViewState {
  return { settings: DEFAULT_EVALUATE_SETTINGS, run: null, selection: 'mean', step: null, stale: false };
}

const EVALUATE_TYPES = new Set(['evaluate-start', 'evaluate-progress', 'evaluate-input', 'evaluate-done', 'evaluate-step']);

export function isEvaluateMessage(data: unknown): data is EvaluateMessage {
  return !!data && typeof data === 'object' && EVALUATE_TYPES.has((data as { type?: unknown }).type as string);
}

export function applyEvaluateMessage(state: EvaluateViewState, msg: EvaluateMessage): EvaluateViewState {
  if (msg.type === 'evaluate-start') {
    const run: EvaluationRun = {
      evaluateId: msg.evaluateId,
      settings: msg.settings,
      methods: msg.methods,
      inputs: msg.inputs,
      evaluated: {},
      summary: null,
      progress: null,
      running: true,
      cancelled: false,
      error: null,
    };
    // One input: its own curves; several: their mean first.
    const selection = msg.inputs.length === 1 ? msg.inputs[0]!.index : 'mean';
    return { ...state, settings: msg.settings, run, selection, step: null, stale: false };
  }
  const run = state.run;
  if (msg.type === 'evaluate-done' && msg.error && (!run || run.evaluateId !== msg.evaluateId)) {
    // Refused before it started (the comparison was still running): shown without a run.
    return { ...state, run: { ...emptyRun(msg.evaluateId, state.settings), running: false, error: msg.error } };
  }
  if (!run || run.evaluateId !== msg.evaluateId) return state;
  switch (msg.type) {
    case 'evaluate-progress':
      return { ...state, run: { ...run, progress: msg.progress } };
    case 'evaluate-input':
      return { ...state, run: { ...run, evaluated: { ...run.evaluated, [msg.input.index]: msg.input } } };
    case 'evaluate-done':
      return {
        ...state,
        run: { ...run, running: false, progress: null, cancelled: msg.cancelled, error: msg.error ?? null, summary: msg.summary ?? null },
      };
    case 'evaluate-step':
      return { ...state, step: { request: msg.request, result: msg.result ?? null, error: msg.error ?? null } };
  }
}

function emptyRun(evaluateId: number, settings: EvaluateViewSettings): EvaluationRun {
  return {
    evaluateId,
    settings,
    methods: [],
    inputs: [],
    evaluated: {},
    summary: null,
    progress: null,
    running: false,
    cancelled: false,
    error: null,
  };
}

/** A clicked point is pending until its answer arrives. */
export function requestStep(state: EvaluateViewState, request: EvaluateStepRequest): EvaluateViewState {
  return { ...state, step: { request, result: null, error: null } };
}

/** Methods in plot and colour order: the run's, then the random reference. */
export function plottedMethods(run: EvaluationRun): string[] {
  return [...run.methods, RANDOM_METHOD];
}

export interface CurveSeries {
  x: number[];
  series: { method: string; values: number[] }[];
  /** Inputs behind the curves (1 for one input). */
  n: number;
}

/** The curves of one metric: the selected input's, or the pointwise mean over the evaluated inputs. */
export function curveSeries(run: EvaluationRun, metric: MetricName, selection: number | 'mean'): CurveSeries | null {
  const inputs = Object.values(run.evaluated).filter((i) => !i.error && (selection === 'mean' || i.index === selection));
  if (inputs.length === 0) return null;
  const curveOf = (input: EvaluatedInput, method: string) => input.results.find((r) => r.method === method)?.metrics[metric]?.curve;
  const first = curveOf(inputs[0]!, run.methods[0] ?? RANDOM_METHOD);
  if (!first) return null;
  const x = first.map((p) => p.fraction);
  const series = plottedMethods(run).flatMap((method) => {
    const curves = inputs
      .map((i) => curveOf(i, method))
      .filter((c): c is NonNullable<typeof c> => c !== undefined && c.length === x.length);
    if (curves.length === 0) return [];
    return [{ method, values: x.map((_, k) => curves.reduce((s, c) => s + c[k]!.value, 0) / curves.length) }];
  });
  return { x, series, n: inputs.length };
}

/** The leaderboard of one metric, best first (the summary's ranks). */
export function leaderboard(run: EvaluationRun, metric: MetricName): SummaryRow[] {
  return (run.summary ?? []).filter((r) => r.metric === metric).sort((a, b) => a.rank - b.rank || a.method.localeCompare(b.method));
}

/** One input's score of one method on a metric (auc or aopc, as the leaderboard uses), if evaluated. */
export function inputScore(run: EvaluationRun, inputIndex: number, method: string, metric: MetricName): number | null {
  const curve = run.evaluated[inputIndex]?.results.find((r) => r.method === method)?.metrics[metric];
  if (!curve) return null;
  const score = METRIC_SCORE[metric].score === 'aopc' ? curve.aopc : curve.auc;
  return typeof score === 'number' ? score : null;
}

/** The series nearest to a value at step k (what a click at that height means), or null. */
export function nearestSeries(curves: CurveSeries, k: number, value: number): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const s of curves.series) {
    const d = Math.abs((s.values[k] ?? NaN) - value);
    if (d < bestDistance) [best, bestDistance] = [s.method, d];
  }
  return best;
}

/** A map arrived (recomputed for a new target or parameters): a finished evaluation is now stale. */
export function mapChanged(state: EvaluateViewState): EvaluateViewState {
  return state.run && !state.run.running && !state.stale ? { ...state, stale: true } : state;
}
