/**
 * The halving map-error estimate of the path methods other than IG, against the truth on the zoo: the
 * same method, path and baseline at 8× its default steps stands in for the exact integral A*. Honest
 * means the true error is at most 1.5× the estimate and the estimate at most 4× the truth (issue 13).
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { withMapError } from '../src/core/attribution/mapErrorByHalving';
import { initBackend } from '../src/core/engine/backend';
import { loadInputs, parsePreprocess } from '../src/core/input';
import { getMethod } from '../src/core/methods';
import { loadModel, type LoadedModel } from '../src/core/model/load';
import { relativeL1 } from '../src/core/path/mapError';
import { runMethod } from './helpers/runMethod';

const ZOO = path.resolve(__dirname, '../../shared/zoo');
const REFERENCE_FACTOR = 8;

async function zooInput(dir: string, preprocess: string, sample: string) {
  const model = await loadModel(path.join(ZOO, dir, 'model.json'));
  const [input] = await loadInputs([path.join(ZOO, dir, 'samples', sample)], model, parsePreprocess(preprocess, 'explicit'));
  const x = Array.from(input!.data);
  const scores = tf.tidy(() => model.predict(tf.tensor(x, [1, ...model.inputShape])).dataSync());
  return { model, x, target: scores.indexOf(Math.max(...scores)) };
}

/** The method at `steps` with its halving estimate, and the truth against the same method at 8× steps. */
async function honesty(model: LoadedModel, x: number[], target: number, method: string, options: Record<string, unknown>) {
  const steps = options.steps as number;
  const run = await runMethod(model, method, x, null, options, { target });
  const context = run.context;
  const estimated = await withMapError(getMethod(method), context, options, run.result);
  const reference = await getMethod(method).run(context, { ...options, steps: REFERENCE_FACTOR * steps });
  return { estimate: estimated.accuracy!.mapError, truth: relativeL1(reference.attribution.data, run.result.attribution.data) };
}

describe('halving map-error estimates of the other path methods on the zoo (reference: 8× steps)', () => {
  beforeAll(() => initBackend('wasm'));
  const methods: [string, Record<string, unknown>][] = [
    ['blur-ig', { steps: 50 }],
    ['guided-ig', { steps: 50 }],
    ['pwig', { steps: 32, rule: 'gauss-legendre', weight: 'beta', betaA: 2, betaB: 2 }],
    ['pwig', { steps: 32, rule: 'trapezoid', weight: 'ramp-up' }],
    ['idg', { steps: 32 }],
  ];
  const samples: [string, string, string][] = [
    ['sign-digits-64', 'unit', '0.jpeg'],
    ['mnist-cnn', 'raw255', 'sample_digit.png'],
  ];
  it.each(samples)(
    '%s %s %s',
    async (dir, preprocess, sample) => {
      const { model, x, target } = await zooInput(dir, preprocess, sample);
      const failures: string[] = [];
      for (const [method, options] of methods) {
        const { estimate, truth } = await honesty(model, x, target, method, options);
        const what = `${method} ${JSON.stringify(options)}: true ${truth.toFixed(4)} vs estimated ${estimate.toFixed(4)}`;
        if (truth > 1.5 * estimate || estimate > 4 * truth) failures.push(what);
      }
      model.dispose();
      expect(failures).toEqual([]);
    },
    600_000,
  );
});
