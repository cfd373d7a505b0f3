/**
 * Separable Gaussian blur on [H, W, C] float data (plain typed arrays).
 *
 * Convention (Blur IG reuses this, so it must not change silently):
 * - 1-D kernel w[k] ∝ exp(−k² / (2σ²)) for k = −r…r with r = ceil(4σ) (truncated at 4σ),
 *   normalised so the truncated kernel sums to 1;
 * - applied along H, then along W, independently per channel;
 * - zero padding: samples outside the image count as 0 (no renormalisation at the borders, so
 *   borders fade towards 0 in whatever space the data is in);
 * - σ = 0 returns an exact copy; σ < 0 or non-finite throws.
 */

/** Normalised 1-D Gaussian kernel of length 2·ceil(4σ)+1 (σ = 0 → [1]). */
export function gaussianKernel1d(sigma: number): Float32Array {
  if (!Number.isFinite(sigma) || sigma < 0) throw new RangeError(`Gaussian sigma must be finite and ≥ 0, got ${sigma}`);
  if (sigma === 0) return Float32Array.of(1);
  const r = Math.ceil(4 * sigma);
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + r] = v;
    sum += v;
  }
  const out = new Float32Array(2 * r + 1);
  for (let i = 0; i < k.length; i++) out[i] = k[i] / sum;
  return out;
}

/** Blur `data` laid out as [height, width, channels] with standard deviation `sigma` pixels. */
export function gaussianBlur(data: ArrayLike<number>, height: number, width: number, channels: number, sigma: number): Float32Array {
  const n = height * width * channels;
  if (data.length !== n) {
    throw new RangeError(`gaussianBlur: data has ${data.length} values, expected ${height}x${width}x${channels}=${n}`);
  }
  const kernel = gaussianKernel1d(sigma);
  if (kernel.length === 1) return Float32Array.from(data);
  const r = (kernel.length - 1) / 2;
  const tmp = new Float32Array(n);
  // Vertical pass (along H).
  for (let y = 0; y < height; y++) {
    const kLo = Math.max(-r, -y),
      kHi = Math.min(r, height - 1 - y);
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = kLo; k <= kHi; k++) acc += kernel[k + r] * data[((y + k) * width + x) * channels + c];
        tmp[(y * width + x) * channels + c] = acc;
      }
    }
  }
  // Horizontal pass (along W).
  const out = new Float32Array(n);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const kLo = Math.max(-r, -x),
        kHi = Math.min(r, width - 1 - x);
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = kLo; k <= kHi; k++) acc += kernel[k + r] * tmp[(row + x + k) * channels + c];
        out[(row + x) * channels + c] = acc;
      }
    }
  }
  return out;
}
