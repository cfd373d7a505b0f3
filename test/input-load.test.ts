import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { PathLensError } from '../src/core/errors';
import { loadInputs, loadInputsSync, parseCsvInputs, parseJsonInputs } from '../src/core/input/load';
import { parsePreprocess } from '../src/core/input/preprocess';

const ZOO = '/work/shared/zoo';
const unit = parsePreprocess('unit', 'default');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'pl-load-'));
}
function writePng(path: string, w: number, h: number, fill: (x: number, y: number) => [number, number, number, number]): void {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) png.data.set(fill(x, y), (y * w + x) * 4);
  writeFileSync(path, PNG.sync.write(png));
}
function errorOf(fn: () => unknown): PathLensError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PathLensError);
    return err as PathLensError;
  }
  throw new Error('expected an error');
}

describe('image inputs', () => {
  it('prepares the real mnist sample: 28x28 gray, raw255 from the red channel', async () => {
    const raw = { ...parsePreprocess('raw255', 'sidecar'), grayFrom: 'red' as const };
    const [inp] = await loadInputs([`${ZOO}/mnist-cnn/samples/sample_digit.png`], { inputShape: [28, 28, 1] }, raw);
    expect(inp.kind).toBe('image');
    expect(inp.shape).toEqual([28, 28, 1]);
    expect(inp.data.length).toBe(784);
    expect(inp.display).toMatchObject({ width: 28, height: 28 });
    expect(inp.display!.rgba.length).toBe(28 * 28 * 4);
    expect(inp.range).toEqual([0, 255]);
    const max = Math.max(...inp.data),
      min = Math.min(...inp.data);
    expect(max).toBeGreaterThan(200);
    expect(min).toBeGreaterThanOrEqual(0);
    // Display is gray (R = G = B) and equals the rounded model value for raw255.
    const d = inp.display!.rgba;
    for (let i = 0; i < 784; i++) {
      expect(d[i * 4]).toBe(d[i * 4 + 1]);
      expect(d[i * 4 + 3]).toBe(255);
      expect(d[i * 4]).toBe(Math.round(inp.data[i]));
    }
  });

  it('normalises RGB with the preprocessing and reports range', async () => {
    const dir = tmp();
    writePng(join(dir, 'a.png'), 2, 2, () => [255, 0, 51, 128]);
    const signed = parsePreprocess('signed', 'explicit');
    const [inp] = loadInputsSync([join(dir, 'a.png')], { inputShape: [2, 2, 3] }, signed);
    expect(Array.from(inp.data.slice(0, 3))).toEqual([1, -1, 51 / 127.5 - 1].map((v) => Math.fround(v)));
    expect(inp.range).toEqual([-1, 1]);
    // Alpha is dropped: display alpha is opaque, colours untouched.
    expect(Array.from(inp.display!.rgba.slice(0, 4))).toEqual([255, 0, 51, 255]);
  });

  it('converts to gray by luminance by default and by red when asked', () => {
    const dir = tmp();
    writePng(join(dir, 'c.png'), 1, 1, () => [100, 200, 50, 255]);
    const [lum] = loadInputsSync([join(dir, 'c.png')], { inputShape: [1, 1, 1] }, parsePreprocess('raw255', 'default'));
    expect(lum.data[0]).toBeCloseTo(0.299 * 100 + 0.587 * 200 + 0.114 * 50, 3);
    const [red] = loadInputsSync([join(dir, 'c.png')], { inputShape: [1, 1, 1] }, parsePreprocess('raw255', 'default'), {
      grayFrom: 'red',
    });
    expect(red.data[0]).toBe(100);
  });

  it('converts gray PNG to RGB for 3-channel models and resizes', () => {
    const dir = tmp();
    writePng(join(dir, 'g.png'), 4, 4, (x) => [x * 50, x * 50, x * 50, 255]);
    const [inp] = loadInputsSync([join(dir, 'g.png')], { inputShape: [2, 2, 3] }, parsePreprocess('raw255', 'default'));
    // Columns 0..3 = 0,50,100,150 → averaged pairs 25, 125.
    expect(Array.from(inp.data)).toEqual([25, 25, 25, 125, 125, 125, 25, 25, 25, 125, 125, 125]);
  });

  it('decodes the real sign-digits JPEG for a 64x64x1 model', () => {
    const [inp] = loadInputsSync([`${ZOO}/sign-digits-64/samples/3.jpeg`], { inputShape: [64, 64, 1] }, unit);
    expect(inp.shape).toEqual([64, 64, 1]);
    expect(Math.max(...inp.data)).toBeLessThanOrEqual(1);
  });

  it('supports centre crop', () => {
    const dir = tmp();
    writePng(join(dir, 'w.png'), 4, 2, (x) => (x === 0 || x === 3 ? [255, 0, 0, 255] : [0, 0, 255, 255]));
    const [inp] = loadInputsSync([join(dir, 'w.png')], { inputShape: [2, 2, 3] }, unit, { crop: 'center' });
    expect(Array.from(inp.data.slice(0, 3))).toEqual([0, 0, 1]);
  });

  it('rejects images for non-image models and corrupt images, naming the file', () => {
    const e = errorOf(() => loadInputsSync([`${ZOO}/mnist-cnn/samples/sample_digit.png`], { inputShape: [54] }, unit));
    expect(e.code).toBe('input');
    expect(e.message).toMatch(/sample_digit\.png.*\[54\]/);
    const dir = tmp();
    writeFileSync(join(dir, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    expect(errorOf(() => loadInputsSync([join(dir, 'broken.jpg')], { inputShape: [4, 4, 3] }, unit)).message).toContain('broken.jpg');
    expect(errorOf(() => loadInputsSync([join(dir, 'missing.png')], { inputShape: [4, 4, 3] }, unit)).message).toContain('missing.png');
  });
});

describe('directories and unsupported files', () => {
  it('expands a directory to sorted image/json/csv files, non-recursively', () => {
    const dir = tmp();
    writePng(join(dir, 'b.png'), 3, 3, () => [0, 0, 0, 255]);
    copyFileSync(`${ZOO}/tm-objects/samples/apple_a11.jpeg`, join(dir, 'a.jpeg'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify(new Array(2).fill(new Array(2).fill([0.5, 0.5, 0.5]))));
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    mkdirSync(join(dir, 'sub'));
    writePng(join(dir, 'sub', 'x.png'), 3, 3, () => [0, 0, 0, 255]);
    const inputs = loadInputsSync([dir], { inputShape: [2, 2, 3] }, unit);
    expect(inputs.map((i) => i.path)).toEqual([join(dir, 'a.jpeg'), join(dir, 'b.png'), join(dir, 'c.json')]);
    expect(inputs.map((i) => i.kind)).toEqual(['image', 'image', 'tensor']);
  });

  it('errors on unsupported files and empty directories', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'x.txt'), 'hello');
    const e = errorOf(() => loadInputsSync([join(dir, 'x.txt')], { inputShape: [4] }, null));
    expect(e.message).toMatch(/Unsupported input .*x\.txt/);
    expect(errorOf(() => loadInputsSync([dir], { inputShape: [4] }, null)).message).toMatch(/no image/);
  });
});

describe('JSON inputs', () => {
  it('accepts the exact shape, a batch of one, and a batch', () => {
    expect(parseJsonInputs('[1,2,3,4]', 'x.json', [4])[0]).toMatchObject({ path: 'x.json', kind: 'tensor', shape: [4] });
    expect(Array.from(parseJsonInputs('[[1,2,3,4]]', 'x.json', [4])[0].data)).toEqual([1, 2, 3, 4]);
    const batch = parseJsonInputs('[[1,2],[3,4],[5,6]]', 'x.json', [2]);
    expect(batch.map((b) => b.path)).toEqual(['x.json#1', 'x.json#2', 'x.json#3']);
    expect(Array.from(batch[2].data)).toEqual([5, 6]);
    expect(parseJsonInputs('[[1,2],[3,4],[5,6]]', 'x.json', [2], 2)).toHaveLength(2);
    const img = parseJsonInputs(
      JSON.stringify([
        [[1], [2]],
        [[3], [4]],
      ]),
      'i.json',
      [2, 2, 1],
    );
    expect(Array.from(img[0].data)).toEqual([1, 2, 3, 4]);
  });
  it('states expected vs got on shape mismatch, and rejects bad values', () => {
    const e = errorOf(() => parseJsonInputs('[1,2,3]', 'x.json', [4]));
    expect(e.message).toContain('[3]');
    expect(e.message).toMatch(/expected \[4\]/);
    expect(errorOf(() => parseJsonInputs('[[1,2],[3]]', 'x.json', [2])).message).toMatch(/ragged/);
    expect(errorOf(() => parseJsonInputs('[1,"a"]', 'x.json', [2])).message).toMatch(/finite number/);
    expect(errorOf(() => parseJsonInputs('{', 'x.json', [2])).message).toMatch(/not valid JSON/);
  });
});

describe('CSV inputs', () => {
  it('parses the real divorce.csv (; separator, header, Class label column dropped)', () => {
    const inputs = loadInputsSync([`${ZOO}/divorce-predictor/divorce.csv`], { inputShape: [54] }, null);
    expect(inputs).toHaveLength(170);
    expect(inputs[0].path).toBe(`${ZOO}/divorce-predictor/divorce.csv#row1`);
    expect(inputs[0].kind).toBe('tabular');
    expect(inputs[0].featureNames).toHaveLength(54);
    expect(inputs[0].featureNames![53]).toBe('Atr54');
    const firstRow = readFileSync(`${ZOO}/divorce-predictor/divorce.csv`, 'utf8').split('\n')[1].split(';').map(Number);
    expect(Array.from(inputs[0].data)).toEqual(firstRow.slice(0, 54));
    expect(loadInputsSync([`${ZOO}/divorce-predictor/divorce.csv`], { inputShape: [54] }, null, { maxRows: 3 })).toHaveLength(3);
  });
  it('handles no header and comma separator', () => {
    const rows = parseCsvInputs('1,2,3\n4,5,6\n\n', 'd.csv', [3]);
    expect(rows.map((r) => r.path)).toEqual(['d.csv#row1', 'd.csv#row2']);
    expect(rows[0].featureNames).toBeUndefined();
    expect(Array.from(rows[1].data)).toEqual([4, 5, 6]);
  });
  it('handles a header with ; and CRLF, and label/target columns', () => {
    const rows = parseCsvInputs('a;b;Target\r\n1.5;-2;0\r\n3;4e1;1\r\n', 'd.csv', [2]);
    expect(rows[0].featureNames).toEqual(['a', 'b']);
    expect(Array.from(rows[1].data)).toEqual([3, 40]);
    expect(parseCsvInputs('"x, y",z,label\n1,2,3', 'q.csv', [2])[0].featureNames).toEqual(['x, y', 'z']);
  });
  it('errors on wrong width and non-numeric cells', () => {
    const e = errorOf(() => parseCsvInputs('1,2,3\n4,5,6', 'd.csv', [4]));
    expect(e.code).toBe('input');
    expect(e.message).toMatch(/3 columns.*expects 4 features/);
    // An extra column not named class/label/target is not dropped.
    expect(errorOf(() => parseCsvInputs('a,b,c\n1,2,3', 'd.csv', [2])).message).toMatch(/class, label or target/);
    expect(errorOf(() => parseCsvInputs('a,b\n1,2\n3', 'd.csv', [2])).message).toMatch(/line 3.*expected 2 values, got 1/);
    expect(errorOf(() => parseCsvInputs('a,b\n1,x', 'd.csv', [2])).message).toMatch(/column "b".*"x"/);
    expect(errorOf(() => parseCsvInputs('', 'd.csv', [2])).message).toMatch(/empty/);
  });
});
