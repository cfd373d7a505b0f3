/**
 * The "Sanity checks" view's state (pure, no DOM): a reducer over the host's sanity messages and the
 * data of the similarity plots. Not saved with setState: the host replays the check when the webview
 * is shown again.
 */
import type { MethodResult, Prediction, Progress, Target } from '../src/shared/types';
import type { SanityCheck, SanityEvent, SanityStepInfo, SanityStepResult, SanityVerdict } from '../src/shared/sanity';
import type { MetricName } from '../src/shared/sanity';
import type { HostToWebview, MethodInfo, WireError } from '../src/shared/protocol';
import { toFloat32, toUint8 } from './display';

export type SanityMessage = Extract<HostToWebview, { type: 'sanity-start' | 'sanity' | 'sanity-progress' | 'sanity-done' }>;
type PlanEvent = Extract<SanityEvent, { type: 'plan' }>;

export interface SanityViewState {
  sanityId: number;
  check: SanityCheck;
  inputPath: string;
  methods: MethodInfo[];
  plan: PlanEvent | null;
  original: { prediction: Prediction; target: Target; results: MethodResult[] } | null;
  /** By step index (sparse while steps arrive). */
  steps: (SanityStepResult | undefined)[];
  verdicts: SanityVerdict[] | null;
  progress: Progress | null;
  running: boolean;
  cancelled: boolean;
  error: WireError | null;
}

export function isSanityMessage(data: unknown): data is SanityMessage {
  if (!data || typeof data !== 'object') return false;
  const type = (data as { type?: unknown }).type;
  return type === 'sanity-start' || type === 'sanity' || type === 'sanity-progress' || type === 'sanity-done';
}

function normalizeResult(result: MethodResult): MethodResult {
  return { ...result, attribution: { shape: [...result.attribution.shape], data: toFloat32(result.attribution.data) } };
}

export function applySanityMessage(state: SanityViewState | null, msg: SanityMessage): SanityViewState | null {
  if (msg.type === 'sanity-start') {
    return {
      sanityId: msg.sanityId,
      check: msg.check,
      inputPath: msg.input,
      methods: msg.methods,
      plan: null,
      original: null,
      steps: [],
      verdicts: null,
      progress: null,
      running: true,
      cancelled: false,
      error: null,
    };
  }
  // Messages of an older check (or before any start) are dropped.
  if (!state || msg.sanityId !== state.sanityId) return state;
  switch (msg.type) {
    case 'sanity-progress':
      return state.running ? { ...state, progress: msg.progress } : state;
    case 'sanity-done':
      return { ...state, running: false, progress: null, cancelled: msg.cancelled, error: msg.error ?? null };
    case 'sanity': {
      const e = msg.event;
      switch (e.type) {
        case 'plan': {
          const input = e.input.display ? { ...e.input, display: { ...e.input.display, rgba: toUint8(e.input.display.rgba) } } : e.input;
          return { ...state, check: e.check, plan: { ...e, input } };
        }
        case 'original':
          return { ...state, original: { prediction: e.prediction, target: e.target, results: e.results.map(normalizeResult) } };
        case 'step': {
          const steps = [...state.steps];
          steps[e.step.index] = { ...e.step, results: e.step.results.map(normalizeResult) };
          return { ...state, steps };
        }
        case 'verdicts':
          return { ...state, verdicts: e.verdicts };
        default:
          return state;
      }
    }
    default:
      return state;
  }
}

/** The planned steps (from the plan, else those that arrived), in order. */
export function plannedSteps(state: SanityViewState): SanityStepInfo[] {
  if (state.plan) return state.plan.steps;
  return state.steps.filter((s): s is SanityStepResult => s !== undefined);
}

/** The x value of a step in the similarity plots: the layer position from the output, or the noise level in %. */
export function stepX(check: SanityCheck, step: SanityStepInfo): number {
  if (check === 'perturbation') return (step.level ?? 0) * 100;
  return step.layerIndex ?? step.index + 1;
}

export function xAxisLabel(check: SanityCheck): string {
  if (check === 'cascading') return 'layers randomized (from the output)';
  if (check === 'independent') return 'layer randomized (position from the output)';
  return 'noise σ (% of each weight tensor’s std)';
}

/**
 * One similarity plot's data: x = 0 is the original (similarity 1 to itself), then one point per
 * step that arrived (ascending x); one series per method (null where undefined or not yet computed).
 */
export function similaritySeries(
  state: SanityViewState,
  metric: MetricName,
): { x: number[]; series: { method: string; values: (number | null)[] }[] } {
  const arrived = state.steps
    .filter((s): s is SanityStepResult => s !== undefined)
    .sort((a, b) => stepX(state.check, a) - stepX(state.check, b));
  const x = [0, ...arrived.map((s) => stepX(state.check, s))];
  const series = state.methods.map((m) => ({
    method: m.name,
    values: [state.original ? 1 : null, ...arrived.map((s) => s.similarities[m.name]?.[metric] ?? null)],
  }));
  return { x, series };
}
