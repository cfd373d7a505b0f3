/**
 * `pathlens neurons` end to end through the worker: the JSON contract of issue 14, completeness,
 * regions, and one-line usage errors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/analyticModels';
import { pathlens } from './helpers/cli';

const ROOT = path.resolve(__dirname, '..');
const MNIST = path.resolve(ROOT, '../shared/zoo/mnist-cnn');
const base = ['--model', path.join(MNIST, 'model.json'), '--input', path.join(MNIST, 'samples/sample_digit.png'), '--preprocess', 'raw255'];

describe('pathlens neurons', () => {
  it('ranks the units of a conv layer by conductance, summing to F(x) − F(x′), and writes neurons.json', () => {
    const out = tempDir('neurons');
    const run = pathlens('neurons', ...base, '--layer', 'conv2d_1', '--top', '4', '--json', '--out', out);
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.layer).toBe('conv2d_1');
    expect(json.method).toBe('conductance');
    expect(json.shape).toEqual([14, 14, 8]);
    expect(json.attribution.data).toHaveLength(14 * 14 * 8);
    expect(json.top).toHaveLength(4);
    const [r, c, ch] = json.top[0].index;
    expect(json.attribution.data[(r * 14 + c) * 8 + ch]).toBe(json.top[0].value);
    expect(json.completeness.relative).toBeLessThan(0.01);
    expect(json.target.index).toBe(json.prediction.index);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'neurons.json'), 'utf8')).top).toEqual(json.top);
  });

  it('--region: the units share the region’s IG mass; layer-ig on a dense layer', () => {
    const region = JSON.parse(pathlens('neurons', ...base, '--layer', 'dense', '--region', '8,4,20,24', '--json').stdout);
    expect(region.region).toEqual({ x0: 8, y0: 4, x1: 20, y1: 24 });
    expect(region.completeness.relative).toBeLessThan(3e-3);
    const lig = JSON.parse(pathlens('neurons', ...base, '--layer', 'dense', '--method', 'layer-ig', '--json').stdout);
    expect(lig.shape).toEqual([200]);
    expect(lig.top[0].index).toHaveLength(1);
    expect(lig.completeness.relative).toBeLessThan(0.01);
  });

  it('bad layers, regions and flags are one-line errors', () => {
    const layer = pathlens('neurons', ...base, '--layer', 'nope');
    expect(layer.code).toBe(1);
    expect(layer.stderr).toMatch(/no layer 'nope'/);
    expect(layer.stderr).not.toMatch(/\n\s+at /);
    const outside = pathlens('neurons', ...base, '--layer', 'dense', '--region', '0,0,40,10');
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/outside the 28×28 input/);
    expect(pathlens('neurons', ...base, '--layer', 'dense', '--region', '1,2,3').code).toBe(2);
    expect(pathlens('neurons', ...base, '--layer', 'dense', '--method', 'layer-ig', '--region', '0,0,5,5').stderr).toMatch(
      /--region needs --method conductance/,
    );
    expect(pathlens('neurons', ...base).stderr).toMatch(/--layer <name> is required/);
  });
});
