/**
 * A zoo model end to end through the built CLI (`npm run build` first): fit patterns for the layers
 * mnist-cnn on its sample digit plus a few synthetic digits (raw 0..255 input), then PatternNet,
 * PatternAttribution and PGIG; the usage errors of the pattern commands. The model is copied to a
 * temp dir so the shared zoo never gets a .pathlens folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/analyticModels';
import { pathlens } from './helpers/cli';

const ZOO = '/work/shared/zoo/mnist-cnn';

/** A 28×28 white-on-black stroke image (a bar at a given angle), as digits are drawn. */
function strokePng(file: string, angle: number, offset: number): void {
  const png = new PNG({ width: 28, height: 28 });
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++) {
      const u = (x - 14 - offset) * Math.cos(angle) + (y - 14) * Math.sin(angle);
      const v = -(x - 14 - offset) * Math.sin(angle) + (y - 14) * Math.cos(angle);
      const on = Math.abs(v) < 2 && Math.abs(u) < 9 ? 255 : 0;
      const i = (y * 28 + x) * 4;
      png.data[i] = png.data[i + 1] = png.data[i + 2] = on;
      png.data[i + 3] = 255;
    }
  fs.writeFileSync(file, PNG.sync.write(png));
}

let dir: string;
let model: string;

beforeAll(() => {
  dir = tempDir('zoo-patterns');
  for (const f of ['model.json', 'group1-shard1of1.bin']) fs.copyFileSync(path.join(ZOO, f), path.join(dir, f));
  fs.mkdirSync(path.join(dir, 'data'));
  fs.copyFileSync(path.join(ZOO, 'samples/sample_digit.png'), path.join(dir, 'data/sample_digit.png'));
  [0, 0.5, 1.2, 1.6, 2.4].forEach((angle, k) => strokePng(path.join(dir, 'data', `stroke-${k}.png`), angle, k - 2));
  model = path.join(dir, 'model.json');
});

describe('mnist-cnn (layers) through the CLI', () => {
  it('explain with a pattern method before fitting says how to fit', () => {
    const run = pathlens(
      'explain',
      '--model',
      model,
      '--input',
      path.join(dir, 'data/sample_digit.png'),
      '--preprocess',
      'raw255',
      '--method',
      'pgig',
      '--backend',
      'cpu',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/pathlens patterns fit --model/);
  });

  it('patterns fit: conv and dense patterns saved beside the model; then PGIG, PatternAttribution, PatternNet', () => {
    const fit = pathlens(
      'patterns',
      'fit',
      '--model',
      model,
      '--data',
      path.join(dir, 'data'),
      '--preprocess',
      'raw255',
      '--backend',
      'cpu',
      '--json',
    );
    expect(fit.code, fit.stderr).toBe(0);
    const fitted = JSON.parse(fit.stdout) as {
      file: string;
      samples: number;
      layers: { name: string; shape: number[]; estimator: string }[];
    };
    expect(fitted.samples).toBe(6);
    expect(path.dirname(fitted.file)).toBe(path.join(dir, '.pathlens'));
    expect(fitted.layers.map((l) => [l.name, l.shape.join('x'), l.estimator])).toEqual([
      ['conv2d', '5x5x1x4', 'two-component'],
      ['conv2d_1', '5x5x4x8', 'two-component'],
      ['conv2d_2', '4x4x8x12', 'two-component'],
      ['dense', '588x200', 'two-component'],
      ['dense_1', '200x10', 'linear'],
    ]);
    expect(fs.existsSync(fitted.file.replace(/\.bin$/, '.json'))).toBe(true);
    expect(fit.stderr).toMatch(/patterns saved to/);

    const run = pathlens(
      'explain',
      '--model',
      model,
      '--input',
      path.join(dir, 'data/sample_digit.png'),
      '--preprocess',
      'raw255',
      '--method',
      'pgig,pattern-attribution,pattern-net,ig',
      '--backend',
      'cpu',
      '--json',
    );
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as {
      inputs: {
        prediction: { index: number };
        results: {
          method: string;
          params: Record<string, unknown>;
          completeness: unknown;
          attribution: { data: number[] | Record<string, number> };
        }[];
      }[];
    };
    const input = result.inputs[0]!;
    expect(input.prediction.index).toBe(7);
    const byName = new Map(input.results.map((r) => [r.method, r]));
    for (const name of ['pgig', 'pattern-attribution', 'pattern-net']) {
      const r = byName.get(name)!;
      expect(r.completeness).toBeNull();
      const values = Object.values(r.attribution.data as Record<string, number>);
      expect(values).toHaveLength(784);
      expect(values.every(Number.isFinite)).toBe(true);
      expect(values.some((v) => v !== 0)).toBe(true);
    }
    expect(byName.get('pgig')!.params).toMatchObject({
      steps: 25,
      rule: 'interior',
      points: 24,
      estimator: 'two-component',
      patternSamples: 6,
    });
    // PGIG lives on the input's support: zero where the input and baseline are both black.
    const pg = Object.values(byName.get('pgig')!.attribution.data as Record<string, number>);
    expect(pg[0]).toBe(0);
  });

  it("--patterns with another model's file is refused; usage errors exit 2", () => {
    const other = tempDir('other');
    fs.copyFileSync(model, path.join(other, 'model.json'));
    const weights = fs.readFileSync(path.join(dir, 'group1-shard1of1.bin'));
    weights[100] ^= 0xff;
    fs.writeFileSync(path.join(other, 'group1-shard1of1.bin'), weights);
    const saved = fs.readdirSync(path.join(dir, '.pathlens')).find((f) => f.endsWith('.bin'))!;
    const run = pathlens(
      'explain',
      '--model',
      path.join(other, 'model.json'),
      '--input',
      path.join(dir, 'data/sample_digit.png'),
      '--preprocess',
      'raw255',
      '--method',
      'pattern-attribution',
      '--patterns',
      path.join(dir, '.pathlens', saved),
      '--backend',
      'cpu',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/fitted for different weights/);
    expect(pathlens('patterns', 'fit', '--model', model).code).toBe(2);
    expect(pathlens('patterns', 'fit', '--model', model, '--data', 'x', '--estimator', 'quadratic').code).toBe(2);
    expect(pathlens('patterns', 'refit', '--model', model).code).toBe(2);
    expect(pathlens('explain', '--model', model, '--input', 'x', '--method', 'pgig', '--rule', 'adaptive').code).toBe(2);
  });
});
