/**
 * How far a path method's map is from the exact integral of the same method, path and baseline:
 * mapError ≈ ‖A − A*‖₁ / ‖A*‖₁. Two estimators, each calibrated on the zoo's models against dense
 * references (scripts/dev/map-error-*.ts; tests in test/map-error*.test.ts):
 *
 * - Jumps (adaptive Simpson): on a piecewise-linear network (ReLU/ReLU6, BN, pooling) the gradient is
 *   piecewise constant along the path, so each pixel's integrand is a step function whose steps sit at
 *   unknown places between the evaluated points. A jump J in a sub-interval of width h leaves the
 *   two-step trapezoid T_f an error uniform in ±Jh/2 (variance J²h²/12), and Simpson's error is its
 *   known part S − T_f = h/12·(2g_m − g_a − g_b) plus T_f's. Per pixel the error is then about
 *   μ_i + σ_i Z, with μ_i the summed S − T_f and σ_i² the summed sub-interval variances
 *   (x_i Δg_i h)²/12, and E|μ + σZ| ≈ √(μ² + (2/π)σ²). On smooth integrands the variance term
 *   overstates the error (conservative). On the 9 tm-objects grids (and mobilenet-v1, sign-digits,
 *   mnist) the sum was 1.01–1.11× the true error where the rule stops, and 0.62–0.76× at the 9-point
 *   first pass; JUMP_FACTOR 1.15 keeps true ≤ 1.5 × estimate at every stage (worst 1.39) and the true
 *   error 1.5–1.7 % where the rule stops at 2 %.
 * - Halving (fixed rules and discrete paths): the same rule at ⌈n/2⌉ points; the true error of the
 *   n-point map against ‖A_n − A_⌈n/2⌉‖ was 0.40–0.42 for Gauss–Legendre (estimate 0.5×), and ≈ 1 for
 *   first-order rules (Riemann, Guided IG's steps: the error halves with the step, so the difference
 *   is the error itself).
 */
export const JUMP_FACTOR = 1.15;

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
 * Estimated relative map error of a composite Simpson map (jump model above): `difference` is the
 * panels' S − T_f summed per pixel (weighted by x − x'), `variance` their sub-intervals' jump variance.
 */
export function jumpEstimate(map: ArrayLike<number>, difference: ArrayLike<number>, variance: ArrayLike<number>): number {
  const norm = l1(map);
  let spread = 0;
  for (let i = 0; i < map.length; i++) spread += Math.sqrt(difference[i]! ** 2 + (2 / Math.PI) * Math.max(0, variance[i]!));
  return norm === 0 ? (spread === 0 ? 0 : Infinity) : (JUMP_FACTOR * spread) / norm;
}
