/**
 * The data of `pathlens evaluate` (../shared/EVALUATION.md §9) that the worker, the CLI, the host and
 * the panel share: per-input curves and scores, summary rows, shards.
 */
import { schemeTableau10 } from 'd3-scale-chromatic';
import type { Prediction, Target } from './types';

export type MetricName = 'deletion' | 'insertion' | 'morf' | 'lerf';
export const METRIC_NAMES: readonly MetricName[] = ['deletion', 'insertion', 'morf', 'lerf'];

/** Which score a metric's leaderboard uses and which direction wins (§6). */
export const METRIC_SCORE: Record<MetricName, { score: 'auc' | 'aopc'; better: 'lower' | 'higher' }> = {
  deletion: { score: 'auc', better: 'lower' },
  insertion: { score: 'auc', better: 'higher' },
  morf: { score: 'aopc', better: 'higher' },
  lerf: { score: 'aopc', better: 'lower' },
};

/** The reference row every leaderboard carries. */
export const RANDOM_METHOD = 'random';

/**
 * One colour per method (Tableau 10, by position in the run's method list), grey for the random
 * reference: the Evaluate view, the report and the comparison use the same assignment.
 */
export function methodColor(method: string, methods: readonly string[]): string {
  if (method === RANDOM_METHOD) return '#8c8c8c';
  const i = methods.indexOf(method);
  return schemeTableau10[(i < 0 ? 0 : i) % schemeTableau10.length]!;
}

export interface CurvePoint {
  fraction: number;
  value: number;
}

export interface MetricCurve {
  curve: CurvePoint[];
  auc: number;
  aopc?: number;
}

export interface EvaluatedMethod {
  method: string;
  params: Record<string, unknown>;
  metrics: Partial<Record<MetricName, MetricCurve>>;
}

export interface EvaluatedInput {
  /** Position in the unsharded run's input order. */
  index: number;
  path: string;
  prediction: Prediction;
  target: Target;
  features: number;
  results: EvaluatedMethod[];
  timing: { ms: number; evaluations: number };
  error?: string;
}

export interface SummaryRow {
  metric: MetricName;
  method: string;
  score: 'auc' | 'aopc';
  better: 'lower' | 'higher';
  n: number;
  mean: number;
  ci95: [number, number];
  rank: number;
}

export interface Shard {
  index: number;
  count: number;
}

/** Everything that must agree between shards for a merge to mean anything. */
export interface EvaluateSettingsRecord {
  model: { path: string };
  backend: string;
  preprocessing: unknown;
  methods: string[];
  metrics: MetricName[];
  evalSteps: number;
  patch: number | null;
  target: 'top' | number;
  baseline: string;
  output: string;
  seed: number;
  bootstrap: number;
  /** Method flags as given (steps, rule, …): part of the settings too. */
  options: Record<string, unknown>;
}

/** The settings record of an evaluate job, from the job and what the worker reported (model, backend, preprocessing). */
export function evaluateSettingsRecord(
  job: Pick<EvaluateSettingsRecord, 'methods' | 'metrics' | 'evalSteps' | 'patch' | 'target' | 'output' | 'seed'> & {
    options: { baseline?: string };
  },
  plan: Pick<EvaluateSettingsRecord, 'model' | 'backend' | 'preprocessing'>,
  bootstrap: number,
): EvaluateSettingsRecord {
  const { methods, metrics, evalSteps, patch, target, output, seed, options } = job;
  return {
    model: plan.model,
    backend: plan.backend,
    preprocessing: plan.preprocessing,
    methods,
    metrics,
    evalSteps,
    patch,
    target,
    baseline: options.baseline ?? 'zero',
    output,
    seed,
    bootstrap,
    options: options as Record<string, unknown>,
  };
}

export interface EvaluateReport extends EvaluateSettingsRecord {
  shard: Shard | null;
  reference: { method: typeof RANDOM_METHOD; seed: number };
  inputs: EvaluatedInput[];
  summary: SummaryRow[];
}
