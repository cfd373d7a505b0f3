/**
 * The signal + distractor stress test (ALGORITHMS.md §6) on real TF.js files written by
 * examples/stress-test/generate.ts: fitted patterns, IG vs PatternAttribution vs PGIG.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stressData, writeStressTest } from '../examples/stress-test/generate';
import { loadModel, type LoadedModel } from '../src/core/model/load';
import { fitModelPatterns, loadPatterns, readPatternFile } from '../src/core/patterns/store';
import type { Patterns } from '../src/core/patterns/patterns';
import { linearModel, tempDir } from './helpers/analyticModels';
import { runWithPatterns } from './helpers/patternMethods';
import { runMethod, useCpu } from './helpers/runMethod';

let dir: string;
let modelPath: string;
let model: LoadedModel;
let linear: Patterns;
let twoComponent: Patterns;

const close = (actual: ArrayLike<number>, expected: number[], tol: number) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e), `component ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(tol));
};

/** The two-component pattern of a unit with kernel k and bias b in float64, E₊[xy] or the notebook's E₊[x]E₊[y]. */
function twoComponentClosedForm(k: [number, number], b: number, buggy = false): [number, number] {
  const { x } = stressData();
  const y = x.map(([a, c]) => k[0] * a + k[1] * c);
  const active = y.map((v) => v + b > 0);
  const meanY = y.reduce((s, v) => s + v, 0) / y.length;
  const plus = x.filter((_, i) => active[i]);
  const yPlus = y.filter((_, i) => active[i]);
  const ex = [0, 1].map((d) => plus.reduce((s, p) => s + p[d]!, 0) / plus.length);
  const ey = yPlus.reduce((s, v) => s + v, 0) / yPlus.length;
  const exy = [0, 1].map((d) => (buggy ? ex[d]! * ey : plus.reduce((s, p, i) => s + p[d]! * yPlus[i]!, 0) / plus.length));
  const num = [0, 1].map((d) => exy[d]! - ex[d]! * meanY);
  const den = k[0] * num[0]! + k[1] * num[1]!;
  return [num[0]! / den, num[1]! / den];
}

beforeAll(async () => {
  await useCpu();
  dir = tempDir('stress');
  modelPath = writeStressTest(dir);
  const data = [path.join(dir, 'data.csv')];
  const fitLinear = await fitModelPatterns({
    modelPath,
    data,
    estimator: 'linear',
    preprocessing: null,
    out: path.join(dir, 'linear.bin'),
  });
  const fitTwo = await fitModelPatterns({ modelPath, data, estimator: 'two-component', preprocessing: null });
  expect(fitLinear.header.samples).toBe(400);
  expect(fitTwo.header.samples).toBe(400);
  model = await loadModel(modelPath);
  linear = await loadPatterns(modelPath, fitLinear.file);
  twoComponent = await loadPatterns(modelPath);
});

afterAll(() => {
  linear?.dispose();
  twoComponent?.dispose();
  model?.dispose();
});

describe('stress test data', () => {
  it("reproduces the reference notebook's draws (np.random.seed(42); normal(0, 0.3, 400)) and wᵀx = z", () => {
    const { z, eps, x } = stressData();
    expect(z.length).toBe(400);
    // NumPy 2.x, legacy RandomState: the first draws and the last one, bit for bit.
    expect(eps.slice(0, 4)).toEqual([0.14901424590336979, -0.0414792903513554, 0.19430656143020775, 0.45690895692240757]);
    expect(eps[399]).toBe(0.37134489359203854);
    expect(z[399]).toBe(1.9900000000000038);
    expect(x.every(([a, b], i) => Math.abs(a - b - z[i]!) < 1e-12)).toBe(true);
  });
});

describe('fitted patterns on the stress test', () => {
  it('linear pattern of y = wᵀx ≈ (1.018, 0.018): (1.018026, 0.018026) from the seeded data', async () => {
    // A model that is just y = wᵀx: its linear pattern is the paper's (1.018, 0.018).
    const file = linearModel([1, -1]);
    const fit = await fitModelPatterns({ modelPath: file, data: [path.join(dir, 'data.csv')], estimator: 'linear', preprocessing: null });
    const { layers } = readPatternFile(fit.file);
    close(layers[0]!.pattern, [1.018026, 0.018026], 2e-6);
  });

  it('hidden layer (kernel −w): linear −(1.018026, 0.018026); output layer 1/w = −1', () => {
    const { layers } = readPatternFile(path.join(dir, 'linear.bin'));
    close(layers[0]!.pattern, [-1.018026, -0.018026], 2e-6);
    close(layers[1]!.pattern, [-1], 1e-6);
  });

  it("two-component (ReLU) pattern equals E₊[xy] − E₊[x]E[y] closed form, not the notebook's E₊[x]E₊[y] variant", () => {
    const header = twoComponent.header;
    expect(header.estimator).toBe('two-component');
    expect(header.layers.map((l) => l.estimator)).toEqual(['two-component', 'linear']);
    const { layers } = readPatternFile(path.join(dir, '.pathlens', `patterns-${header.modelHash.slice(0, 16)}.bin`));
    const expected = twoComponentClosedForm([-1, 1], 1);
    close(expected, [-1.016209, -0.016209], 1e-6);
    close(layers[0]!.pattern, expected, 2e-6);
    // The reference notebook's broadcasting bug gives (−1.003296, −0.003296): clearly different.
    const buggy = twoComponentClosedForm([-1, 1], 1, true);
    close(buggy, [-1.003296, -0.003296], 1e-6);
    expect(Math.abs(layers[0]!.pattern[0]! - buggy[0])).toBeGreaterThan(0.01);
  });
});

describe('IG vs PatternAttribution vs PGIG', () => {
  it('IG attributes to the distractor: IG(0.6, 0.2) = (0.6, −0.2)', async () => {
    const { result } = await runMethod(model, 'ig', [0.6, 0.2], null, { rule: 'trapezoid', steps: 11 });
    close(result.attribution.data, [0.6, -0.2], 1e-5);
  });

  it('PatternAttribution ≈ 0 on the distractor and exactly 0 on the plateau (z > 1)', async () => {
    const pa = await runWithPatterns(model, linear, 'pattern-attribution', [0.6, 0.2]);
    // Relevance starts at f(x) = 0.4: 0.4·(1.018, −0.018).
    close(pa.attribution.data, [0.4 * 1.018026, -0.4 * 0.018026], 1e-5);
    expect(pa.completeness).toBeNull();
    for (const x of [
      [2.5, 0.5],
      [1.8, -0.4],
      [1.5, 0.3],
    ]) {
      const plateau = await runWithPatterns(model, twoComponent, 'pattern-attribution', x);
      expect([...plateau.attribution.data]).toEqual([0, 0]);
    }
  });

  it('PatternNet reconstructs the signal direction: f(x)·a at (0.6, 0.2)', async () => {
    const pn = await runWithPatterns(model, linear, 'pattern-net', [0.6, 0.2]);
    // Output pattern −1, hidden pattern −(1.018, 0.018): 0.4 · (−1) · −(1.018, 0.018).
    close(pn.attribution.data, [0.4 * 1.018026, 0.4 * 0.018026], 1e-5);
  });

  it('PGIG ≈ 0 on the distractor and non-zero on the plateau; default 24 interior points', async () => {
    const at = await runWithPatterns(model, linear, 'pgig', [0.6, 0.2]);
    close(at.attribution.data, [0.6 * 1.018026, -0.2 * 0.018026], 1e-5);
    expect(at.completeness).toBeNull();
    expect(at.params).toMatchObject({ steps: 25, rule: 'interior', points: 24 });
    expect(at.path!.alpha[0]).toBeCloseTo(1 / 25, 12);
    expect(at.path!.alpha[23]).toBeCloseTo(24 / 25, 12);
    // Plateau x = (2.5, 0.5), z = 2: the ReLU is open for α < 1/2, i.e. 12 of the 24 points.
    const plateau = await runWithPatterns(model, linear, 'pgig', [2.5, 0.5]);
    close(plateau.attribution.data, [2.5 * 1.018026 * 0.5, -0.5 * 0.018026 * 0.5], 1e-5);
    // IG there gives the distractor a share: right Riemann, 100 steps: 49 open points → 0.49·x⊙w.
    const ig = await runMethod(model, 'ig', [2.5, 0.5], null, { rule: 'riemann-right', steps: 100 });
    close(ig.result.attribution.data, [1.225, -0.245], 1e-5);
  });

  it("over the data set: IG's distractor attribution is large, PGIG's near zero, PGIG non-zero on the plateau", async () => {
    const { x, z } = stressData();
    let igDistractor = 0;
    let pgigDistractor = 0;
    let paPlateau = 0;
    let pgigPlateau = 0;
    for (let i = 0; i < 400; i += 25) {
      const point = x[i]!;
      const ig = (await runMethod(model, 'ig', point, null, { rule: 'riemann-right', steps: 100 })).result.attribution.data;
      const pg = (await runWithPatterns(model, twoComponent, 'pgig', point, { rule: 'riemann-right', steps: 100 })).attribution.data;
      const pa = (await runWithPatterns(model, twoComponent, 'pattern-attribution', point)).attribution.data;
      igDistractor = Math.max(igDistractor, Math.abs(ig[1]!));
      pgigDistractor = Math.max(pgigDistractor, Math.abs(pg[1]!));
      if (z[i]! > 1.05) {
        paPlateau = Math.max(paPlateau, Math.abs(pa[0]!) + Math.abs(pa[1]!));
        pgigPlateau = Math.max(pgigPlateau, Math.abs(pg[0]!));
      }
    }
    expect(igDistractor).toBeGreaterThan(0.3);
    expect(pgigDistractor).toBeLessThan(0.05);
    expect(paPlateau).toBe(0);
    expect(pgigPlateau).toBeGreaterThan(0.5);
  });

  it('the methods leak no tensors', async () => {
    await runWithPatterns(model, linear, 'pgig', [0.6, 0.2]);
    const before = tf.memory().numTensors;
    await runWithPatterns(model, linear, 'pgig', [0.6, 0.2], { steps: 7, rule: 'trapezoid' });
    await runWithPatterns(model, linear, 'pattern-attribution', [0.6, 0.2]);
    await runWithPatterns(model, linear, 'pattern-net', [2.5, 0.2], {}, { output: 'probability' });
    expect(tf.memory().numTensors).toBe(before);
  });
});
