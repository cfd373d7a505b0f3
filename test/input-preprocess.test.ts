import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PathLensError } from '../src/core/errors';
import {
  describePreprocessing,
  normalizePixel,
  parsePreprocess,
  preprocessRange,
  resolvePreprocessing,
} from '../src/core/input/preprocess';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'pl-pre-'));
}

describe('parsePreprocess presets', () => {
  it('unit maps 0..255 to 0..1', () => {
    const p = parsePreprocess('unit', 'explicit');
    expect(p).toMatchObject({ name: 'unit', source: 'explicit' });
    expect(normalizePixel(p, 0, 0)).toBe(0);
    expect(normalizePixel(p, 255, 2)).toBe(1);
    expect(normalizePixel(p, 51, 1)).toBeCloseTo(0.2);
  });
  it('signed maps 0..255 to -1..1', () => {
    const p = parsePreprocess('SIGNED', 'detected');
    expect(p.name).toBe('signed');
    expect(normalizePixel(p, 0, 0)).toBe(-1);
    expect(normalizePixel(p, 255, 0)).toBe(1);
    expect(normalizePixel(p, 127.5, 0)).toBe(0);
    expect(preprocessRange(p, 3)).toEqual([-1, 1]);
  });
  it('raw255 is identity', () => {
    const p = parsePreprocess('raw255', 'sidecar');
    expect(normalizePixel(p, 200, 0)).toBe(200);
    expect(preprocessRange(p, 1)).toEqual([0, 255]);
  });
  it('imagenet uses per-channel mean/std in 0..1 units', () => {
    const p = parsePreprocess('imagenet', 'explicit');
    expect(normalizePixel(p, 255, 0)).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(normalizePixel(p, 0, 1)).toBeCloseTo(-0.456 / 0.224, 5);
    expect(normalizePixel(p, 0, 2)).toBeCloseTo(-0.406 / 0.225, 5);
    const [lo, hi] = preprocessRange(p, 3);
    expect(lo).toBeCloseTo(-0.485 / 0.229, 5);
    expect(hi).toBeCloseTo((1 - 0.406) / 0.225, 5);
  });
  it('mean-std custom: one value or per channel', () => {
    const a = parsePreprocess('mean-std:100/50', 'explicit');
    expect(a).toMatchObject({ name: 'mean-std', mean: [100], std: [50] });
    expect(normalizePixel(a, 200, 2)).toBe(2);
    const b = parsePreprocess('mean-std:10,20,30/1,2,4', 'explicit');
    expect([0, 1, 2].map((c) => normalizePixel(b, 50, c))).toEqual([40, 15, 5]);
  });
  it('rejects bad specs with usage errors', () => {
    for (const bad of ['foo', 'mean-std:1,2', 'mean-std:a/1', 'mean-std:1/0', 'mean-std:/1']) {
      expect(() => parsePreprocess(bad, 'explicit')).toThrow(PathLensError);
    }
  });
  it('describes itself', () => {
    expect(describePreprocessing(parsePreprocess('signed', 'detected'))).toMatch(/signed.*127\.5.*detected/);
    expect(describePreprocessing(null)).toBe('none');
  });
});

describe('resolvePreprocessing', () => {
  it('explicit wins over everything', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'pathlens.json'), JSON.stringify({ preprocess: 'raw255' }));
    expect(resolvePreprocessing({ explicit: 'imagenet', modelDir: dir })).toMatchObject({ name: 'imagenet', source: 'explicit' });
  });
  it('reads a sidecar preset, or mean/std, with grayFrom', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'pathlens.json'), JSON.stringify({ preprocess: 'raw255', grayFrom: 'red' }));
    expect(resolvePreprocessing({ modelDir: dir })).toMatchObject({ name: 'raw255', source: 'sidecar', grayFrom: 'red' });
    // Accepts the model.json path as well as the directory.
    expect(resolvePreprocessing({ modelDir: join(dir, 'pathlens.json') }).source).toBe('sidecar');
    const dir2 = tmp();
    writeFileSync(join(dir2, 'pathlens.json'), JSON.stringify({ mean: [1, 2, 3], std: [4, 5, 6] }));
    expect(resolvePreprocessing({ modelDir: dir2 })).toMatchObject({
      name: 'mean-std',
      mean: [1, 2, 3],
      std: [4, 5, 6],
      source: 'sidecar',
    });
  });
  it('keeps the sidecar grayFrom with an explicit preset', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'pathlens.json'), JSON.stringify({ grayFrom: 'red' }));
    expect(resolvePreprocessing({ explicit: 'raw255', modelDir: dir })).toMatchObject({ name: 'raw255', grayFrom: 'red' });
    expect(resolvePreprocessing({ modelDir: dir })).toMatchObject({ name: 'unit', source: 'default', grayFrom: 'red' });
  });
  it('rejects a broken sidecar clearly', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'pathlens.json'), '{nope');
    expect(() => resolvePreprocessing({ modelDir: dir })).toThrow(/pathlens\.json/);
    writeFileSync(join(dir, 'pathlens.json'), JSON.stringify({ grayFrom: 'blue' }));
    expect(() => resolvePreprocessing({ modelDir: dir })).toThrow(/grayFrom/);
  });
  it('detects Teachable Machine (the real tm-objects model) as signed', () => {
    expect(resolvePreprocessing({ modelDir: '/work/shared/zoo/tm-objects' })).toMatchObject({ name: 'signed', source: 'detected' });
    expect(resolvePreprocessing({ modelDir: '/work/shared/zoo/tm-objects/model.json' }).source).toBe('detected');
  });
  it('defaults to unit', () => {
    expect(resolvePreprocessing({ modelDir: tmp() })).toMatchObject({ name: 'unit', source: 'default', mean: [0], std: [255] });
    const dir = tmp();
    writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ labels: ['a'] }));
    expect(resolvePreprocessing({ modelDir: dir }).source).toBe('default');
  });
});
