import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerClient } from '../src/worker/client';
import type { ExplainJob, WorkerEvent } from '../src/shared/protocol';
import { tempDir } from './helpers/analyticModels';
import { mnistDigitJob } from './helpers/mnistJob';

const ROOT = path.resolve(__dirname, '..');
const WORKER = path.join(ROOT, 'dist/worker.js');
const ZOO = path.resolve(ROOT, '../shared/zoo');

let modelDir: string;
const previousCacheDir = process.env.PATHLENS_CACHE_DIR;
beforeAll(() => {
  if (!fs.existsSync(WORKER)) throw new Error(`${WORKER} is missing: run 'npm run build' first (npm test does)`);
  // A copy of the zoo's MNIST model, so the weight file's mtime can change.
  modelDir = tempDir('warm-mnist');
  for (const name of ['model.json', 'group1-shard1of1.bin']) fs.copyFileSync(path.join(ZOO, 'mnist-cnn', name), path.join(modelDir, name));
  process.env.PATHLENS_CACHE_DIR = tempDir('warm-cache'); // the worker threads inherit it
});
afterAll(() => {
  if (previousCacheDir === undefined) delete process.env.PATHLENS_CACHE_DIR;
  else process.env.PATHLENS_CACHE_DIR = previousCacheDir;
});

const job = (): ExplainJob => mnistDigitJob(path.join(modelDir, 'model.json'));

async function phasesOf(client: WorkerClient): Promise<Map<string, string>> {
  const phases = new Map<string, string>();
  const onEvent = (e: WorkerEvent) => {
    if (e.kind === 'phase') phases.set(e.phase, e.detail ?? '');
  };
  const result = await client.explain(job(), onEvent).result;
  expect(result.inputs[0]!.error).toBeUndefined();
  return phases;
}

describe('warm worker', () => {
  it('a second job reuses the model loaded in the coordinator and both pool threads, and the known batch plan', async () => {
    const client = new WorkerClient({ workerScript: WORKER, backend: 'wasm', workers: 2 });
    try {
      const first = await phasesOf(client);
      expect(first.get('model load')).toBe('read from disk');
      expect(first.get('pool start')).toMatch(/^2 thread/);
      expect(first.get('batch profile')).toMatch(/^batch \d+ per thread \(probe \(saved to .*warm-cache.*profiles/);
      // One load in the coordinator and one in each pool thread, from one read of the files.
      expect(await client.memory()).toMatchObject({ modelLoads: 3, modelFileReads: 1 });
      const second = await phasesOf(client);
      expect(second.get('model load')).toBe('cached in the worker');
      expect(second.get('batch profile')).toMatch(/\(memory\)$/);
      expect((await client.memory()).modelLoads).toBe(3);
      expect(client.startup!.readyMs).toBeGreaterThan(0);
      expect(client.startup!.backendInitMs).toBeGreaterThan(0);
    } finally {
      await client.dispose();
    }
    // The next process on the same model skips the probe: the plan comes from the cache.
    const next = new WorkerClient({ workerScript: WORKER, backend: 'wasm', workers: 2 });
    try {
      expect((await phasesOf(next)).get('batch profile')).toMatch(/\(cache\)$/);
    } finally {
      await next.dispose();
    }
  });

  it('a changed weight file is read again (the cache key is path, size and mtime)', async () => {
    const client = new WorkerClient({ workerScript: WORKER, backend: 'wasm', workers: 1 });
    try {
      await phasesOf(client);
      const loads = (await client.memory()).modelLoads;
      const shard = path.join(modelDir, 'group1-shard1of1.bin');
      const later = new Date(Date.now() + 5000);
      fs.utimesSync(shard, later, later);
      expect((await phasesOf(client)).get('model load')).toBe('read from disk');
      expect((await client.memory()).modelLoads).toBe(loads + 1);
    } finally {
      await client.dispose();
    }
  });
});
