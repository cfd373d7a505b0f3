/**
 * Integrated Decision Gradients' placement of path points (Walker et al., AAAI 2024, "adaptive
 * sampling"): a coarse forward pass measures how fast F changes along the path, and more points go
 * where it changes most. Follows the reference code (chasewalker26/Integrated-Decision-Gradients)
 * with two corrections: each interval's points go to the interval whose slope was measured (the
 * reference shifts them one interval to the right, the last one beyond α = 1), and points left over
 * after every interval holds one go to the largest shares (the reference overwrites a count with 1,
 * losing points).
 */
import { PathLensError } from '../errors';

export interface DecisionNodes {
  /** Points on [0, 1), increasing. */
  alphas: number[];
  /** Width of the sub-interval each point starts (a left Riemann rule on the non-uniform grid). */
  widths: number[];
}

/**
 * `values` are F at m = values.length uniformly spaced points α_j = j/(m − 1) (both ends included).
 * Returns m points: interval j (from α_{j−1} to α_j) gets a share of them proportional to its
 * min–max-normalised slope, at least the integer part; the points left over go one each to the
 * intervals with no point yet whose share is largest (ties: the earlier interval).
 */
export function decisionNodes(values: ArrayLike<number>): DecisionNodes {
  const m = values.length;
  if (m < 3) throw new PathLensError('usage', `Integrated Decision Gradients needs at least 3 steps (got ${m})`);
  const step = 1 / (m - 1);
  const slopes = Array.from({ length: m - 1 }, (_, j) => (values[j + 1]! - values[j]!) / step);
  const counts = allocate(slopes, m);
  const alphas: number[] = [];
  const widths: number[] = [];
  counts.forEach((count, j) => {
    for (let k = 0; k < count; k++) {
      alphas.push(j * step + (k * step) / count);
      widths.push(step / count);
    }
  });
  return { alphas, widths };
}

/** How many of `total` points each interval gets (the reference's rounding, see decisionNodes). */
export function allocate(slopes: number[], total: number): number[] {
  const min = Math.min(...slopes);
  const max = Math.max(...slopes);
  // A flat path (every slope equal) has no decision region: spread the points evenly.
  const normalised = max > min ? slopes.map((s) => (s - min) / (max - min)) : slopes.map(() => 1);
  const sum = normalised.reduce((a, b) => a + b, 0);
  const shares = normalised.map((s) => (s / sum) * total);
  const counts = shares.map((s) => Math.floor(s));
  let left = total - counts.reduce((a, b) => a + b, 0);
  const empty = shares
    .map((share, j) => ({ share, j }))
    .filter(({ j }) => counts[j] === 0)
    .sort((a, b) => b.share - a.share || a.j - b.j);
  for (const { j } of empty) {
    if (left === 0) break;
    counts[j] = 1;
    left -= 1;
  }
  // Every interval already holds a point (only when shares are nearly uniform): the rest go to the largest shares.
  for (const j of shares.map((_, i) => i).sort((a, b) => shares[b]! - shares[a]! || a - b)) {
    if (left === 0) break;
    counts[j]! += 1;
    left -= 1;
  }
  return counts;
}
