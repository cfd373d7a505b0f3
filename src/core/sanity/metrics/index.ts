/**
 * The similarity of an attribution map to a reference map (ALGORITHMS.md §9), on maps prepared the
 * same way for both:
 *   - images ([H, W, C]) are aggregated over channels to a 2-D map: Σ_c |a| for the magnitude
 *     metrics, Σ_c a for the signed Spearman; [H, W] maps are used as they are; other shapes are
 *     flat vectors (SSIM and HOG are then null);
 *   - spearmanAbs / spearmanSigned: Spearman rank correlation of |map| / the signed map;
 *   - ssim: SSIM of the magnitude maps, each scaled to [0, 1] by its own maximum (skimage defaults);
 *   - hog: Pearson correlation of the HOG features of the scaled magnitude maps;
 *   - topK: top-k% intersection of the magnitude maps (default k = 10%).
 * Undefined values (a constant map) are null.
 */
import { hogSimilarity, type HogOptions } from './hog';
import { spearman } from './spearman';
import { ssim, type SsimOptions } from './ssim';
import { topKIntersection } from './topk';

export { averageRanks, pearson, spearman } from './spearman';
export { ssim, SSIM_DEFAULTS } from './ssim';
export { hog, hogSimilarity, defaultCellSize } from './hog';
export { topKIntersection } from './topk';

import type { Similarity } from '../../../shared/sanity';

export { METRICS, METRIC_LABELS, type MetricName, type Similarity } from '../../../shared/sanity';

export interface PreparedMap {
  /** Magnitude per location (Σ_c |a| for images). */
  magnitude: Float64Array;
  /** Signed value per location (Σ_c a for images). */
  signed: Float64Array;
  /** Magnitude scaled to [0, 1] by its maximum (all zeros when the map is zero). */
  scaled: Float64Array;
  /** 2-D layout when the map is an image-like [H, W(, C)]; null for vectors. */
  grid: { height: number; width: number } | null;
}

export interface SimilarityOptions {
  /** Fraction for the top-k% intersection (default 0.1). */
  topK?: number;
  ssim?: SsimOptions;
  hog?: HogOptions;
}

export function prepareMap(data: ArrayLike<number>, shape: number[]): PreparedMap {
  let grid: PreparedMap['grid'] = null;
  let channels = 1;
  if (shape.length === 3) {
    grid = { height: shape[0]!, width: shape[1]! };
    channels = shape[2]!;
  } else if (shape.length === 2) {
    grid = { height: shape[0]!, width: shape[1]! };
  }
  const locations = data.length / channels;
  const magnitude = new Float64Array(locations);
  const signed = new Float64Array(locations);
  for (let p = 0; p < locations; p++) {
    for (let c = 0; c < channels; c++) {
      const v = data[p * channels + c]!;
      magnitude[p] += Math.abs(v);
      signed[p] += v;
    }
  }
  let max = 0;
  for (const v of magnitude) max = Math.max(max, v);
  const scaled = max > 0 ? magnitude.map((v) => v / max) : new Float64Array(locations);
  if (grid && (grid.height < 3 || grid.width < 3)) grid = null;
  return { magnitude, signed, scaled, grid };
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

export function similarity(reference: PreparedMap, other: PreparedMap, options: SimilarityOptions = {}): Similarity {
  const grid = reference.grid;
  return {
    spearmanAbs: finite(spearman(reference.magnitude, other.magnitude)),
    spearmanSigned: finite(spearman(reference.signed, other.signed)),
    ssim: grid ? finite(ssim(reference.scaled, other.scaled, grid.height, grid.width, options.ssim)) : null,
    hog: grid ? finite(hogSimilarity(reference.scaled, other.scaled, grid.height, grid.width, options.hog)) : null,
    topK: finite(topKIntersection(reference.magnitude, other.magnitude, options.topK ?? 0.1)),
  };
}
