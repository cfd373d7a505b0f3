import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/analyticModels';
import { pathlens } from './helpers/cli';

const ROOT = path.resolve(__dirname, '..');
const MNIST = path.resolve(ROOT, '../shared/zoo/mnist-cnn');

const explain = (...args: string[]) =>
  pathlens('explain', '--model', path.join(MNIST, 'model.json'), '--input', path.join(MNIST, 'samples'), '--preprocess', 'raw255', ...args);

describe('CLI: the path-method family on mnist-cnn', () => {
  it('runs every new method (with --idgi) through --json: params, path traces, completeness', () => {
    const dir = tempDir('cli-refs');
    const reference = path.join(dir, 'refs.json');
    // Two references in model input space (raw 0..255): black and a uniform grey.
    fs.writeFileSync(
      reference,
      JSON.stringify([0, 128].map((v) => Array.from({ length: 28 }, () => Array.from({ length: 28 }, () => [v])))),
    );
    const run = explain(
      '--method',
      'ig,guided-ig,blur-ig,expected-gradients,smoothgrad,smoothgrad-sq,vargrad',
      '--rule',
      'trapezoid',
      '--steps',
      '12',
      '--idgi',
      '--fraction',
      '0.3',
      '--max-dist',
      '0.1',
      '--max-sigma',
      '5',
      '--grad-step',
      '0.02',
      '--reference',
      reference,
      '--samples',
      '4',
      '--noise',
      '0.1',
      '--wrap',
      'grad-x-input',
      '--seed',
      '3',
      '--json',
    );
    expect(run.stderr).not.toMatch(/Unexpected/);
    expect(run.code).toBe(0);
    const input = JSON.parse(run.stdout).inputs[0];
    expect(input.error).toBeUndefined();
    const byName = Object.fromEntries(input.results.map((r: { method: string }) => [r.method, r]));
    expect(Object.keys(byName)).toEqual(['ig', 'guided-ig', 'blur-ig', 'expected-gradients', 'smoothgrad', 'smoothgrad-sq', 'vargrad']);
    for (const r of Object.values(byName) as { attribution: { shape: number[]; data: number[] } }[]) {
      expect(r.attribution.shape).toEqual([28, 28, 1]);
      expect(r.attribution.data).toHaveLength(784);
    }
    type Result = {
      params: Record<string, unknown>;
      completeness: { relative: number } | null;
      attribution: { data: number[] };
      path: { alpha: number[]; extra: Record<string, number[]> };
      timing: { evaluations: number };
    };
    const [ig, guided, blur, eg, sg, sq, vg] = Object.values(byName) as Result[];
    expect(ig.params).toMatchObject({ steps: 12, rule: 'trapezoid', idgi: true });
    expect(guided.params).toMatchObject({ steps: 12, fraction: 0.3, maxDist: 0.1, idgi: true });
    expect(blur.params).toMatchObject({ steps: 12, maxSigma: 5, gradStep: 0.02, idgi: true });
    // IDGI is exactly complete (float32 model, float64 bookkeeping).
    for (const r of [ig, guided, blur]) expect(r.completeness!.relative).toBeLessThan(1e-4);
    expect(guided.path.alpha).toHaveLength(12);
    expect(Object.keys(guided.path.extra)).toEqual(expect.arrayContaining(['l1Covered', 'progressP10', 'progressP50', 'progressP90']));
    expect(blur.path.alpha[11]).toBeCloseTo((11 * 5) / 12, 6);
    expect(eg.params).toMatchObject({ referenceSize: 2, samples: 4, seed: 3 });
    expect(eg.completeness).not.toBeNull();
    // 4 samples + 2 reference values, then the map-error estimate: 2 samples + 2 reference values.
    expect(eg.timing.evaluations).toBe(4 + 2 + 2 + 2);
    expect((eg as unknown as { accuracy: { basis: string } }).accuracy.basis).toMatch(/Monte-Carlo/);
    for (const r of [sg, sq, vg]) {
      expect(r.params).toMatchObject({ wrap: 'grad-x-input', samples: 4, noise: 0.1, seed: 3 });
      expect(r.params.sigma).toBeCloseTo(25.5, 6);
      expect(r.completeness).toBeNull();
      expect((r as unknown as { accuracy: { mapError: number } }).accuracy.mapError).toBeGreaterThan(0);
    }
    expect(Math.min(...vg.attribution.data)).toBeGreaterThanOrEqual(0);
  });

  it('invalid parameters are usage errors (exit 2) before any model is loaded; bad reference sets fail clearly', () => {
    const bad = (...args: string[]) => pathlens('explain', '--model', 'missing.json', '--input', 'x.png', ...args);
    expect(bad('--method', 'guided-ig', '--fraction', '0').stderr).toContain('fraction must be a number in (0, 1]');
    expect(bad('--method', 'guided-ig', '--max-dist', '1.5').code).toBe(2);
    expect(bad('--method', 'blur-ig', '--max-sigma', '-1').code).toBe(2);
    expect(bad('--method', 'expected-gradients').stderr).toContain('--reference');
    expect(bad('--method', 'smoothgrad', '--wrap', 'lrp').code).toBe(2);
    expect(bad('--method', 'ig', '--idgi').stderr).toMatch(/IDGI needs a discretised path/);
    expect(bad('--method', 'nope').code).toBe(2);
    const dir = tempDir('cli-badref');
    const wrongShape = path.join(dir, 'refs.json');
    fs.writeFileSync(wrongShape, JSON.stringify([[1, 2, 3]]));
    const run = explain('--method', 'expected-gradients', '--reference', wrongShape, '--json');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refs\.json.*does not match the model input/);
  });
});
