import { describe, expect, it } from 'vitest';
import { allocate, decisionNodes } from '../src/core/path/decisionSampling';
import { logGamma, pathWeight } from '../src/core/path/pathWeights';
import { quadrature } from '../src/core/path/quadrature';

const integrate = (w: (a: number) => number, n = 64) => {
  const q = quadrature('gauss-legendre', n);
  return q.alphas.reduce((s, a, k) => s + q.weights[k]! * w(a), 0);
};

describe('Path-Weighted IG weight families', () => {
  it('log Γ matches known values', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(logGamma(10.5)).toBeCloseTo(13.940625219403763, 10);
  });

  it('every family integrates to 1 on [0, 1] and has its closed form', () => {
    for (const spec of [
      { name: 'uniform' },
      { name: 'ramp-up' },
      { name: 'ramp-down' },
      { name: 'beta', a: 2, b: 5 },
      { name: 'beta', a: 1, b: 3 },
    ] as const) {
      expect(integrate(pathWeight(spec))).toBeCloseTo(1, 10);
    }
    expect(pathWeight({ name: 'beta', a: 2, b: 3 })(0.5)).toBeCloseTo(12 * 0.5 * 0.25, 12); // 1/B(2,3) = 12
    expect(pathWeight({ name: 'beta', a: 1, b: 3 })(0)).toBeCloseTo(3, 12); // 1/B(1,3) = 3
    expect(pathWeight({ name: 'ramp-up' })(0.25)).toBe(0.5);
  });

  it('rejects Beta parameters below 1 (unbounded density) with the flag named', () => {
    expect(() => pathWeight({ name: 'beta', a: 0.5, b: 2 })).toThrow(/--beta-a must be a number in \[1, 100\]/);
  });
});

describe('Integrated Decision Gradients sampling', () => {
  it('puts the points where F changes fastest, all inside [0, 1), with widths summing to 1', () => {
    // F jumps between α = 0.2 and 0.3 (a sigmoid-like decision), flat elsewhere.
    const values = Array.from({ length: 11 }, (_, j) => (j >= 3 ? 1 : j === 2 ? 0.1 : 0));
    const { alphas, widths } = decisionNodes(values);
    expect(alphas).toHaveLength(11);
    expect(widths.reduce((a, b) => a + b, 0)).toBeCloseTo(1 - 0.1 * countEmpty(values), 12);
    expect(alphas.every((a) => a >= 0 && a < 1)).toBe(true);
    const inDecision = alphas.filter((a) => a >= 0.2 - 1e-12 && a < 0.3).length;
    expect(inDecision).toBeGreaterThanOrEqual(8);
    for (let k = 1; k < alphas.length; k++) expect(alphas[k]).toBeGreaterThan(alphas[k - 1]!);
  });

  it('follows the reference allocation: integer parts, then one point to the largest empty shares', () => {
    // normalised slopes (0, 0.5, 1, 0.25) → shares 10·(0, 0.286, 0.571, 0.143) → floors (0, 2, 5, 1);
    // 2 left: the empty interval first (as the reference), then — where the reference would overwrite a
    // filled interval's count with 1 and lose points — the largest share.
    expect(allocate([1, 3, 5, 2], 10)).toEqual([1, 2, 6, 1]);
    // shares 5·(0, 0.091, 0.091, 0.091, 0.727) → floors (0, 0, 0, 0, 3); 2 left → the largest empty shares, earlier first
    expect(allocate([0, 1, 1, 1, 8], 5)).toEqual([0, 1, 1, 0, 3]);
  });

  it('a flat path spreads points evenly', () => {
    expect(allocate([2, 2, 2], 3)).toEqual([1, 1, 1]);
  });
});

function countEmpty(values: number[]): number {
  // intervals that receive no point contribute no width
  const slopes = values.slice(1).map((v, j) => v - values[j]!);
  return allocate(slopes, values.length).filter((c) => c === 0).length;
}
