/**
 * Structural similarity (Wang et al. 2004) of two 2-D maps, with scikit-image's defaults
 * (`structural_similarity`, gaussian_weights=False):
 *   - a uniform 7×7 window (shrunk to the largest odd size ≤ min(H, W) for smaller maps), evaluated at
 *     every position where it fits inside the map (no padding), the mean SSIM over those positions;
 *   - K1 = 0.01, K2 = 0.03, C1 = (K1·L)², C2 = (K2·L)², L = data range (1 for PathLens' maps, which are
 *     scaled to [0, 1] before comparison);
 *   - sample (co)variances (divided by N − 1, N = window pixels), as skimage's use_sample_covariance.
 * SSIM(w) = (2μaμb + C1)(2σab + C2) / ((μa² + μb² + C1)(σa² + σb² + C2)).
 */
export interface SsimOptions {
  window?: number;
  k1?: number;
  k2?: number;
  dataRange?: number;
}

export const SSIM_DEFAULTS = { window: 7, k1: 0.01, k2: 0.03, dataRange: 1 };

export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, options: SsimOptions = {}): number {
  if (a.length !== height * width || b.length !== height * width) throw new RangeError(`ssim: maps must be ${height}×${width}`);
  const { k1, k2, dataRange } = { ...SSIM_DEFAULTS, ...options };
  let win = Math.min(options.window ?? SSIM_DEFAULTS.window, height, width);
  if (win % 2 === 0) win -= 1;
  if (win < 1) return NaN;
  const c1 = (k1 * dataRange) ** 2;
  const c2 = (k2 * dataRange) ** 2;
  const n = win * win;
  const cov = n > 1 ? n / (n - 1) : 1;
  let total = 0;
  let count = 0;
  for (let r = 0; r + win <= height; r++) {
    for (let c = 0; c + win <= width; c++) {
      let sa = 0,
        sb = 0,
        saa = 0,
        sbb = 0,
        sab = 0;
      for (let i = r; i < r + win; i++) {
        for (let j = c; j < c + win; j++) {
          const x = a[i * width + j]!;
          const y = b[i * width + j]!;
          sa += x;
          sb += y;
          saa += x * x;
          sbb += y * y;
          sab += x * y;
        }
      }
      const ma = sa / n;
      const mb = sb / n;
      const va = cov * (saa / n - ma * ma);
      const vb = cov * (sbb / n - mb * mb);
      const vab = cov * (sab / n - ma * mb);
      total += ((2 * ma * mb + c1) * (2 * vab + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      count++;
    }
  }
  return total / count;
}
