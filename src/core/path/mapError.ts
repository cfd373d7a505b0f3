/**
 * How far a path method's map is from the exact integral of the same method, path and baseline:
 * mapError ≈ ‖A − A*‖₁ / ‖A*‖₁. Two estimators, each calibrated on the zoo's models against
 * 1025-point references (scripts/dev/map-error-*.ts; tests in test/map-error*.test.ts):
 *
 * - Panels (adaptive Simpson): each panel's Simpson − trapezoid difference h/12·(−g_a + 2g_m − g_b),
 *   summed as vectors over the path and weighted by (x − x'). On these piecewise-linear networks
 *   (ReLU/ReLU6: the integrand jumps wherever a unit switches) the true error was 1.4–3.1× that sum
 *   (≈ 2× typically), so the estimate is 2.5× it.
 * - Halving (fixed rules and discrete paths): the same rule at ⌈n/2⌉ points; the true error of the
 *   n-point map against ‖A_n − A_⌈n/2⌉‖ was 0.40–0.42 for Gauss–Legendre (estimate 0.5×), and ≈ 1 for
 *   first-order rules (Riemann, Guided IG's steps: the error halves with the step, so the difference
 *   is the error itself).
 */
export const PANEL_FACTOR = 2.5;

/** Multiplier of ‖A_n − A_⌈n/2⌉‖₁/‖A_n‖₁ by the rule's observed convergence. */
export const HALVING_FACTOR: Record<string, number> = {
  'gauss-legendre': 0.5,
  trapezoid: 0.5,
  'riemann-middle': 0.5,
  'riemann-left': 1,
  'riemann-right': 1,
  'first-order': 1,
};

function l1(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.abs(values[i]!);
  return s;
}

/** ‖a − b‖₁ / ‖a‖₁ (0 for two zero maps, Infinity for a zero map with a non-zero difference). */
export function relativeL1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
  const norm = l1(a);
  return norm === 0 ? (diff === 0 ? 0 : Infinity) : diff / norm;
}

/** Estimated relative map error of an n-point map from the same rule's ⌈n/2⌉-point map. */
export function halvingEstimate(full: ArrayLike<number>, half: ArrayLike<number>, rule: string): number {
  return (HALVING_FACTOR[rule] ?? 1) * relativeL1(full, half);
}

/**
 * Estimated relative map error of a composite Simpson map from its panels' Simpson − trapezoid
 * vectors (`panelDifference`, already weighted by x − x' and summed over panels) and the map itself.
 */
export function panelEstimate(map: ArrayLike<number>, panelDifference: ArrayLike<number>): number {
  const norm = l1(map);
  const diff = l1(panelDifference);
  return norm === 0 ? (diff === 0 ? 0 : Infinity) : (PANEL_FACTOR * diff) / norm;
}
