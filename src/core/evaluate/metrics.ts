/**
 * Faithfulness metrics of ../shared/EVALUATION.md as pure functions: features and scores (§2), ranking
 * with its tie-breaking (§3), step counts (§4), perturbed copies (§5) and curve scores (§6). No TF.js
 * here: the evaluator feeds the copies through the model and hands back the values.
 */
import type { Rng } from '../random';
import { METRIC_SCORE, type MetricCurve, type MetricName } from '../../shared/evaluate';

export { METRIC_NAMES, METRIC_SCORE } from '../../shared/evaluate';
export type { CurvePoint, MetricCurve, MetricName } from '../../shared/evaluate';

/** Features of one input: `members[j]` lists the flat element offsets of feature j (all channels). */
export interface FeatureLayout {
  count: number;
  members: Int32Array[];
}

/**
 * Features of an input of the given shape (batch dimension excluded). Rank 3 is an NHWC image: one
 * feature per pixel, or per p×p patch (edge patches smaller). Any other rank: one feature per element.
 */
export function featureLayout(shape: readonly number[], patch: number | null): FeatureLayout {
  const size = shape.reduce((a, b) => a * b, 1);
  if (shape.length !== 3) {
    if (patch !== null) throw new RangeError(`--patch needs an image input (rank 3, H×W×C); this input has shape [${shape.join(', ')}]`);
    const members = Array.from({ length: size }, (_, j) => Int32Array.of(j));
    return { count: size, members };
  }
  const [h, w, c] = shape;
  const p = patch ?? 1;
  const rows = Math.ceil(h / p);
  const cols = Math.ceil(w / p);
  const members: Int32Array[] = [];
  for (let r = 0; r < rows; r++) {
    for (let col = 0; col < cols; col++) {
      const y1 = Math.min((r + 1) * p, h);
      const x1 = Math.min((col + 1) * p, w);
      const offsets = new Int32Array((y1 - r * p) * (x1 - col * p) * c);
      let n = 0;
      for (let y = r * p; y < y1; y++)
        for (let x = col * p; x < x1; x++) for (let ch = 0; ch < c; ch++) offsets[n++] = (y * w + x) * c + ch;
      members.push(offsets);
    }
  }
  return { count: rows * cols, members };
}

/** s_j: the signed sum of the attribution over every element of feature j (float64). */
export function featureScores(attribution: ArrayLike<number>, layout: FeatureLayout): Float64Array {
  const scores = new Float64Array(layout.count);
  layout.members.forEach((offsets, j) => {
    let s = 0;
    for (const o of offsets) s += attribution[o];
    scores[j] = s;
  });
  return scores;
}

/** π: features by score descending, ties (including +0/−0) by index ascending. */
export function rankFeatures(scores: ArrayLike<number>): Int32Array {
  const order = Int32Array.from({ length: scores.length }, (_, j) => j);
  // Comparing with < and > treats +0 and −0 as equal; NaN scores would break the order, so refuse them.
  for (let j = 0; j < scores.length; j++) if (Number.isNaN(scores[j])) throw new RangeError(`feature ${j} has a NaN attribution score`);
  return order.sort((a, b) => (scores[a] > scores[b] ? -1 : scores[a] < scores[b] ? 1 : a - b));
}

/** A seeded uniformly random ranking (Fisher–Yates): the "no better than chance" reference. */
export function randomRanking(count: number, rng: Rng): Int32Array {
  const order = Int32Array.from({ length: count }, (_, j) => j);
  for (let i = count - 1; i > 0; i--) {
    const k = rng.int(i + 1);
    [order[i], order[k]] = [order[k], order[i]];
  }
  return order;
}

/** m_k = round-half-up(k·D/N) in exact integer arithmetic (BigInt guards against 2·k·D overflow). */
export function stepCounts(features: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`--eval-steps must be a positive integer, got ${steps}`);
  const d = BigInt(features);
  const n = BigInt(steps);
  return Array.from({ length: steps + 1 }, (_, k) => Number((2n * BigInt(k) * d + n) / (2n * n)));
}

/** The feature order a metric perturbs in: π, or π reversed for LeRF. */
export function metricOrder(metric: MetricName, ranking: Int32Array): Int32Array {
  return metric === 'lerf' ? ranking.slice().reverse() : ranking;
}

/**
 * The N + 1 perturbed copies of one metric, concatenated (copy k at offset k·size). Deletion, MoRF and
 * LeRF start from x and replace features by x'; insertion starts from x' and takes features from x.
 */
export function perturbedCopies(
  metric: MetricName,
  input: ArrayLike<number>,
  baseline: ArrayLike<number>,
  layout: FeatureLayout,
  ranking: Int32Array,
  steps: number,
): Float32Array {
  const size = input.length;
  const [start, source] = metric === 'insertion' ? [baseline, input] : [input, baseline];
  const order = metricOrder(metric, ranking);
  const counts = stepCounts(layout.count, steps);
  const out = new Float32Array(size * (steps + 1));
  const current = Float32Array.from(start);
  let affected = 0;
  counts.forEach((m, k) => {
    for (; affected < m; affected++) for (const o of layout.members[order[affected]]) current[o] = source[o];
    out.set(current, k * size);
  });
  return out;
}

/** The copy of one step alone (for showing the perturbed input at a clicked curve point). */
export function perturbedCopyAt(
  metric: MetricName,
  input: ArrayLike<number>,
  baseline: ArrayLike<number>,
  layout: FeatureLayout,
  ranking: Int32Array,
  steps: number,
  k: number,
): Float32Array {
  const [start, source] = metric === 'insertion' ? [baseline, input] : [input, baseline];
  const order = metricOrder(metric, ranking);
  const m = stepCounts(layout.count, steps)[k];
  const current = Float32Array.from(start);
  for (let i = 0; i < m; i++) for (const o of layout.members[order[i]]) current[o] = source[o];
  return current;
}

/** Trapezoid over fraction ∈ [0, 1] with N equal steps. */
export function curveAuc(values: readonly number[]): number {
  const n = values.length - 1;
  if (n < 1) throw new RangeError('a curve needs at least two points');
  let sum = 0;
  for (const v of values) sum += v;
  return (sum - values[0] / 2 - values[n] / 2) / n;
}

/** AOPC = 1/(N+1)·Σ (v_0 − v_k). */
export function curveAopc(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += values[0] - v;
  return sum / values.length;
}

/** The curve and scores of one metric from its N + 1 values. */
export function metricCurve(metric: MetricName, values: readonly number[]): MetricCurve {
  const n = values.length - 1;
  const curve = values.map((value, k) => ({ fraction: k / n, value }));
  const auc = curveAuc(values);
  return metric === 'morf' || metric === 'lerf' ? { curve, auc, aopc: curveAopc(values) } : { curve, auc };
}

/** The leaderboard score of a metric curve. */
export function metricScore(metric: MetricName, result: MetricCurve): number {
  return METRIC_SCORE[metric].score === 'aopc' ? (result.aopc as number) : result.auc;
}
