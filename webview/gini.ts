/**
 * Sparsity of an attribution as the Gini index of |attr| (Hurley & Rickard 2009):
 * 0 when every feature carries the same magnitude, (n − 1)/n when a single feature carries it all.
 */
export function gini(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return 0;
  const mags = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    mags[i] = Number.isFinite(v) ? Math.abs(v) : 0;
  }
  mags.sort();
  let total = 0;
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    total += mags[i]!;
    weighted += (2 * (i + 1) - n - 1) * mags[i]!;
  }
  return total > 0 ? weighted / (n * total) : 0;
}
