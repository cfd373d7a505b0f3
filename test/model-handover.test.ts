import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerClient } from '../src/worker/client';
import { ModelCache, type ModelSource } from '../src/worker/modelCache';
import { tempDir } from './helpers/analyticModels';
import { MNIST_ZOO, mnistDigitJob } from './helpers/mnistJob';
import { useCpu } from './helpers/runMethod';

const ROOT = path.resolve(__dirname, '..');
const WORKER = path.join(ROOT, 'dist/worker.js');
const FILES = ['model.json', 'group1-shard1of1.bin'];

/** A copy of the zoo's MNIST model that the test may change or delete. */
function mnistCopy(name: string): string {
  const dir = tempDir(name);
  for (const file of FILES) fs.copyFileSync(path.join(MNIST_ZOO, file), path.join(dir, file));
  return path.join(dir, 'model.json');
}

const logitsOf = (cache: ModelCache, modelPath: string) =>
  cache.current(modelPath).then((model) => tf.tidy(() => Array.from(model.scores(tf.ones([1, ...model.inputShape]), 'logit').dataSync())));

describe('model files read once and handed to the pool threads (in process)', () => {
  beforeAll(useCpu);

  it('a pool-side cache builds the model from the handed artifacts without touching the files', async () => {
    const modelPath = mnistCopy('handover-unit');
    const coordinator = new ModelCache();
    const source = coordinator.source(modelPath);
    expect(source.read?.weightBytes).toBe(fs.statSync(path.join(MNIST_ZOO, FILES[1]!)).size);
    const expected = await logitsOf(coordinator, modelPath); // the coordinator's load takes that read
    expect(coordinator.reads).toBe(1);
    for (const file of FILES) fs.rmSync(path.join(path.dirname(modelPath), file));

    const pool = new ModelCache();
    await pool.prepare(modelPath, structuredClone(source) as ModelSource);
    expect(pool.handedOver).toBe(1);
    expect(pool.reads).toBe(0);
    expect(await logitsOf(pool, modelPath)).toEqual(expected);
    // Chunks use the prepared version without looking at the (now missing) files again.
    expect(await logitsOf(pool, modelPath)).toEqual(expected);
    coordinator.clear();
    pool.clear();
  });

  it('a version the coordinator holds already travels without artifacts; a changed file travels again', async () => {
    const modelPath = mnistCopy('handover-versions');
    const coordinator = new ModelCache();
    const first = coordinator.source(modelPath);
    await coordinator.get(modelPath);
    expect(coordinator.source(modelPath)).toEqual({ stamp: first.stamp });
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(path.dirname(modelPath), FILES[1]!), later, later);
    const changed = coordinator.source(modelPath);
    expect(changed.stamp).not.toBe(first.stamp);
    expect(changed.read).toBeDefined();
    await coordinator.get(modelPath);
    expect(coordinator.reads).toBe(2); // the second load took the second read: no third
    coordinator.clear();
  });
});

describe('model files read once in the worker', () => {
  const previousCacheDir = process.env.PATHLENS_CACHE_DIR;
  beforeAll(() => {
    if (!fs.existsSync(WORKER)) throw new Error(`${WORKER} is missing: run 'npm run build' first (npm test does)`);
    process.env.PATHLENS_CACHE_DIR = tempDir('handover-cache'); // the worker threads inherit it
  });
  afterAll(() => {
    if (previousCacheDir === undefined) delete process.env.PATHLENS_CACHE_DIR;
    else process.env.PATHLENS_CACHE_DIR = previousCacheDir;
  });

  const job = mnistDigitJob;

  it('two pool threads load the model without reading its files, and a changed file is read once more', async () => {
    const modelPath = mnistCopy('handover-worker');
    const client = new WorkerClient({ workerScript: WORKER, backend: 'wasm', workers: 2 });
    try {
      const first = await client.explain(job(modelPath), () => {}).result;
      expect(first.inputs[0]!.error).toBeUndefined();
      expect(first.inputs[0]!.results[0]!.attribution.data.length).toBe(28 * 28);
      expect(await client.memory()).toMatchObject({ modelLoads: 3, modelFileReads: 1 });
      const later = new Date(Date.now() + 5000);
      fs.utimesSync(path.join(path.dirname(modelPath), FILES[1]!), later, later);
      const second = await client.explain(job(modelPath), () => {}).result;
      expect(second.inputs[0]!.results[0]!.attribution.data).toEqual(first.inputs[0]!.results[0]!.attribution.data);
      expect(await client.memory()).toMatchObject({ modelLoads: 6, modelFileReads: 2 });
    } finally {
      await client.dispose();
    }
  });

  it('a short shard fails the job with the same one-line error with and without pool threads', async () => {
    const modelPath = mnistCopy('handover-short');
    const shard = path.join(path.dirname(modelPath), FILES[1]!);
    fs.writeFileSync(shard, fs.readFileSync(shard).subarray(0, 1000));
    const messages: string[] = [];
    for (const workers of [1, 2]) {
      const client = new WorkerClient({ workerScript: WORKER, backend: 'wasm', workers });
      try {
        const error = await client
          .explain(job(modelPath), () => {})
          .result.then(
            () => null,
            (err: Error) => err,
          );
        expect(error?.message).toMatch(/^weight shard group1-shard1of1\.bin is short by \d+ bytes/);
        messages.push(error!.message);
        // The worker and its pool stay usable: the intact model explains.
        const fine = await client.explain(job(path.join(MNIST_ZOO, 'model.json')), () => {}).result;
        expect(fine.inputs[0]!.error).toBeUndefined();
      } finally {
        await client.dispose();
      }
    }
    expect(messages[1]).toBe(messages[0]);
  });
});
