import type { Completeness } from '../types';

/** δ = Σ attr − (F(x) − F(x')), signed and relative to |F(x) − F(x')|. */
export function completeness(attribution: ArrayLike<number>, expected: number): Completeness {
  let sum = 0;
  for (let i = 0; i < attribution.length; i++) sum += attribution[i]!;
  const delta = sum - expected;
  const relative = expected === 0 ? (delta === 0 ? 0 : Infinity) : Math.abs(delta) / Math.abs(expected);
  return { sum, expected, delta, relative };
}
