import { describe, expect, it } from 'vitest';
import {
  averageRanks,
  hog,
  hogSimilarity,
  pearson,
  prepareMap,
  similarity,
  spearman,
  ssim,
  topKIntersection,
} from '../src/core/sanity/metrics';

describe('Spearman rank correlation', () => {
  it('averages the ranks of ties', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    expect(Array.from(averageRanks([7, 7, 7]))).toEqual([2, 2, 2]);
  });

  it('matches hand-computed values', () => {
    // No ties: 1 − 6Σd²/(n(n²−1)) = 1 − 6·2/60.
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12);
    // Ties: ranks (1, 2.5, 2.5, 4) vs (1, 2, 3, 4): 4.5/√(4.5·5).
    expect(spearman([1, 2, 2, 3], [10, 20, 30, 40])).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
    expect(spearman([1, 2, 3], [30, 20, 10])).toBeCloseTo(-1, 12);
    // Monotone transforms do not change it.
    expect(spearman([0.1, 5, 2, 9], [1, 125, 8, 729])).toBeCloseTo(1, 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
  });
});

describe('SSIM (7×7 uniform window, K1 = 0.01, K2 = 0.03, L = 1, sample covariance)', () => {
  it('is 1 for identical maps', () => {
    const a = Array.from({ length: 100 }, (_, i) => ((i * 37) % 11) / 10);
    expect(ssim(a, a, 10, 10)).toBeCloseTo(1, 12);
  });

  it('two constant maps: luminance term only', () => {
    // μa = 0.5, μb = 0.25: (2·0.125 + 1e-4)/(0.25 + 0.0625 + 1e-4)
    expect(ssim(new Array(9).fill(0.5), new Array(9).fill(0.25), 3, 3)).toBeCloseTo(0.2501 / 0.3126, 10);
  });

  it('one 3×3 window with single bright pixels in opposite corners', () => {
    // μ = 1/9, σ² = (1/9 − 1/81)·9/8 = 1/9, σab = (0 − 1/81)·9/8 = −1/72.
    const a = [1, 0, 0, 0, 0, 0, 0, 0, 0];
    const b = [0, 0, 0, 0, 0, 0, 0, 0, 1];
    const expected = ((2 / 81 + 1e-4) * (-2 / 72 + 9e-4)) / ((2 / 81 + 1e-4) * (2 / 9 + 9e-4));
    expect(expected).toBeCloseTo(-0.120461, 5);
    expect(ssim(a, b, 3, 3)).toBeCloseTo(expected, 12);
  });

  it('averages over every valid window position', () => {
    // 3×4 map, window 3: two positions.
    const a = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const b = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    const left = ssim([1, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 1], 3, 3);
    // Right window (columns 1..3): a is all zero; b has its 1 at row 2, column 2 = window index 7.
    const right = ssim([0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1, 0], 3, 3);
    expect(ssim(a, b, 3, 4)).toBeCloseTo((left + right) / 2, 12);
    // All-zero vs one pixel: (C1)(C2)/((1/81 + C1)(1/9 + C2)).
    expect(right).toBeCloseTo((1e-4 * 9e-4) / ((1 / 81 + 1e-4) * (1 / 9 + 9e-4)), 12);
  });
});

describe('HOG (9 bins, L2-Hys blocks)', () => {
  it('a vertical step edge puts everything in the 0° bin', () => {
    // Columns (0, 0, 1, 1): g_c = 1 at columns 1 and 2, g_r = 0 → orientation 0°. Cells 2×2, blocks of one cell.
    const map = [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1];
    const f = hog(map, 4, 4, { cellSize: 2, blockSize: 1 });
    expect(f.length).toBe(4 * 9);
    for (let cell = 0; cell < 4; cell++) {
      expect(f[cell * 9]).toBeCloseTo(1, 6);
      for (let b = 1; b < 9; b++) expect(f[cell * 9 + b]).toBe(0);
    }
  });

  it('a ramp r + c in one 3×3 cell: bins 0°, 40–60° and 80–100°, clipped at 0.2 and renormalised', () => {
    // Edge pixels see only one gradient direction: (0,1),(2,1) → 0° with magnitude 2; (1,0),(1,2) → 90° with 2;
    // the centre → 45° with 2√2. Histogram (4, 0, 2√2, 0, 4, 0…) → unit norm → all three > 0.2 → clip → 1/√3.
    const map = [0, 1, 2, 1, 2, 3, 2, 3, 4];
    const f = hog(map, 3, 3, { cellSize: 3, blockSize: 1 });
    expect(f.length).toBe(9);
    const third = 1 / Math.sqrt(3);
    [third, 0, third, 0, third, 0, 0, 0, 0].forEach((e, i) => expect(f[i]).toBeCloseTo(e, 6));
    // Without clipping (clip 1) the normalised histogram is (4, 2√2, 4)/√40.
    const g = hog(map, 3, 3, { cellSize: 3, blockSize: 1, clip: 1 });
    expect(g[0]).toBeCloseTo(4 / Math.sqrt(40), 6);
    expect(g[2]).toBeCloseTo((2 * Math.SQRT2) / Math.sqrt(40), 6);
  });

  it('default layout on 28×28: 7-px cells, 2×2-cell blocks → 3·3·36 features; identical maps correlate 1', () => {
    const map = Array.from({ length: 784 }, (_, i) => Math.sin(i / 7) * Math.cos(i / 13));
    expect(hog(map, 28, 28).length).toBe(3 * 3 * 36);
    expect(hogSimilarity(map, map, 28, 28)).toBeCloseTo(1, 12);
    const transposed = map.map((_, i) => map[(i % 28) * 28 + Math.floor(i / 28)]!);
    expect(hogSimilarity(map, transposed, 28, 28)).toBeLessThan(0.99);
  });
});

describe('top-k% intersection', () => {
  it('shares of the largest-|value| features', () => {
    expect(topKIntersection([5, -4, 3, 2, 1, 0, 0, 0, 0, 0], [0, 10, 0, -9, 0, 0, 0, 0, 0, 0], 0.2)).toBe(0.5);
    expect(topKIntersection([1, 2, 3, 4], [10, 20, 30, 40], 0.5)).toBe(1);
    expect(topKIntersection([4, 3, 2, 1], [1, 2, 3, 4], 0.5)).toBe(0);
    expect(() => topKIntersection([1], [1], 0)).toThrow();
  });
});

describe('similarity of prepared maps', () => {
  it('aggregates channels (Σ|a| and Σa) and scales magnitudes for SSIM/HOG', () => {
    const map = prepareMap([1, -3, 2, 2, 0, 0, -1, -1, 4, 0, 0, 0, 1, 1, 1, 1, 0, 0], [3, 3, 2]);
    expect(Array.from(map.magnitude)).toEqual([4, 4, 0, 2, 4, 0, 2, 2, 0]);
    expect(Array.from(map.signed)).toEqual([-2, 4, 0, -2, 4, 0, 2, 2, 0]);
    expect(Array.from(map.scaled)).toEqual([1, 1, 0, 0.5, 1, 0, 0.5, 0.5, 0]);
    const same = similarity(map, map);
    expect(same.spearmanAbs).toBeCloseTo(1, 12);
    expect(same.spearmanSigned).toBeCloseTo(1, 12);
    expect(same.ssim).toBeCloseTo(1, 12);
    expect(same.topK).toBe(1);
    const vector = prepareMap([1, 2, 3], [3]);
    const s = similarity(vector, prepareMap([3, 2, 1], [3]));
    expect(s.ssim).toBeNull();
    expect(s.hog).toBeNull();
    expect(s.spearmanAbs).toBeCloseTo(-1, 12);
    expect(similarity(vector, prepareMap([0, 0, 0], [3])).spearmanAbs).toBeNull();
  });
});
