import { beforeAll, describe, expect, it } from 'vitest';
import { InputOrder } from '../src/core/attribution/inputOrder';
import { reducePointChunk, type ChunkOrder, type RemoteEvaluator } from '../src/core/engine/pointBatch';
import { explainInputs, type ExplainHooks, type ExplainRequest } from '../src/core/explain';
import { CancelledError } from '../src/core/errors';
import { loadModel, type LoadedModel } from '../src/core/model/load';
import type { InputResult, OutputKind, Progress } from '../src/core/types';
import { sineSumModel } from './helpers/analyticModels';
import { tensorInput, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

const SHAPE = [4, 4, 1];
const inputs = Array.from({ length: 5 }, (_, k) =>
  tensorInput(
    Array.from({ length: 16 }, (_, i) => Math.sin(i * 1.7 + k) * (1 + k / 2)),
    SHAPE,
  ),
);
const request: ExplainRequest = {
  methods: ['ig', 'gradient'],
  target: 'top',
  output: 'logit',
  options: { rule: 'adaptive', maxEvaluations: 40, mapTolerance: 0.001 } as never,
};

/**
 * Stand-ins for two pool threads sharing one queue: every chunk is structured-cloned (as postMessage
 * does) and delayed by a pseudo-random few ms, so chunks of different inputs finish out of order. It
 * records which inputs (by queue priority) had chunks in flight at once.
 */
function fakePool(model: LoadedModel) {
  const inFlight: number[] = [];
  let mostInputsAtOnce = 0;
  let chunks = 0;
  let finished = 0;
  let tick = 0;
  const remotesFor = (target: number, output: OutputKind, inputShape: number[], order?: ChunkOrder): RemoteEvaluator[] => {
    const evaluate = async (chunk: Parameters<RemoteEvaluator['evaluate']>[0]) => {
      const input = order?.priority ?? -1;
      inFlight.push(input);
      mostInputsAtOnce = Math.max(mostInputsAtOnce, new Set(inFlight).size);
      chunks++;
      const copy = structuredClone(chunk);
      await new Promise((resolve) => setTimeout(resolve, 1 + ((tick++ * 7) % 5)));
      inFlight.splice(inFlight.indexOf(input), 1);
      finished++;
      return reducePointChunk({ model, target, output }, inputShape, copy);
    };
    return [{ evaluate }, { evaluate }];
  };
  return { remotesFor, chunks: () => chunks, finished: () => finished, mostInputsAtOnce: () => mostInputsAtOnce };
}

/** The job's events as a sequential run would report them: inputs and results with their input. */
async function run(model: LoadedModel, concurrentInputs: number, extra: Partial<ExplainHooks> = {}) {
  const pool = fakePool(model);
  const events: string[] = [];
  const progress: Progress[] = [];
  const results = await explainInputs(model, inputs, request, {
    makeBaseline: (_spec, input) => ({ data: new Float32Array(input.data.length), name: 'zero' }),
    remotesFor: pool.remotesFor,
    batchPlan: { batch: 2, bytesPerPoint: 1024 },
    concurrentInputs,
    onInput: (i) => events.push(`input ${i}`),
    onResult: (i, r) => events.push(`result ${i} ${r.method}`),
    onProgress: (p) => progress.push(p),
    ...extra,
  });
  return { results, events, progress, pool };
}

const maps = (results: InputResult[]) =>
  results.map((r) => r.results.map((m) => [m.method, m.timing.evaluations, [...m.attribution.data]]));

describe('inputs of one job computed at once', () => {
  it('give the maps, evaluation counts and event order of the sequential run, while several inputs share the threads', async () => {
    const model = await loadModel(sineSumModel(SHAPE));
    const sequential = await run(model, 1);
    const concurrent = await run(model, 3);
    expect(sequential.pool.mostInputsAtOnce()).toBe(1);
    expect(concurrent.pool.mostInputsAtOnce()).toBeGreaterThan(1);
    expect(concurrent.pool.chunks()).toBe(sequential.pool.chunks());
    expect(maps(concurrent.results)).toEqual(maps(sequential.results));
    expect(concurrent.results.map((r) => r.results.map((m) => m.completeness))).toEqual(
      sequential.results.map((r) => r.results.map((m) => m.completeness)),
    );
    expect(concurrent.events).toEqual(sequential.events);
    expect(concurrent.events).toHaveLength(inputs.length * 3);
    expect(concurrent.progress.length).toBeGreaterThan(0);
  });

  it('stops every input on cancel: the job rejects, no input starts after it, no chunk is computed after it', async () => {
    const model = await loadModel(sineSumModel(SHAPE));
    const signal = { cancelled: false };
    let progressEvents = 0;
    const started: number[] = [];
    const pool = fakePool(model);
    const job = run(model, 3, {
      signal,
      remotesFor: pool.remotesFor,
      onInput: (i) => started.push(i),
      onProgress: () => {
        if (++progressEvents === 12) signal.cancelled = true;
      },
    });
    await expect(job).rejects.toBeInstanceOf(CancelledError);
    // Every chunk started has finished when the job rejects, and none starts later.
    const chunksAtCancel = pool.chunks();
    expect(pool.finished()).toBe(chunksAtCancel);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pool.chunks()).toBe(chunksAtCancel);
    expect(started.length).toBeLessThan(inputs.length);
  });
});

describe('InputOrder', () => {
  it('passes the earliest unfinished input’s events through and holds later inputs’ until the earlier ones finish', () => {
    const seen: string[] = [];
    const order = new InputOrder<string>({
      onProgress: (p) => seen.push(`progress ${p.done}`),
      onInput: (i, s) => seen.push(`input ${i} ${s}`),
      onResult: (i) => seen.push(`result ${i}`),
    });
    const [first, second, third] = [0, 1, 2].map((i) => order.eventsOf(i));
    third!.onInput!(2, 'c');
    second!.onInput!(1, 'b');
    second!.onProgress!({ stage: 'ig', done: 5, total: 9 }); // not the head: dropped
    first!.onInput!(0, 'a');
    first!.onProgress!({ stage: 'ig', done: 1, total: 9 });
    second!.onResult!(1, {} as never);
    order.finish(2);
    expect(seen).toEqual(['input 0 a', 'progress 1']);
    first!.onResult!(0, {} as never);
    order.finish(0); // 1 becomes the head; 2 already finished waits for 1
    expect(seen).toEqual(['input 0 a', 'progress 1', 'result 0', 'input 1 b', 'result 1']);
    second!.onProgress!({ stage: 'ig', done: 7, total: 9 });
    order.finish(1);
    expect(seen).toEqual(['input 0 a', 'progress 1', 'result 0', 'input 1 b', 'result 1', 'progress 7', 'input 2 c']);
  });
});
