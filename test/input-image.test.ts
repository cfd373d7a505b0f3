import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { PathLensError } from '../src/core/errors';
import { centerCropSquare, decodeImage, resizeBilinear, sniffImageFormat } from '../src/core/input/image';

const ZOO = '/work/shared/zoo';

function pngBytes(w: number, h: number, fill: (x: number, y: number) => [number, number, number, number]): Uint8Array {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) png.data.set(fill(x, y), (y * w + x) * 4);
  return new Uint8Array(PNG.sync.write(png));
}

describe('decodeImage', () => {
  it('decodes the real zoo PNG and JPEG samples', () => {
    const png = decodeImage(readFileSync(`${ZOO}/mnist-cnn/samples/sample_digit.png`), 'digit.png');
    expect([png.width, png.height]).toEqual([1490, 1480]);
    expect(png.rgba.length).toBe(1490 * 1480 * 4);
    const jpg = decodeImage(readFileSync(`${ZOO}/tm-objects/samples/apple_a11.jpeg`), 'apple.jpeg');
    expect([jpg.width, jpg.height]).toEqual([275, 183]);
    expect(jpg.rgba.length).toBe(275 * 183 * 4);
    expect(jpg.rgba[3]).toBe(255);
  });

  it('detects the format by magic bytes, not by extension', () => {
    const bytes = pngBytes(2, 1, (x) => [x * 200, 10, 20, 255]);
    expect(sniffImageFormat(bytes)).toBe('png');
    const img = decodeImage(bytes, 'misnamed.jpg');
    expect(Array.from(img.rgba)).toEqual([0, 10, 20, 255, 200, 10, 20, 255]);
    const j = jpeg.encode({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(128) }, 95).data;
    expect(sniffImageFormat(j)).toBe('jpeg');
    const jd = decodeImage(j, 'photo.png');
    expect(jd.width).toBe(8);
    expect(Math.abs(jd.rgba[0] - 128)).toBeLessThanOrEqual(2);
  });

  it('gives a clear input error naming the file for empty, unknown and corrupt data', () => {
    const expectErr = (bytes: Uint8Array, re: RegExp) => {
      try {
        decodeImage(bytes, '/data/bad-file.png');
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(PathLensError);
        expect((err as PathLensError).code).toBe('input');
        expect((err as Error).message).toContain('/data/bad-file.png');
        expect((err as Error).message).toMatch(re);
      }
    };
    expectErr(new Uint8Array(0), /empty/);
    expectErr(new TextEncoder().encode('GIF89a....'), /not a PNG or JPEG/);
    const good = pngBytes(4, 4, () => [1, 2, 3, 255]);
    expectErr(good.slice(0, 40), /corrupt/);
    const jpg = jpeg.encode({ width: 8, height: 8, data: new Uint8Array(256).fill(9) }).data;
    expectErr(new Uint8Array(jpg.subarray(0, 30)), /corrupt/);
  });
});

describe('resizeBilinear (half-pixel centres)', () => {
  it('upsamples 2 → 4 as hand-computed', () => {
    expect(Array.from(resizeBilinear([0, 100], 2, 1, 1, 4, 1))).toEqual([0, 25, 75, 100]);
  });

  it('downsamples 4x4 → 2x2 to the mean of each 2x2 block', () => {
    const src = Array.from({ length: 16 }, (_, i) => i);
    // s = (d + 0.5)·2 − 0.5 = 0.5, 2.5 → halfway between neighbours in both axes.
    expect(Array.from(resizeBilinear(src, 4, 4, 1, 2, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
  });

  it('3 → 2 with fractional weights, per channel', () => {
    // scale 1.5: s0 = 0.25, s1 = 1.75
    const src = [0, 1000, 30, 2000, 60, 3000]; // 3 pixels x 2 channels
    const out = resizeBilinear(src, 3, 1, 2, 2, 1);
    expect(out[0]).toBeCloseTo(7.5);
    expect(out[1]).toBeCloseTo(1250);
    expect(out[2]).toBeCloseTo(52.5);
    expect(out[3]).toBeCloseTo(2750);
  });

  it('is the identity at the same size', () => {
    const src = Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    expect(Array.from(resizeBilinear(src, 5, 3, 3, 5, 3))).toEqual(src);
  });

  it('matches tf.image.resizeBilinear(halfPixelCenters=true)', async () => {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    const inW = 7,
      inH = 5,
      c = 3,
      outW = 4,
      outH = 9;
    const src = Float32Array.from({ length: inW * inH * c }, (_, i) => (i * 53) % 251);
    const expected = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(src, [inH, inW, c]), [outH, outW], false, true).dataSync());
    const got = resizeBilinear(src, inW, inH, c, outW, outH);
    expect(got.length).toBe(expected.length);
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expected[i], 3);
  });
});

describe('centerCropSquare', () => {
  it('keeps the central square', () => {
    const img = { width: 4, height: 2, rgba: new Uint8Array(32).map((_, i) => Math.floor(i / 4)) };
    const out = centerCropSquare(img);
    expect([out.width, out.height]).toEqual([2, 2]);
    expect(Array.from(out.rgba.filter((_, i) => i % 4 === 0))).toEqual([1, 2, 5, 6]);
  });
});
