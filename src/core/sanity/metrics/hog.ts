/**
 * Histogram of Oriented Gradients (Dalal & Triggs 2005) of a 2-D map, following scikit-image's
 * `hog` (feature vector only):
 *   - gradients by central differences without the ½: g_r[i] = m[i+1] − m[i−1] (rows), likewise g_c
 *     (columns); 0 on the first/last row (for g_r) and column (for g_c);
 *   - unsigned orientation atan2(g_r, g_c) in [0°, 180°), `bins` (default 9) equal bins of 180°/bins,
 *     each pixel adding its magnitude √(g_r² + g_c²) to its bin (hard assignment, sums per cell);
 *   - cells of `cellSize`×`cellSize` pixels (default: 8 for maps of at least 32 px on the short side,
 *     else max(2, ⌊min(H, W)/4⌋), i.e. 7 for 28×28); pixels past the last whole cell are ignored;
 *   - blocks of `blockSize`×`blockSize` cells (default 2, reduced to fit), stride one cell, each
 *     L2-Hys normalised: v/√(‖v‖² + ε²), clipped at 0.2, renormalised the same way (ε = 1e-5);
 *   - the features: every block's normalised histograms, concatenated row by row.
 * The HOG similarity is the Pearson correlation of two maps' feature vectors.
 */
import { pearson } from './spearman';

export interface HogOptions {
  cellSize?: number;
  bins?: number;
  blockSize?: number;
  clip?: number;
}

const EPS = 1e-5;

export function defaultCellSize(height: number, width: number): number {
  const short = Math.min(height, width);
  return short >= 32 ? 8 : Math.max(2, Math.floor(short / 4));
}

export function hog(map: ArrayLike<number>, height: number, width: number, options: HogOptions = {}): Float64Array {
  if (map.length !== height * width) throw new RangeError(`hog: map must be ${height}×${width}`);
  const cell = options.cellSize ?? defaultCellSize(height, width);
  const bins = options.bins ?? 9;
  const clip = options.clip ?? 0.2;
  const cellsR = Math.floor(height / cell);
  const cellsC = Math.floor(width / cell);
  if (cellsR < 1 || cellsC < 1) return new Float64Array(0);
  const block = Math.max(1, Math.min(options.blockSize ?? 2, cellsR, cellsC));
  const hist = new Float64Array(cellsR * cellsC * bins);
  const binWidth = 180 / bins;
  for (let r = 0; r < cellsR * cell; r++) {
    for (let c = 0; c < cellsC * cell; c++) {
      const gr = r > 0 && r < height - 1 ? map[(r + 1) * width + c]! - map[(r - 1) * width + c]! : 0;
      const gc = c > 0 && c < width - 1 ? map[r * width + c + 1]! - map[r * width + c - 1]! : 0;
      const magnitude = Math.hypot(gr, gc);
      if (magnitude === 0) continue;
      let angle = (Math.atan2(gr, gc) * 180) / Math.PI;
      angle = ((angle % 180) + 180) % 180;
      const bin = Math.min(bins - 1, Math.floor(angle / binWidth));
      hist[(Math.floor(r / cell) * cellsC + Math.floor(c / cell)) * bins + bin] += magnitude;
    }
  }
  const blocksR = cellsR - block + 1;
  const blocksC = cellsC - block + 1;
  const per = block * block * bins;
  const out = new Float64Array(blocksR * blocksC * per);
  const v = new Float64Array(per);
  for (let br = 0; br < blocksR; br++) {
    for (let bc = 0; bc < blocksC; bc++) {
      let k = 0;
      for (let i = 0; i < block; i++)
        for (let j = 0; j < block; j++) for (let b = 0; b < bins; b++) v[k++] = hist[((br + i) * cellsC + bc + j) * bins + b]!;
      l2Hys(v, clip);
      out.set(v, (br * blocksC + bc) * per);
    }
  }
  return out;
}

function l2Hys(v: Float64Array, clip: number): void {
  const normalise = () => {
    let s = 0;
    for (const x of v) s += x * x;
    const d = Math.sqrt(s + EPS * EPS);
    for (let i = 0; i < v.length; i++) v[i] = v[i]! / d;
  };
  normalise();
  for (let i = 0; i < v.length; i++) v[i] = Math.min(v[i]!, clip);
  normalise();
}

/** Pearson correlation of the two maps' HOG features (NaN when either has constant features). */
export function hogSimilarity(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, options: HogOptions = {}): number {
  return pearson(hog(a, height, width, options), hog(b, height, width, options));
}
