import { describe, expect, it } from 'vitest';
import { gaussianBlur, gaussianKernel1d } from '../src/core/input/blur';
import { createRng } from '../src/core/random';

/** Direct 2-D convolution with the outer-product kernel and zero padding. */
function direct(data: Float32Array, h: number, w: number, c: number, sigma: number): Float32Array {
  const k = gaussianKernel1d(sigma);
  const r = (k.length - 1) / 2;
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let dy = -r; dy <= r; dy++)
          for (let dx = -r; dx <= r; dx++) {
            const yy = y + dy,
              xx = x + dx;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            acc += k[dy + r] * k[dx + r] * data[(yy * w + xx) * c + ch];
          }
        out[(y * w + x) * c + ch] = acc;
      }
  return out;
}

describe('gaussianKernel1d', () => {
  it('is normalised, symmetric and truncated at 4σ', () => {
    const k = gaussianKernel1d(1.3);
    expect(k.length).toBe(2 * Math.ceil(4 * 1.3) + 1);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    for (let i = 0; i < k.length; i++) expect(k[i]).toBeCloseTo(k[k.length - 1 - i], 7);
    expect(k[6] / k[7]).toBeCloseTo(Math.exp(1 / (2 * 1.3 * 1.3)), 4);
    expect(Array.from(gaussianKernel1d(0))).toEqual([1]);
    expect(() => gaussianKernel1d(-1)).toThrow();
  });
});

describe('gaussianBlur', () => {
  it('equals a direct 2-D convolution (zero padding), per channel', () => {
    const rng = createRng(5);
    for (const [h, w, c, sigma] of [
      [9, 7, 3, 1.2],
      [5, 12, 1, 0.7],
      [4, 4, 2, 3],
    ] as const) {
      const data = Float32Array.from({ length: h * w * c }, () => rng.range(-1, 1));
      const got = gaussianBlur(data, h, w, c, sigma);
      const want = direct(data, h, w, c, sigma);
      for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i], 5);
    }
  });
  it('σ = 0 is the identity (a copy)', () => {
    const data = Float32Array.of(1, 2, 3, 4);
    const out = gaussianBlur(data, 2, 2, 1, 0);
    expect(Array.from(out)).toEqual([1, 2, 3, 4]);
    expect(out).not.toBe(data);
  });
  it('fades borders to 0 (zero padding) and preserves interior constants', () => {
    const data = new Float32Array(21 * 21).fill(1);
    const out = gaussianBlur(data, 21, 21, 1, 1);
    expect(out[10 * 21 + 10]).toBeCloseTo(1, 5);
    expect(out[0]).toBeLessThan(0.5);
  });
  it('checks the data length', () => {
    expect(() => gaussianBlur(new Float32Array(5), 2, 2, 1, 1)).toThrow();
  });
});
