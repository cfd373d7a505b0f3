/**
 * How far a path method's map is from the exact integral of the same method, path and baseline:
 * mapError ≈ ‖A − A*‖₁ / ‖A*‖₁. Two estimators, each calibrated on the zoo's models against dense
 * references (scripts/dev/map-error-*.ts; tests in test/map-error*.test.ts):
 *
 * - Jumps (adaptive trapezoid): on a piecewise-linear network (ReLU/ReLU6, BN, pooling) the gradient
 *   is piecewise constant along the path, so each pixel's integrand is a step function whose steps sit
 *   at unknown places between the evaluated points. A jump J in an interval of width h leaves the
 *   trapezoid an error uniform in ±Jh/2: mean 0, variance J²h²/12. Per pixel the error is then about
 *   σ_i Z with σ_i² the summed interval variances (x_i Δg_i h)²/12, and E|σZ| = √(2/π)σ. A wide
 *   interval may hold several kinks of one pixel whose jumps cancel in Δg (a unit switching on and
 *   off again), unseen by that variance; the chance of two kinks in an interval grows as h², so each
 *   interval's variance is inflated by 1 + HIDDEN_KINKS·h². On smooth integrands the estimate
 *   overstates the error (conservative). Calibrated on the dense grids of the 9 tm-objects samples,
 *   mobilenet-v1, sign-digits and mnist-cnn (scripts/dev/map-error-levels.ts, map-error-intervals.ts):
 *   on uniform levels without the inflation true/estimate was 1.3–1.7 at 8 intervals, 1.1–1.5 at 16
 *   and 0.9–1.1 from 128 on. HIDDEN_KINKS 100 and JUMP_FACTOR 1.05 keep true ≤ 1.5 × estimate at every
 *   stage of the adaptive rule (worst 1.07 on tm-objects, 1.31 on mnist-cnn's first pass) and stop at a
 *   true error of 1.7–1.9 % (estimate/true 1.02–1.09) where the rule stops at 2 %.
 * - Halving (fixed rules and discrete paths): the same rule at ⌈n/2⌉ points; the true error of the
 *   n-point map against ‖A_n − A_⌈n/2⌉‖ was 0.40–0.42 for Gauss–Legendre (estimate 0.5×), and ≈ 1 for
 *   first-order rules (Riemann, Guided IG's steps: the error halves with the step, so the difference
 *   is the error itself).
 */
export const JUMP_FACTOR = 1.05;

/** Inflation of an interval's jump variance for unseen kinks: 1 + HIDDEN_KINKS · h² (h in α). */
export const HIDDEN_KINKS = 100;

/** Variance of the trapezoid's error on an interval of width h per unit jump (x Δg)², kinks included. */
export function jumpVarianceWeight(h: number): number {
  return ((h * h) / 12) * (1 + HIDDEN_KINKS * h * h);
}

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
 * Estimated relative map error of a composite trapezoid map (jump model above): `variance` is the
 * intervals' jump variance summed per pixel (weighted by (x − x')², jumpVarianceWeight).
 */
export function jumpEstimate(map: ArrayLike<number>, variance: ArrayLike<number>): number {
  const norm = l1(map);
  let spread = 0;
  for (let i = 0; i < map.length; i++) {
    const v = variance[i]!;
    if (v > 0) spread += Math.sqrt(v);
  }
  return norm === 0 ? (spread === 0 ? 0 : Infinity) : (JUMP_FACTOR * Math.sqrt(2 / Math.PI) * spread) / norm;
}
