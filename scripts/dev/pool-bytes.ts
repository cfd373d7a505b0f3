/**
 * Bytes the coordinator posts to its pool threads per evaluation: runs one explain job in this
 * process (this thread coordinates, dist/worker.js pool threads compute) and counts the typed-array
 * bytes of every chunk request as postMessage sees them (points, path arrays, reductions' inputs).
 * Usage: npm run build && npx tsx scripts/dev/pool-bytes.ts [model.json] [input folder] [ig options JSON]
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { initBackend } from '../../src/core/engine/backend';
import { ModelCache, runExplainJob } from '../../src/worker/jobs';
import { BatchPlanner } from '../../src/worker/batchPlan';
import { EvaluationPool } from '../../src/worker/pool';
import type { ExplainJob } from '../../src/shared/protocol';

const ROOT = path.resolve(__dirname, '../..');
const [
  model = path.join(ROOT, '../shared/zoo/tm-objects/model.json'),
  input = path.join(ROOT, '../shared/zoo/tm-objects/samples'),
  options = '{}',
] = process.argv.slice(2);

/** Bytes of the typed arrays anywhere in a message. */
function arrayBytes(value: unknown): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + arrayBytes(v), 0);
  if (value && typeof value === 'object') return Object.values(value).reduce((n: number, v) => n + arrayBytes(v), 0);
  return 0;
}

async function main(): Promise<void> {
  let posted = 0;
  let requests = 0;
  const postMessage = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (this: Worker, message: { kind?: string }, transfer?: readonly ArrayBuffer[]) {
    if (message?.kind === 'chunk') {
      posted += arrayBytes(message);
      requests++;
    }
    return postMessage.call(this, message, transfer as never);
  } as Worker['postMessage'];
  await initBackend('wasm');
  const pool = new EvaluationPool(path.join(ROOT, 'dist/worker.js'), { backend: 'wasm' }, 2);
  const job: ExplainJob = {
    modelPath: model,
    inputs: [input],
    methods: ['ig'],
    target: 'top',
    output: 'logit',
    options: JSON.parse(options),
  };
  const threads = {
    count: 2,
    remotesFor: (target: number, output: ExplainJob['output'], inputShape: number[], order?: object) =>
      pool.remotesFor(1, model, target, output, 2, inputShape, order),
    prepare: (modelPath: string, memoryBudgetMB?: number) => pool.prepare(modelPath, memoryBudgetMB, 2),
    probe: (modelPath: string, output: ExplainJob['output'], inputShape: number[], budget: number) =>
      pool.probe(modelPath, output, inputShape, budget, 2),
  };
  try {
    const result = await runExplainJob(1, job, new ModelCache(), { cancelled: false }, () => {}, threads as never, new BatchPlanner());
    const evaluations = result.inputs.reduce((n, r) => n + r.results[0]!.timing.evaluations, 0);
    const kb = (n: number) => (n / 1024).toFixed(1);
    console.log(
      `${result.inputs.length} inputs, ${evaluations} evaluations, ${requests} chunk requests: ${kb(posted)} KB posted, ${kb(posted / evaluations)} KB per evaluation`,
    );
  } finally {
    await pool.dispose();
  }
}

void main();
