/**
 * The evaluate job in the attribution worker (what the panel's Evaluate view runs): a plan, one event
 * per input, progress, the leaderboard at the end, cancellation that leaves the worker usable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EvaluatedInput } from '../src/shared/evaluate';
import type { EvaluateJob } from '../src/shared/protocol';
import { WorkerClient } from '../src/worker/client';
import { linearModel } from './helpers/analyticModels';

const WORKER = path.resolve(__dirname, '..', 'dist/worker.js');

function setup(count: number): EvaluateJob {
  const model = linearModel([1, -2, 3, 0.5], 0.1);
  const inputs = path.join(path.dirname(model), 'inputs');
  fs.mkdirSync(inputs);
  for (let i = 0; i < count; i++)
    fs.writeFileSync(path.join(inputs, `x${String(i).padStart(3, '0')}.json`), JSON.stringify([i % 3, 1 - (i % 2), 0.5, -i / count]));
  return {
    modelPath: model,
    inputs: [inputs],
    methods: ['ig', 'gradient'],
    target: 'top',
    output: 'logit',
    options: { rule: 'gauss-legendre', steps: 8 },
    metrics: ['deletion', 'insertion'],
    evalSteps: 4,
    patch: null,
    seed: 0,
    shard: { index: 1, count: 2 },
    done: [0],
    bootstrap: 200,
  };
}

describe('evaluate job in the worker', () => {
  it('streams inputs and progress, skips done and out-of-shard inputs, ends with the leaderboard; cancels', async () => {
    if (!fs.existsSync(WORKER)) throw new Error(`${WORKER} is missing: run 'npm run build' first (npm test does)`);
    const worker = new WorkerClient({ workerScript: WORKER, backend: 'wasm', workers: 1 });
    try {
      const streamed: EvaluatedInput[] = [];
      const stages = new Set<string>();
      const plan = await worker.evaluate(setup(6), (e) => {
        if (e.kind === 'evaluate-input') streamed.push(e.input);
        if (e.kind === 'progress') stages.add(e.progress.stage);
      }).result;
      expect(plan).toMatchObject({ inputs: 6, inShard: 3, todo: 2 });
      expect(streamed.map((i) => i.index)).toEqual([2, 4]);
      expect(stages.has('inputs')).toBe(true);
      expect(plan.summary!.map((r) => `${r.metric}:${r.method}:${r.n}`)).toEqual(
        ['deletion', 'insertion'].flatMap((m) => ['ig', 'gradient', 'random'].map((method) => `${m}:${method}:2`)),
      );

      const long = worker.evaluate({ ...setup(200), shard: null, done: [] }, (e) => {
        if (e.kind === 'evaluate-input' && e.input.index === 1) long.cancel();
      });
      await expect(long.result).rejects.toMatchObject({ code: 'cancelled' });
      const again = await worker.evaluate(setup(2)).result;
      expect(again.todo).toBe(0);
      expect((await worker.memory()).numTensors).toBeLessThan(50);
    } finally {
      await worker.dispose();
    }
  });
});
