/**
 * Weight functions w(α) on [0, 1] for Path-Weighted IG (Kamalov, Al Falasi, Thabtah 2025):
 * PWIG_i = (x_i − x'_i) ∫ w(α) ∂_iF(γ(α)) dα, each family normalised so that ∫₀¹ w = 1. Only the
 * uniform weight (= IG) keeps completeness.
 */
import { PathLensError } from '../errors';

export const PATH_WEIGHTS = ['uniform', 'ramp-up', 'ramp-down', 'beta'] as const;
export type PathWeightName = (typeof PATH_WEIGHTS)[number];

export interface PathWeightSpec {
  name: PathWeightName;
  /** Beta(a, b) parameters (beta only), both ≥ 1 so the density stays bounded on [0, 1]. */
  a?: number;
  b?: number;
}

/**
 * ln Γ(z) for z > 0 (Lanczos, g = 7, 9 terms; relative error < 1e-13). One function does not justify
 * a dependency: the npm packages offering it pull ~180 modules.
 */
export function logGamma(z: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * z))) - logGamma(1 - z);
  const x = z - 1;
  let sum = c[0]!;
  for (let i = 1; i < c.length; i++) sum += c[i]! / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Checks a spec and returns w(α), normalised on [0, 1]. */
export function pathWeight(spec: PathWeightSpec): (alpha: number) => number {
  switch (spec.name) {
    case 'uniform':
      return () => 1;
    case 'ramp-up':
      return (alpha) => 2 * alpha;
    case 'ramp-down':
      return (alpha) => 2 * (1 - alpha);
    case 'beta': {
      const a = spec.a ?? 2;
      const b = spec.b ?? 2;
      for (const [flag, v] of [
        ['--beta-a', a],
        ['--beta-b', b],
      ] as const) {
        if (!(Number.isFinite(v) && v >= 1 && v <= 100)) {
          throw new PathLensError(
            'usage',
            `${flag} must be a number in [1, 100] (got ${v}); below 1 the density is unbounded at an end of the path`,
          );
        }
      }
      const norm = Math.exp(logGamma(a) + logGamma(b) - logGamma(a + b));
      // x^0 = 1 also at x = 0, where Math.pow agrees but exp((a − 1)·ln 0) would not.
      const power = (base: number, exponent: number) => (exponent === 0 ? 1 : Math.pow(base, exponent));
      return (alpha) => (power(alpha, a - 1) * power(1 - alpha, b - 1)) / norm;
    }
    default:
      throw new PathLensError('usage', `unknown path weight '${String(spec.name)}' (choose one of ${PATH_WEIGHTS.join(', ')})`);
  }
}
