import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { PathLensError } from '../src/core/errors';
import { makeBaseline, inputRange } from '../src/core/input/baseline';
import { gaussianBlur } from '../src/core/input/blur';
import { loadInputsSync } from '../src/core/input/load';
import { parsePreprocess } from '../src/core/input/preprocess';
import type { PreparedInput } from '../src/core/types';

const imagenet = parsePreprocess('imagenet', 'explicit');
const signed = parsePreprocess('signed', 'explicit');

function image(pre = signed): PreparedInput {
  const dir = mkdtempSync(join(tmpdir(), 'pl-bl-'));
  const png = new PNG({ width: 8, height: 6 });
  for (let i = 0; i < 48; i++) png.data.set([(i * 5) % 256, (i * 11) % 256, (i * 17) % 256, 255], i * 4);
  writeFileSync(join(dir, 'in.png'), PNG.sync.write(png));
  return loadInputsSync([join(dir, 'in.png')], { inputShape: [6, 8, 3] }, pre)[0];
}
const tabular: PreparedInput = { path: 't.csv#row1', kind: 'tabular', shape: [4], data: Float32Array.of(0, 4, 2, 1) };

describe('makeBaseline', () => {
  it('zero', () => {
    const b = makeBaseline('zero', tabular, { preprocessing: null, seed: 0 });
    expect(Array.from(b)).toEqual([0, 0, 0, 0]);
  });

  it('black / white are preprocessed pixel 0 / 255 per channel', () => {
    const inp = image(imagenet);
    const black = makeBaseline('black', inp, { preprocessing: imagenet, seed: 0 });
    const white = makeBaseline('white', inp, { preprocessing: imagenet, seed: 0 });
    expect(black.length).toBe(inp.data.length);
    expect(black[0]).toBeCloseTo(-0.485 / 0.229, 5);
    expect(black[1]).toBeCloseTo(-0.456 / 0.224, 5);
    expect(black[5]).toBeCloseTo(-0.406 / 0.225, 5);
    expect(white[3]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    const sb = makeBaseline('black', image(), { preprocessing: signed, seed: 0 });
    expect(sb.every((v) => v === -1)).toBe(true);
  });

  it('uniform is seeded and within the range', () => {
    const inp = image();
    const a = makeBaseline('uniform', inp, { preprocessing: signed, seed: 1 });
    const b = makeBaseline('uniform', inp, { preprocessing: signed, seed: 1 });
    const c = makeBaseline('uniform', inp, { preprocessing: signed, seed: 2 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.every((v) => v >= -1 && v <= 1)).toBe(true);
    const t = makeBaseline('uniform', tabular, { preprocessing: null, seed: 3 });
    expect(t.every((v) => v >= 0 && v <= 4)).toBe(true);
    expect(inputRange(tabular)).toEqual([0, 4]);
  });

  it('gaussian is seeded noise around the input with σ = 0.15·range, clipped', () => {
    const inp = image();
    const a = makeBaseline('gaussian', inp, { preprocessing: signed, seed: 9 });
    expect(a).toEqual(makeBaseline('gaussian', inp, { preprocessing: signed, seed: 9 }));
    expect(a.every((v) => v >= -1 && v <= 1)).toBe(true);
    const big: PreparedInput = {
      path: 'v.json',
      kind: 'tensor',
      shape: [20000],
      data: new Float32Array(20000).map((_, i) => (i % 2 ? 100 : -100)),
    };
    const noisy = makeBaseline('gaussian', big, { preprocessing: null, seed: 4 });
    // Use interior half: values near 0 would be unclipped; here estimate σ from |noise| on the clipped sides.
    let s2 = 0,
      n = 0;
    for (let i = 0; i < big.data.length; i++) {
      const d = noisy[i] - big.data[i];
      if ((i % 2 === 1 && d < 0) || (i % 2 === 0 && d > 0)) {
        s2 += d * d;
        n++;
      }
    }
    expect(Math.sqrt(s2 / n)).toBeGreaterThan(0.15 * 200 * 0.9);
    expect(Math.sqrt(s2 / n)).toBeLessThan(0.15 * 200 * 1.1);
    expect(noisy.every((v) => v >= -100 && v <= 100)).toBe(true);
  });

  it('blur is the Gaussian blur of the input with σ = max(H,W)/20', () => {
    const inp = image();
    const b = makeBaseline('blur', inp, { preprocessing: signed, seed: 0 });
    expect(Array.from(b)).toEqual(Array.from(gaussianBlur(inp.data, 6, 8, 3, 8 / 20)));
    expect(b).not.toEqual(inp.data);
  });

  it('image-only baselines reject non-image inputs with a baseline error', () => {
    for (const spec of ['black', 'white', 'blur'] as const) {
      try {
        makeBaseline(spec, tabular, { preprocessing: null, seed: 0 });
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(PathLensError);
        expect((err as PathLensError).code).toBe('baseline');
        expect((err as Error).message).toContain(spec);
        expect((err as Error).message).toContain('t.csv#row1');
      }
    }
  });

  it('file baselines: JSON tensor and image prepared like the input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-blf-'));
    writeFileSync(join(dir, 'b.json'), '[[1,2,3,4]]');
    expect(Array.from(makeBaseline({ file: join(dir, 'b.json') }, tabular, { preprocessing: null, seed: 0 }))).toEqual([1, 2, 3, 4]);
    writeFileSync(join(dir, 'bad.json'), '[1,2]');
    expect(() => makeBaseline({ file: join(dir, 'bad.json') }, tabular, { preprocessing: null, seed: 0 })).toThrow(/expected \[4\]/);

    const inp = image();
    const png = new PNG({ width: 16, height: 12 });
    png.data.fill(255);
    writeFileSync(join(dir, 'white.png'), PNG.sync.write(png));
    const b = makeBaseline({ file: join(dir, 'white.png') }, inp, { preprocessing: signed, seed: 0 });
    expect(b.length).toBe(inp.data.length);
    expect(b.every((v) => v === 1)).toBe(true);
    try {
      makeBaseline({ file: join(dir, 'nope.png') }, inp, { preprocessing: signed, seed: 0 });
      expect.unreachable();
    } catch (err) {
      expect((err as PathLensError).code).toBe('baseline');
      expect((err as Error).message).toContain('nope.png');
    }
  });

  it('rejects unknown names', () => {
    expect(() => makeBaseline('grey' as never, tabular, { preprocessing: null, seed: 0 })).toThrow(/Unknown baseline/);
  });
});
