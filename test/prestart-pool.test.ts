import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkerClient } from '../src/worker/client';
import { mnistDigitJob } from './helpers/mnistJob';

const ROOT = path.resolve(__dirname, '..');
const WORKER = path.join(ROOT, 'dist/worker.js');

/** OS threads of this process (Linux): each worker thread is one. */
const threadCount = () => fs.readdirSync('/proc/self/task').length;

const job = mnistDigitJob();

describe('pool threads prestarted by the boot entry (worker/boot.ts)', () => {
  it('the coordinator adopts the threads its boot started: two pool threads, not four, and the job runs on them', async () => {
    if (!fs.existsSync(WORKER)) throw new Error(`${WORKER} is missing: run 'npm run build' first (npm test does)`);
    const before = threadCount();
    const client = new WorkerClient({ workerScript: WORKER, backend: 'wasm', workers: 2, prestartPool: true });
    try {
      await client.start();
      const result = await client.explain(job, () => {}).result;
      expect(result.inputs[0]!.error).toBeUndefined();
      expect(threadCount() - before).toBe(3); // the coordinator and its two pool threads
      expect(await client.memory()).toMatchObject({ modelLoads: 3, modelFileReads: 1 });
    } finally {
      await client.dispose();
    }
  });
});
