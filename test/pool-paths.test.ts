import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/engine/backend';
import { Evaluator } from '../src/core/engine/evaluator';
import { chunkPoints, type PointChunk } from '../src/core/engine/pointBatch';
import { integrateAdaptive } from '../src/core/path/adaptive';
import { quadrature } from '../src/core/path/quadrature';
import { integrateStraightPath, pathDirection, straightPath, straightPathPoints } from '../src/core/path/straightPath';
import { CancelledError } from '../src/core/errors';
import type { LoadedModel } from '../src/core/model/load';
import { ModelCache } from '../src/worker/jobs';
import { EvaluationPool } from '../src/worker/pool';
import { tempDir } from './helpers/analyticModels';

const ROOT = path.resolve(__dirname, '..');
const WORKER = path.join(ROOT, 'dist/worker.js');
const MODEL = path.resolve(ROOT, '../shared/zoo/mnist-cnn/model.json');
const TARGET = 3;

let pool: EvaluationPool;
let model: LoadedModel;
let nextOwner = 1;
const cache = new ModelCache();
const previousCacheDir = process.env.PATHLENS_CACHE_DIR;

/** A digit-like 28×28 image, different per seed. */
const image = (seed: number) =>
  Float32Array.from({ length: 784 }, (_, i) =>
    Math.max(0, Math.sin((Math.floor(i / 28) + 2 * seed) / 4) * Math.cos(((i % 28) - seed) / 5)),
  );

beforeAll(async () => {
  if (!fs.existsSync(WORKER)) throw new Error(`${WORKER} is missing: run 'npm run build' first (npm test does)`);
  process.env.PATHLENS_CACHE_DIR = tempDir('pool-paths-cache');
  await initBackend('wasm');
  model = await cache.get(MODEL); // as the coordinator loads it (layers plan on wasm), like the pool threads
  pool = new EvaluationPool(WORKER, { backend: 'wasm' }, 2);
  await pool.prepare(MODEL, undefined);
}, 120_000);

afterAll(async () => {
  await pool?.dispose();
  cache.clear();
  if (previousCacheDir === undefined) delete process.env.PATHLENS_CACHE_DIR;
  else process.env.PATHLENS_CACHE_DIR = previousCacheDir;
});

/** The same chunks (2 points each) computed in this thread, or by the two pool threads for job `owner`. */
function evaluator(owner: number | null, signal?: { cancelled: boolean }): Evaluator {
  const fn = { model, target: TARGET, output: 'logit' as const };
  if (owner === null) return new Evaluator(fn, { chunkSize: 2, signal });
  const remotes = pool.remotesFor(owner, MODEL, TARGET, 'logit', 2, model.inputShape, { signal });
  return new Evaluator(fn, { chunkSize: 4, remotes, signal });
}

const pathsHeld = async () => (await pool.stats()).map((s) => s.paths);

describe('straight-path points described to pool threads, built there', () => {
  it('give the local IG bit for bit (Gauss–Legendre, every gradient kept), sending each path once per thread', async () => {
    const input = image(1);
    const baseline = new Float32Array(784);
    const rule = quadrature('gauss-legendre', 16);
    const run = async (e: Evaluator) => {
      const gradients: number[] = [];
      const integral = await integrateStraightPath(e, input, baseline, rule, 'IG', (_s, _n, g) => gradients.push(...g));
      return { integral, gradients, evaluations: e.evaluations };
    };
    const local = await run(evaluator(null));
    const owner = nextOwner++;
    const bytesBefore = pool.postedBytes;
    const pooled = await run(evaluator(owner));
    expect(pooled.evaluations).toBe(16);
    expect([...pooled.integral.weightedGradSum]).toEqual([...local.integral.weightedGradSum]);
    expect(pooled.integral.value).toEqual(local.integral.value);
    expect(pooled.integral.directional).toEqual(local.integral.directional);
    expect(pooled.integral.gradNorm).toEqual(local.integral.gradNorm);
    expect(pooled.gradients).toEqual(local.gradients);
    // Each thread got x′ and x − x′ once (2 × 784 floats), then per point its alpha and weight only.
    const posted = pool.postedBytes - bytesBefore;
    expect(posted).toBeLessThanOrEqual(2 * 2 * 784 * 4 + 16 * (8 + 4));
    expect(posted).toBeGreaterThanOrEqual(2 * 784 * 4);
    expect((await pathsHeld()).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    pool.release(owner);
    expect(await pathsHeld()).toEqual([0, 0]);
  }, 60_000);

  it('give the local adaptive IG bit for bit on several inputs at once, and release every path when the job ends', async () => {
    const baseline = new Float32Array(784);
    const inputs = [image(2), image(3), image(4)];
    const options = { maxEvaluations: 40 };
    const expected = async (input: Float32Array) => {
      const values = await evaluator(null).values(2, (start, n) =>
        tf.tensor(straightPathPoints(input, baseline, [1, 0])(start, n), [n, 28, 28, 1]),
      );
      return values[0]! - values[1]!;
    };
    const local: Awaited<ReturnType<typeof integrateAdaptive>>[] = [];
    for (const input of inputs) local.push(await integrateAdaptive(evaluator(null), input, baseline, await expected(input), options, 'IG'));
    const owner = nextOwner++;
    const pooled = await Promise.all(
      inputs.map(async (input) => integrateAdaptive(evaluator(owner), input, baseline, await expected(input), options, 'IG')),
    );
    pooled.forEach((p, k) => {
      expect(p.alpha).toEqual(local[k]!.alpha);
      expect([...p.weightedGradSum]).toEqual([...local[k]!.weightedGradSum]);
      expect(p.value).toEqual(local[k]!.value);
      expect(p.mapError).toBe(local[k]!.mapError);
    });
    // Every input's path sits in the threads that computed its chunks until the job ends.
    const held = await pathsHeld();
    expect(held.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(inputs.length);
    expect(Math.max(...held)).toBeLessThanOrEqual(inputs.length);
    pool.release(owner);
    expect(await pathsHeld()).toEqual([0, 0]);
  }, 120_000);

  it('leave no path and no tensor in the threads when a job is cancelled mid-way, and drop its late chunks', async () => {
    const [before] = await pool.stats();
    const owner = nextOwner++;
    const signal = { cancelled: false };
    const e = evaluator(owner, signal);
    const input = image(5);
    const baseline = new Float32Array(784);
    const alphas = Array.from({ length: 200 }, (_, k) => k / 199);
    let chunks = 0;
    const run = e.evaluatePoints(
      { count: alphas.length, build: straightPathPoints(input, baseline, alphas), keepGradients: true },
      () => {
        if (++chunks === 3) signal.cancelled = true;
      },
      'IG',
    );
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(chunks).toBeLessThan(100);
    pool.release(owner); // as the coordinator does when the job ends
    // A chunk of the ended job arriving late is dropped, not computed (its path is not sent again).
    const late = pool.remotesFor(owner, MODEL, TARGET, 'logit', 2, model.inputShape)[0]!;
    const chunk: PointChunk = { count: 1, path: { ...straightPath(input, baseline), alphas: [0.5] } };
    await expect(late.evaluate(chunk)).rejects.toBeInstanceOf(CancelledError);
    const after = await pool.stats();
    expect(after.map((s) => s.paths)).toEqual([0, 0]);
    expect(after[0]!.numTensors).toBe(before!.numTensors);
  }, 60_000);

  it('bound each thread’s path cache (least recently used paths go first), results unaffected', async () => {
    const small = new EvaluationPool(WORKER, { backend: 'wasm' }, 1, 2 * 2 * 784 * 4);
    try {
      const fn = { model, target: TARGET, output: 'logit' as const };
      const baseline = new Float32Array(784);
      const alphas = [0, 0.5, 1];
      for (const seed of [6, 7, 8, 9]) {
        const remotes = small.remotesFor(1, MODEL, TARGET, 'logit', 1, model.inputShape);
        const values: number[] = [];
        await new Evaluator(fn, { chunkSize: 3, remotes }).evaluatePoints(
          { count: 3, build: straightPathPoints(image(seed), baseline, alphas) },
          (_s, r) => values.push(...r.value),
          'IG',
        );
        expect(values).toHaveLength(3);
        expect((await small.stats())[0]!.paths).toBeLessThanOrEqual(2);
      }
      small.release(1);
      expect((await small.stats())[0]!.paths).toBe(0);
    } finally {
      await small.dispose();
    }
  }, 60_000);
});

describe('pathDirection and path chunks', () => {
  it('compute x − x′ once per input and baseline, and build the points straightPathPoints builds', () => {
    const input = image(1);
    const baseline = Float32Array.from(input, (v, i) => v * 0.25 + (i % 7) * 0.01);
    expect(pathDirection(input, baseline)).toBe(pathDirection(input, baseline));
    expect([...pathDirection(input, baseline)]).toEqual([...input.map((v, i) => v - baseline[i]!)]);
    const alphas = [0, 0.1, 1 / 3, 0.77, 1];
    const built = straightPathPoints(input, baseline, alphas)(1, 3);
    const described = chunkPoints({ count: 3, path: { ...straightPath(input, baseline), alphas: alphas.slice(1, 4) } });
    expect([...described]).toEqual([...built]);
    expect(built[784 * 2 + 5]).toBe(Math.fround(baseline[5]! + 0.77 * pathDirection(input, baseline)[5]!));
  });
});
