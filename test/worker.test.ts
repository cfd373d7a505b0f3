import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkerClient } from '../src/worker/client';
import { tempDir } from './helpers/analyticModels';

const ROOT = path.resolve(__dirname, '..');
const WORKER = path.join(ROOT, 'dist/worker.js');
const ZOO = path.resolve(ROOT, '../shared/zoo');
const MNIST = {
  modelPath: path.join(ZOO, 'mnist-cnn/model.json'),
  inputs: [path.join(ZOO, 'mnist-cnn/samples/sample_digit.png')],
  preprocess: 'raw255',
};

function client(workers = 1) {
  if (!fs.existsSync(WORKER)) throw new Error(`${WORKER} is missing: run 'npm run build' first (npm test does)`);
  return new WorkerClient({ workerScript: WORKER, backend: 'wasm', workers });
}

describe('attribution worker', () => {
  it('streams started/input/result events, caches the model, and leaks no tensors across jobs', async () => {
    const worker = client();
    try {
      const job = { ...MNIST, methods: ['ig', 'gradient'], target: 'top' as const, output: 'logit' as const, options: { steps: 16 } };
      await worker.explain(job).result; // loads and caches the model
      const before = await worker.memory();
      const kinds: string[] = [];
      const result = await worker.explain(job, (e) => kinds.push(e.kind)).result;
      expect(kinds).toEqual(expect.arrayContaining(['started', 'input', 'result', 'progress']));
      expect(kinds.filter((k) => k === 'result')).toHaveLength(2);
      expect(result.inputs[0]!.results.map((r) => r.method)).toEqual(['ig', 'gradient']);
      expect((await worker.memory()).numTensors).toBe(before.numTensors);
    } finally {
      await worker.dispose();
    }
  });

  it('cancels a long job between chunks and stays usable, with no tensors left behind', async () => {
    const worker = client();
    try {
      await worker.explain({ ...MNIST, methods: ['gradient'], target: 'top', output: 'logit', options: {} }).result;
      const before = await worker.memory();
      let cancelAfterFirstProgress: () => void = () => {};
      const long = worker.explain(
        { ...MNIST, methods: ['ig'], target: 'top', output: 'logit', options: { steps: 4000, rule: 'riemann-left' }, memoryBudgetMB: 8 },
        (e) => {
          if (e.kind === 'progress' && e.progress.done > 0) cancelAfterFirstProgress();
        },
      );
      cancelAfterFirstProgress = () => long.cancel();
      const started = Date.now();
      await expect(long.result).rejects.toMatchObject({ code: 'cancelled' });
      expect(Date.now() - started).toBeLessThan(30_000);
      expect((await worker.memory()).numTensors).toBe(before.numTensors);
      const again = await worker.explain({ ...MNIST, methods: ['gradient'], target: 'top', output: 'logit', options: {} }).result;
      expect(again.inputs[0]!.results).toHaveLength(1);
    } finally {
      await worker.dispose();
    }
  });

  it('two workers give the single-worker IG to float32 rounding', async () => {
    const one = client(1);
    const two = client(2);
    try {
      const job = {
        ...MNIST,
        methods: ['ig'],
        target: 'top' as const,
        output: 'logit' as const,
        // A fixed rule: adaptive rounds are sized per thread count, so its evaluations may differ.
        options: { steps: 24, rule: 'gauss-legendre' },
        memoryBudgetMB: 16,
      };
      const a = (await one.explain(job).result).inputs[0]!.results[0]!;
      const b = (await two.explain(job).result).inputs[0]!.results[0]!;
      let maxDiff = 0;
      let maxAbs = 0;
      a.attribution.data.forEach((v, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(v - b.attribution.data[i]!));
        maxAbs = Math.max(maxAbs, Math.abs(v));
      });
      expect(maxDiff).toBeLessThanOrEqual(1e-5 * maxAbs);
      expect(b.path!.alpha).toEqual(a.path!.alpha);
      expect(b.completeness!.delta).toBeCloseTo(a.completeness!.delta, 4);
    } finally {
      await Promise.all([one.dispose(), two.dispose()]);
    }
  });

  it('reports a memory budget too small for one point, NaN outputs, and out-of-range targets per input', async () => {
    const worker = client();
    try {
      const tiny = await worker.explain({
        ...MNIST,
        methods: ['ig'],
        target: 'top',
        output: 'logit',
        options: {},
        memoryBudgetMB: 0.01 as number,
      }).result;
      expect(tiny.inputs[0]!.error).toMatch(/memory budget is 0 MB; raise the memory budget/);

      const dir = tempDir('nan-input');
      fs.writeFileSync(
        path.join(dir, 'nan.json'),
        JSON.stringify(
          [
            [
              Array(28)
                .fill(0)
                .map(() => [1e39]),
            ],
          ]
            .flat()
            .concat(Array(27).fill(Array(28).fill([0]))),
        ),
      );
      const nan = await worker.explain({
        ...MNIST,
        inputs: [path.join(dir, 'nan.json')],
        methods: ['ig'],
        target: 'top',
        output: 'logit',
        options: {},
      }).result;
      expect(nan.inputs[0]!.error).toMatch(/NaN|Infinity|non-finite|model outputs/i);

      const target = await worker.explain({ ...MNIST, methods: ['ig'], target: 10, output: 'logit', options: {} }).result;
      expect(target.inputs[0]!.error).toContain('target class 10 is out of range: the model has 10 classes (0–9)');
    } finally {
      await worker.dispose();
    }
  });
});
