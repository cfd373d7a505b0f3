/**
 * Settings → jobs, without `vscode`: the host passes a getter over `workspace.getConfiguration('pathlens')`.
 * Every value is validated here, so a hand-edited settings.json cannot produce an invalid job.
 */
import type { BackendChoice, OutputKind, QuadratureRuleName } from '../shared/types';
import { NAMED_BASELINES } from '../shared/types';
import type { ExplainJob, JobMethodOptions } from '../shared/protocol';
import { DEFAULT_MEMORY_BUDGET_MB, MAX_MEMORY_BUDGET_MB, MAX_STEPS, MAX_WORKERS, MIN_MEMORY_BUDGET_MB } from '../shared/limits';

const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];
const RULES: readonly (QuadratureRuleName | 'adaptive')[] = [
  'adaptive',
  'gauss-legendre',
  'riemann-left',
  'riemann-right',
  'riemann-middle',
  'trapezoid',
];
/** Every rule a path method accepts (PGIG adds the reference's interior points). */
const PATH_RULES = [...RULES, 'interior'] as const;
export const PREPROCESS_PRESETS = ['auto', 'unit', 'signed', 'raw255', 'imagenet'] as const;
const MAGNITUDE_COLORMAPS = ['inferno', 'viridis', 'magma', 'plasma', 'cividis'] as const;
const SIGNED_COLORMAPS = ['rdbu', 'piyg'] as const;

export interface PathLensSettings {
  backend: BackendChoice;
  defaultMethods: string[];
  igSteps: number;
  igRule: QuadratureRuleName | 'adaptive';
  /** Relative completeness target of the adaptive rule. */
  igTolerance: number;
  igMapTolerance: number;
  /** Threads computing gradients (0 = one per core). */
  workers: number;
  /** A named baseline or a file path. */
  baseline: string;
  output: OutputKind;
  /** undefined = sidecar / detection / default (the core decides). */
  preprocess: string | undefined;
  memoryBudgetMB: number;
  colormap: string;
  divergingColormap: string;
  /** Path of a separately installed @tensorflow/tfjs-node ('' = none). */
  tfjsNodePath: string;
  /** Minutes an idle worker (threads, loaded models, measured batch plan) is kept for the next job; 0 = stop after each. */
  workerIdleMinutes: number;
}

export const DEFAULT_SETTINGS: PathLensSettings = {
  backend: 'auto',
  defaultMethods: ['ig', 'gradient', 'grad-x-input'],
  igSteps: 50,
  // Adaptive meets |δ| ≤ 1 % on every zoo model with a median of half GL-50's evaluations (bench).
  igRule: 'adaptive',
  igTolerance: 0.01,
  igMapTolerance: 0.02,
  workers: 0,
  baseline: 'zero',
  output: 'logit',
  preprocess: undefined,
  memoryBudgetMB: DEFAULT_MEMORY_BUDGET_MB,
  colormap: 'inferno',
  divergingColormap: 'rdbu',
  tfjsNodePath: '',
  workerIdleMinutes: 10,
};

/** `get(key)` returns the raw configured value (or undefined). */
export type SettingsGetter = (key: string) => unknown;

const oneOf = <T extends string>(value: unknown, allowed: readonly T[], fallback: T): T =>
  typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;

const intIn = (value: unknown, min: number, max: number, fallback: number): number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : fallback;

const numberIn = (value: unknown, min: number, max: number, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max ? value : fallback;

/** Reads and validates all settings; `knownMethods` filters defaultMethods to methods that exist. */
export function readSettings(get: SettingsGetter, knownMethods: readonly string[]): PathLensSettings {
  const d = DEFAULT_SETTINGS;
  const methodsRaw = get('defaultMethods');
  let defaultMethods = Array.isArray(methodsRaw)
    ? methodsRaw.filter((m): m is string => typeof m === 'string' && knownMethods.includes(m))
    : [];
  defaultMethods = [...new Set(defaultMethods)];
  if (defaultMethods.length === 0) defaultMethods = d.defaultMethods.filter((m) => knownMethods.includes(m));
  const baselineRaw = get('baseline');
  const baseline = typeof baselineRaw === 'string' && baselineRaw.trim() !== '' ? baselineRaw.trim() : d.baseline;
  const preprocessRaw = get('preprocess');
  let preprocess: string | undefined;
  if (typeof preprocessRaw === 'string') {
    const p = preprocessRaw.trim();
    if ((PREPROCESS_PRESETS as readonly string[]).includes(p)) preprocess = p === 'auto' ? undefined : p;
    else if (/^mean-std:[-\d.eE+]+(,[-\d.eE+]+)*\/[-\d.eE+]+(,[-\d.eE+]+)*$/.test(p)) preprocess = p;
  }
  const tfjsNodeRaw = get('tfjsNodePath');
  return {
    backend: oneOf(get('backend'), BACKEND_CHOICES, d.backend),
    defaultMethods,
    igSteps: intIn(get('ig.steps'), 1, MAX_STEPS, d.igSteps),
    igRule: oneOf(get('ig.rule'), RULES, d.igRule),
    igTolerance: numberIn(get('ig.tolerance'), 1e-6, 1, d.igTolerance),
    igMapTolerance: numberIn(get('ig.mapTolerance'), 1e-4, 1, d.igMapTolerance),
    workers: intIn(get('workers'), 0, MAX_WORKERS, d.workers),
    baseline,
    output: oneOf<OutputKind>(get('output'), ['logit', 'probability'], d.output),
    preprocess,
    memoryBudgetMB: intIn(get('memoryBudgetMB'), MIN_MEMORY_BUDGET_MB, MAX_MEMORY_BUDGET_MB, d.memoryBudgetMB),
    colormap: oneOf(get('colormap'), MAGNITUDE_COLORMAPS, 'inferno'),
    divergingColormap: oneOf(get('divergingColormap'), SIGNED_COLORMAPS, 'rdbu'),
    tfjsNodePath: typeof tfjsNodeRaw === 'string' ? tfjsNodeRaw.trim() : '',
    workerIdleMinutes: intIn(get('workerIdleMinutes'), 0, 1440, d.workerIdleMinutes),
  };
}

/** Whether a baseline setting names a file (resolved against the workspace by the caller). */
export function isBaselineFile(baseline: string): boolean {
  return !(NAMED_BASELINES as readonly string[]).includes(baseline);
}

/** The job for one run. `params` (from the panel's parameter section) override the settings. */
export function buildJob(
  settings: PathLensSettings,
  modelPath: string,
  inputs: string[],
  methods: string[],
  target: 'top' | number = 'top',
  params: Record<string, string | number | boolean> = {},
): ExplainJob {
  // The ig.* settings are Integrated Gradients' own: other methods keep their defaults (Guided IG 200
  // steps, Blur IG 100, …). Panel parameters override both, for the method they were set on.
  const accepted: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(params)) {
    if (key === 'steps' && (typeof value !== 'number' || !Number.isInteger(value) || value < 1)) continue;
    if (key === 'rule' && !(PATH_RULES as readonly string[]).includes(String(value))) continue;
    accepted[key] = value;
  }
  const ig = {
    steps: settings.igSteps,
    rule: settings.igRule,
    tolerance: settings.igTolerance,
    mapTolerance: settings.igMapTolerance,
    ...accepted,
  };
  const options: JobMethodOptions = { baseline: settings.baseline, seed: 0, ...accepted, methodOverrides: { ig } };
  return {
    modelPath,
    inputs,
    methods,
    target,
    output: settings.output,
    ...(settings.preprocess ? { preprocess: settings.preprocess } : {}),
    options,
    memoryBudgetMB: settings.memoryBudgetMB,
  };
}

/** Settings whose change needs a new worker (backend, native TF path). */
export function workerKey(settings: PathLensSettings): string {
  return `${settings.backend}|${settings.tfjsNodePath}|${settings.workers}`;
}
