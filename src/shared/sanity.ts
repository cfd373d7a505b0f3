/**
 * Data shapes of the sanity checks (ALGORITHMS.md §9), plain and structured-clone safe: they travel
 * from the worker to the host and the panel as they are.
 */
import type { MethodResult, ModelSummary, BackendName, Preprocessing, Prediction, PreparedInput, Target, OutputKind } from './types';

/** The similarity metrics of the sanity checks, in display order. */
export const METRICS = ['spearmanAbs', 'spearmanSigned', 'ssim', 'hog', 'topK'] as const;
export type MetricName = (typeof METRICS)[number];
export type Similarity = Record<MetricName, number | null>;

export const METRIC_LABELS: Record<MetricName, string> = {
  spearmanAbs: 'Spearman(|attr|)',
  spearmanSigned: 'Spearman(attr)',
  ssim: 'SSIM',
  hog: 'HOG Pearson',
  topK: 'top-k% intersection',
};

/** How one tensor of a layer was re-initialised (reported per step). */
export interface Reinitialisation {
  weight: string;
  initializer: string;
}

export const SANITY_CHECKS = ['cascading', 'independent', 'perturbation'] as const;
export type SanityCheck = (typeof SANITY_CHECKS)[number];

export const DEFAULT_LEVELS = [0.005, 0.01, 0.02, 0.05, 0.1];
export const DEFAULT_DRAWS = 3;

/**
 * Verdict thresholds (all on `metric`, default Spearman rank correlation of |attr|):
 * - randomization: a map counts as CHANGED when its similarity to the original is below this
 *   (default 0.5). Cascading passes when the map has changed after randomizing every layer;
 *   independent passes when randomizing at least `independentShare` (default ½) of the layers one at
 *   a time each changes the map.
 * - stability: a perturbation level is STABLE when the mean similarity over the kept perturbed models
 *   is at least this (default 0.8). Perturbation passes when the smallest level is stable; the reason
 *   names the largest level up to which every level is stable.
 */
export interface SanityThresholds {
  metric: MetricName;
  randomization: number;
  independentShare: number;
  stability: number;
}

export const DEFAULT_THRESHOLDS: SanityThresholds = { metric: 'spearmanAbs', randomization: 0.5, independentShare: 0.5, stability: 0.8 };

/** The settings of a sanity check beyond model, input and methods (the job and the core request share them). */
export interface SanitySettings {
  check: SanityCheck;
  target: 'top' | number;
  output: OutputKind;
  memoryBudgetMB?: number;
  /** Seed of re-initialisation and noise (default 0; reported). */
  seed?: number;
  /** Perturbation noise levels relative to each weight tensor's std (default 0.005, 0.01, 0.02, 0.05, 0.1). */
  levels?: number[];
  /** Perturbed models drawn per level (default 3). */
  draws?: number;
  thresholds?: Partial<SanityThresholds>;
  /** Fraction of the top-k% intersection (default 0.1). */
  topK?: number;
}

export interface SanityLayer {
  /** Layer name (layers models) or node name (graph models). */
  name: string;
  /** Short name for column headers (graph models: the node's scope without the op suffix). */
  label: string;
  className: string;
  params: number;
  /** Manifest names of the weights that are replaced. */
  weights: string[];
}

/** One planned step: the model it uses, before anything is computed. */
export interface SanityStepInfo {
  index: number;
  /** Column header: the (short) name of the layer just randomized (cascading), the layer (independent) or the noise level ('1%'). */
  label: string;
  /** Layers whose weights are random in this step (cascading: cumulative, output first). */
  randomized: string[];
  /** Cascading/independent: 1-based position of the layer counted from the output; perturbation: undefined. */
  layerIndex?: number;
  /** Perturbation: noise σ relative to each weight tensor's std. */
  level?: number;
}

export interface PerturbationDraws {
  drawn: number;
  kept: number;
  /** Per draw: the perturbed model's top-1 class and whether it was kept (same class as the original). */
  draws: { seed: string; predicted: number; kept: boolean }[];
}

export interface SanityStepResult extends SanityStepInfo {
  /** How each replaced tensor was re-initialised (randomization; the layer added in this step). */
  reinitialised?: Reinitialisation[];
  /** Top-1 of the modified model (perturbation: of the first kept draw). */
  prediction: { index: number; score: number } | null;
  draws?: PerturbationDraws;
  /** Maps of this step's model, one per method in request order (perturbation: the first kept draw; empty when none was kept). */
  results: MethodResult[];
  /** Similarity to the original map, per method (perturbation: the mean over kept draws; null metrics when none was kept). */
  similarities: Record<string, Similarity>;
  /** Perturbation: the similarity of every kept draw, per method. */
  perDraw?: Record<string, Similarity[]>;
}

export type VerdictStatus = 'pass' | 'fail' | 'inconclusive';

export interface SanityVerdict {
  method: string;
  check: SanityCheck;
  status: VerdictStatus;
  metric: MetricName;
  /** One line, e.g. "fails randomization: Spearman(|attr|) stays 0.93 after randomizing every layer". */
  reason: string;
}

export interface SanityMethodInfo {
  name: string;
  title: string;
  complete: boolean;
}

/** Streamed while a sanity check runs (the panel builds its grid, plots and verdicts from these). */
export type SanityEvent =
  | {
      type: 'plan';
      check: SanityCheck;
      /** The input as the overlays need it (display image for images). */
      input: SanityInputInfo;
      seed: number;
      thresholds: SanityThresholds;
      topK: number;
      methods: SanityMethodInfo[];
      layers: SanityLayer[];
      steps: SanityStepInfo[];
    }
  | { type: 'original'; prediction: Prediction; target: Target; results: MethodResult[] }
  | { type: 'step'; step: SanityStepResult }
  | { type: 'verdicts'; verdicts: SanityVerdict[] };

export interface SanityInputInfo {
  path: string;
  kind: PreparedInput['kind'];
  shape: number[];
  display?: PreparedInput['display'];
}

export interface SanityResult {
  model: ModelSummary;
  backend: BackendName;
  preprocessing: Preprocessing | null;
  input: SanityInputInfo;
  check: SanityCheck;
  seed: number;
  thresholds: SanityThresholds;
  topK: number;
  methods: SanityMethodInfo[];
  layers: SanityLayer[];
  prediction: Prediction;
  target: Target;
  original: MethodResult[];
  steps: SanityStepResult[];
  verdicts: SanityVerdict[];
  timing: { ms: number; modelsBuilt: number };
}
