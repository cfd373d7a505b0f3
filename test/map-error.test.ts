/**
 * The map-error estimate against the truth: on analytic models where A* is known exactly, and on the
 * zoo's CNNs against references computed here with 513-point composite Simpson. Honest means the true
 * error is at most 1.5× the estimate and the estimate at most 4× the truth.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/engine/backend';
import { Evaluator } from '../src/core/engine/evaluator';
import { loadInputs, parsePreprocess } from '../src/core/input';
import { loadModel, type LoadedModel } from '../src/core/model/load';
import { relativeL1 } from '../src/core/path/mapError';
import { integrateStraightPath } from '../src/core/path/straightPath';
import { reluSaturationModel, sigmoidModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

const ZOO = path.resolve(__dirname, '../../shared/zoo');

/** Composite Simpson on 2m panels (2m + 1 points): the reference A*. */
function simpson(points: number): { alphas: number[]; weights: number[] } {
  const n = points - 1;
  return {
    alphas: Array.from({ length: points }, (_, j) => j / n),
    weights: Array.from({ length: points }, (_, j) => (j === 0 || j === n ? 1 : j % 2 === 1 ? 4 : 2) / (3 * n)),
  };
}

async function zooCase(dir: string, preprocess: string, sample: string) {
  const model = await loadModel(path.join(ZOO, dir, 'model.json'));
  const [input] = await loadInputs([path.join(ZOO, dir, 'samples', sample)], model, parsePreprocess(preprocess, 'explicit'));
  const x = input!.data;
  const scores = tf.tidy(() => model.predict(tf.tensor(x, [1, ...model.inputShape])).dataSync());
  const target = scores.indexOf(Math.max(...scores));
  const evaluator = new Evaluator({ model, target, output: 'logit' });
  const zero = new Float32Array(x.length);
  const integral = await integrateStraightPath(evaluator, x, zero, simpson(513), 'reference');
  const reference = Float64Array.from(integral.weightedGradSum, (g, i) => g * x[i]!);
  return { model, x, target, reference };
}

function checkHonest(truth: number, estimate: number, what: string): void {
  expect(truth, `${what}: true ${truth} vs estimated ${estimate}`).toBeLessThanOrEqual(1.5 * estimate);
  expect(estimate, `${what}: estimated ${estimate} vs true ${truth}`).toBeLessThanOrEqual(4 * truth);
}

describe('map-error estimates on analytic models', () => {
  beforeAll(useCpu);

  it('a smooth model converges to the tolerance and the estimate bounds the known error', async () => {
    // F = sigmoid(wᵀx) from 0: A* from a 200-point Gauss–Legendre rule (exact to float32 for this smooth integrand).
    const model = sigmoidModel([2, -1, 0.5]);
    const x = [1, 0.5, 2];
    const exact = (await runMethod(model, 'ig', x, null, { rule: 'gauss-legendre', steps: 200 }, { output: 'probability' })).result;
    const { result } = await runMethod(model, 'ig', x, null, {}, { output: 'probability' });
    expect(result.params.rule).toBe('adaptive');
    expect(result.accuracy!.converged).toBe(true);
    expect(result.accuracy!.mapError).toBeLessThanOrEqual(0.02);
    expect(relativeL1(exact.attribution.data, result.attribution.data)).toBeLessThanOrEqual(1.5 * result.accuracy!.mapError);
  });

  it('a run stopped by the cap is not converged, and its estimate still bounds the error at the kink', async () => {
    // F = 1 − ReLU(1 − x₁ − x₂) from 0 to (2, 1): the kink at α = 1/3; A* = (2/3, 1/3).
    const { result } = await runMethod(reluSaturationModel(), 'ig', [2, 1], null, { maxEvaluations: 9, mapTolerance: 1e-4 });
    expect(result.accuracy!.converged).toBe(false);
    const truth = relativeL1([2 / 3, 1 / 3], result.attribution.data);
    expect(truth).toBeGreaterThan(0);
    checkHonest(truth, result.accuracy!.mapError, 'relu kink, 9 points');
  });
});

describe('map-error estimates on the zoo (true error against 513-point Simpson references)', () => {
  // wasm: the references cost 513 gradients per image (seconds here, minutes on the cpu backend).
  beforeAll(() => initBackend('wasm'));
  const cases: [string, string, string][] = [
    ['mnist-cnn', 'raw255', 'sample_digit.png'],
    ['sign-digits-64', 'unit', '0.jpeg'],
    ['sign-digits-64', 'unit', '3.jpeg'],
  ];

  it.each(cases)('%s %s %s: the default (adaptive) and GL-50 maps are honest about their error', async (dir, preprocess, sample) => {
    const { model, x, target, reference } = await zooCase(dir, preprocess, sample);
    const run = (options: Record<string, unknown>) => runMethod(model as LoadedModel, 'ig', Array.from(x), null, options, { target });
    const adaptive = (await run({})).result;
    const truthAdaptive = relativeL1(reference, adaptive.attribution.data);
    checkHonest(truthAdaptive, adaptive.accuracy!.mapError, `${dir}/${sample} adaptive`);
    // Never green when the converged computation contradicts it: a converged map is within 2 %.
    expect(adaptive.accuracy!.converged).toBe(true);
    expect(truthAdaptive).toBeLessThanOrEqual(0.02);
    const gl = (await run({ rule: 'gauss-legendre', steps: 50 })).result;
    checkHonest(relativeL1(reference, gl.attribution.data), gl.accuracy!.mapError, `${dir}/${sample} GL-50`);
    model.dispose();
  });
});
