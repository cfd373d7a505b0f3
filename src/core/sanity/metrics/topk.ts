/**
 * Top-k% intersection: the share of the k% features with the largest |value| in `a` that are also
 * among the k% largest in `b`. n = max(1, round(k·N)) features; ties broken by index (first wins), so
 * the result is deterministic. 1 = the same top features, ≈ k for unrelated maps.
 */
export function topIndices(values: ArrayLike<number>, n: number): Int32Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((x, y) => Math.abs(values[y]!) - Math.abs(values[x]!) || x - y);
  return Int32Array.from(order.slice(0, n));
}

export function topKIntersection(a: ArrayLike<number>, b: ArrayLike<number>, fraction = 0.1): number {
  if (a.length !== b.length) throw new RangeError(`topKIntersection: lengths differ (${a.length} vs ${b.length})`);
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`topKIntersection: fraction must be in (0, 1] (got ${fraction})`);
  if (a.length === 0) return NaN;
  const n = Math.max(1, Math.round(fraction * a.length));
  const inA = new Uint8Array(a.length);
  for (const i of topIndices(a, n)) inA[i] = 1;
  let shared = 0;
  for (const i of topIndices(b, n)) shared += inA[i]!;
  return shared / n;
}
