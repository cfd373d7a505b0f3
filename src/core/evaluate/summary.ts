/**
 * Per-metric, per-method summary over the inputs of a run (§7 of ../shared/EVALUATION.md): mean,
 * percentile-bootstrap 95 % interval of the mean, and competition ranks in the metric's direction.
 */
import { createRng } from '../random';
import { METRIC_SCORE, type MetricName, type SummaryRow } from '../../shared/evaluate';

export type { SummaryRow };

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** Linear interpolation between order statistics (numpy's default "linear" percentile). */
function percentile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * [2.5th, 97.5th] percentile of B resampled means (inputs drawn with replacement, seeded). Clamped to
 * contain the sample mean, which floating-point summation could otherwise put a hair outside.
 */
export function bootstrapCi(scores: readonly number[], resamples: number, seed: number | string): [number, number] {
  const n = scores.length;
  if (n === 0) throw new RangeError('bootstrap needs at least one score');
  const m = mean(scores);
  const rng = createRng(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += scores[rng.int(n)];
    means[b] = s / n;
  }
  means.sort();
  return [Math.min(percentile(means, 0.025), m), Math.max(percentile(means, 0.975), m)];
}

/** Competition ranks (1, 1, 3) of means in the given direction; equal means share the better rank. */
export function competitionRanks(means: readonly number[], better: 'lower' | 'higher'): number[] {
  const beats = (a: number, b: number) => (better === 'lower' ? a < b : a > b);
  return means.map((m) => 1 + means.filter((other) => beats(other, m)).length);
}

/**
 * Summary rows for every (metric, method), from scores[metric][method] = per-input scores in input
 * order. The bootstrap seed of each row mixes the run seed with metric and method so rows are
 * independent yet reproducible in any process (shards, merge).
 */
export function summarize(
  metrics: readonly MetricName[],
  methods: readonly string[],
  scores: (metric: MetricName, method: string) => number[],
  resamples: number,
  seed: number,
): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const metric of metrics) {
    const { score, better } = METRIC_SCORE[metric];
    const perMethod = methods.map((method) => scores(metric, method));
    const means = perMethod.map((s) => mean(s));
    const ranks = competitionRanks(means, better);
    methods.forEach((method, i) => {
      const s = perMethod[i];
      rows.push({
        metric,
        method,
        score,
        better,
        n: s.length,
        mean: means[i],
        ci95: bootstrapCi(s, resamples, `${seed}:${metric}:${method}`),
        rank: ranks[i],
      });
    });
  }
  return rows;
}
