import { PathLensError } from '../errors';
import type { QuadratureRuleName } from '../types';

export const QUADRATURE_RULES: readonly QuadratureRuleName[] = [
  'gauss-legendre',
  'riemann-left',
  'riemann-right',
  'riemann-middle',
  'trapezoid',
];

/** Points α_k on [0, 1] and weights w_k with Σ w_k = 1, approximating ∫₀¹ g(α) dα ≈ Σ w_k g(α_k). */
export interface Quadrature {
  rule: QuadratureRuleName;
  alphas: number[];
  weights: number[];
}

export function quadrature(rule: QuadratureRuleName, steps: number): Quadrature {
  if (!Number.isInteger(steps) || steps < 1) throw new PathLensError('usage', `steps must be a whole number ≥ 1 (got ${steps})`);
  const n = steps;
  const range = (f: (k: number) => number) => Array.from({ length: n }, (_, k) => f(k));
  switch (rule) {
    case 'riemann-left':
      return { rule, alphas: range((k) => k / n), weights: range(() => 1 / n) };
    case 'riemann-right':
      return { rule, alphas: range((k) => (k + 1) / n), weights: range(() => 1 / n) };
    case 'riemann-middle':
      return { rule, alphas: range((k) => (k + 0.5) / n), weights: range(() => 1 / n) };
    case 'trapezoid': {
      if (n < 2) throw new PathLensError('usage', 'the trapezoid rule needs at least 2 steps (both end points)');
      // Step 1/(n−1) over n points including both ends; Captum's 1/n step under-weights by (n−1)/n.
      const h = 1 / (n - 1);
      return { rule, alphas: range((k) => k * h), weights: range((k) => (k === 0 || k === n - 1 ? h / 2 : h)) };
    }
    case 'gauss-legendre': {
      const { nodes, weights } = gaussLegendre(n);
      return { rule, alphas: nodes.map((t) => (1 + t) / 2), weights: weights.map((w) => w / 2) };
    }
    default:
      throw new PathLensError('usage', `unknown quadrature rule '${rule as string}' (choose one of ${QUADRATURE_RULES.join(', ')})`);
  }
}

/**
 * Gauss–Legendre nodes (ascending) and weights on [−1, 1]: Newton's method on P_n from the
 * Chebyshev-like initial guess, weights 2 / ((1 − t²) P'_n(t)²). Exact for polynomials of degree 2n−1.
 */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  const nodes = new Array<number>(n);
  const weights = new Array<number>(n);
  const half = Math.floor((n + 1) / 2);
  for (let i = 0; i < half; i++) {
    let t = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      // Three-term recurrence for P_n(t) and P_{n−1}(t).
      let p0 = 1;
      let p1 = t;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * t * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      derivative = (n * (t * p1 - p0)) / (t * t - 1);
      const step = p1 / derivative;
      t -= step;
      if (Math.abs(step) < 1e-15) break;
    }
    nodes[i] = -t;
    nodes[n - 1 - i] = t;
    const w = 2 / ((1 - t * t) * derivative * derivative);
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  return { nodes, weights };
}
