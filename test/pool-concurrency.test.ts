import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerClient } from '../src/worker/client';
import type { ExplainJob, WorkerEvent } from '../src/shared/protocol';
import type { InputResult } from '../src/core/types';
import { tempDir } from './helpers/analyticModels';

const ROOT = path.resolve(__dirname, '..');
const WORKER = path.join(ROOT, 'dist/worker.js');
const MODEL = path.resolve(ROOT, '../shared/zoo/mnist-cnn/model.json');

let inputs: string[];
const previousCacheDir = process.env.PATHLENS_CACHE_DIR;
beforeAll(() => {
  if (!fs.existsSync(WORKER)) throw new Error(`${WORKER} is missing: run 'npm run build' first (npm test does)`);
  process.env.PATHLENS_CACHE_DIR = tempDir('pool-concurrency-cache'); // the worker threads inherit it
  const dir = tempDir('pool-concurrency-inputs');
  inputs = [0, 1, 2, 3].map((k) => {
    const file = path.join(dir, `digit${k}.json`);
    const image = Array.from({ length: 28 }, (_, r) =>
      Array.from({ length: 28 }, (_, c) => [Math.max(0, Math.sin((r + 2 * k) / 4) * Math.cos((c - k) / 5)) * 255]),
    );
    fs.writeFileSync(file, JSON.stringify(image));
    return file;
  });
});
afterAll(() => {
  if (previousCacheDir === undefined) delete process.env.PATHLENS_CACHE_DIR;
  else process.env.PATHLENS_CACHE_DIR = previousCacheDir;
});

const job = (files: string[], options: ExplainJob['options'] = { maxEvaluations: 64 }): ExplainJob => ({
  modelPath: MODEL,
  inputs: files,
  preprocess: 'raw255',
  methods: ['ig'],
  target: 'top',
  output: 'logit',
  options,
  workers: 2,
});

describe('one job over several inputs on two pool threads', () => {
  it('gives every input the map, evaluations and path of that input explained alone, with input and result events in input order', async () => {
    const client = new WorkerClient({ workerScript: WORKER, backend: 'wasm', workers: 2 });
    try {
      const alone: InputResult[] = [];
      for (const file of inputs) alone.push((await client.explain(job([file])).result).inputs[0]!);
      const events: string[] = [];
      const together = await client.explain(job(inputs), (e: WorkerEvent) => {
        if (e.kind === 'input' || e.kind === 'result') events.push(`${e.kind} ${e.inputIndex}`);
      }).result;
      expect(events).toEqual(inputs.flatMap((_, i) => [`input ${i}`, `result ${i}`]));
      together.inputs.forEach((input, i) => {
        const [map, reference] = [input.results[0]!, alone[i]!.results[0]!];
        expect(map.timing.evaluations).toBe(reference.timing.evaluations);
        expect(map.path!.alpha).toEqual(reference.path!.alpha);
        expect([...map.attribution.data]).toEqual([...reference.attribution.data]);
        expect(map.completeness).toEqual(reference.completeness);
      });
    } finally {
      await client.dispose();
    }
  });

  it('stops every input when cancelled mid-way, leaves no tensors behind and serves the next job', async () => {
    const client = new WorkerClient({ workerScript: WORKER, backend: 'wasm', workers: 2 });
    try {
      await client.explain(job(inputs.slice(0, 1))).result;
      const before = await client.memory();
      const results: number[] = [];
      let cancel = () => {};
      const long = client.explain(job(inputs, { rule: 'riemann-left', steps: 3000 }), (e: WorkerEvent) => {
        if (e.kind === 'result') results.push(e.inputIndex);
        if (e.kind === 'progress' && e.progress.done > 0) cancel();
      });
      cancel = () => long.cancel();
      await expect(long.result).rejects.toMatchObject({ code: 'cancelled' });
      expect(results).toEqual([]);
      expect((await client.memory()).numTensors).toBe(before.numTensors);
      const again = await client.explain(job(inputs.slice(1, 2))).result;
      expect(again.inputs[0]!.results).toHaveLength(1);
    } finally {
      await client.dispose();
    }
  });
});
