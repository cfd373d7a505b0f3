import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/engine/backend';
import { chunkPoints, reducePointChunk, reducePointChunks, type PointChunk, type TargetedChunk } from '../src/core/engine/pointBatch';
import { loadModel } from '../src/core/model/load';
import { ChunkQueue, type QueuedChunk } from '../src/worker/chunkQueue';
import { CancelledError } from '../src/core/errors';

const ZOO = path.resolve(__dirname, '../../shared/zoo');

/** Chunks of three "inputs" (other classes, other reductions) as a pool request would merge them. */
function parts(inputShape: number[]): TargetedChunk[] {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const points = (count: number, seed: number) => Float32Array.from({ length: count * size }, (_, i) => Math.sin(i * 0.013 * seed + seed));
  const chunk = (count: number, seed: number, extra: Partial<PointChunk>): PointChunk => ({ points: points(count, seed), count, ...extra });
  const [baseline, input] = [points(1, 6), points(1, 7)];
  const path = { id: 1, baseline, direction: input.map((v, i) => v - baseline[i]!), alphas: [0.3, 0.9] };
  return [
    { target: 1, chunk: chunk(2, 1, { direction: points(1, 9), keepGradients: true }) },
    { target: 0, chunk: chunk(3, 2, { weights: Float32Array.from([0.5, -1, 2]), totals: true }) },
    { target: 1, chunk: chunk(1, 3, { multipliers: points(1, 4), sumOfSquares: true, direction: points(1, 5) }) },
    // Points described by their straight path (built by the executing thread), then given as points.
    { target: 0, chunk: { count: 2, path, direction: path.direction, keepGradients: true, weights: Float32Array.from([0.25, 0.75]) } },
    {
      target: 0,
      chunk: {
        count: 2,
        points: chunkPoints({ count: 2, path }),
        direction: path.direction,
        keepGradients: true,
        weights: Float32Array.from([0.25, 0.75]),
      },
    },
  ];
}

/** Each part's result from the merged batch is bit for bit its result computed alone. */
async function expectMergedEqualsAlone(modelPath: string) {
  const model = await loadModel(modelPath, { channelsLast: true });
  try {
    const request = parts(model.inputShape);
    const merged = await reducePointChunks(model, 'logit', model.inputShape, request);
    expect(merged).toHaveLength(request.length);
    const [described, given] = merged.slice(-2) as unknown as Record<string, Float32Array>[];
    for (const key of Object.keys(given!)) expect([...described![key]!]).toEqual([...given![key]!]);
    for (const [k, { target, chunk }] of request.entries()) {
      const alone = await reducePointChunk({ model, target, output: 'logit' }, model.inputShape, chunk);
      expect(Object.keys(merged[k]!).sort()).toEqual(Object.keys(alone).sort());
      for (const [key, values] of Object.entries(alone))
        expect([...(merged[k] as unknown as Record<string, Float32Array>)[key]!]).toEqual([...values]);
    }
  } finally {
    model.dispose();
  }
}

describe('chunks of several inputs computed as one batch', () => {
  it('give every part the bits it gets alone on wasm (tm-objects MobileNetV2, MNIST CNN)', async () => {
    await initBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
    await expectMergedEqualsAlone(path.join(ZOO, 'tm-objects/model.json'));
    await expectMergedEqualsAlone(path.join(ZOO, 'mnist-cnn/model.json'));
  }, 120_000);

  it('give every part the bits it gets alone on cpu (MNIST CNN)', async () => {
    await initBackend('cpu');
    await expectMergedEqualsAlone(path.join(ZOO, 'mnist-cnn/model.json'));
  }, 120_000);
});

describe('ChunkQueue', () => {
  const queued = (count: number, priority: number, extra: Partial<QueuedChunk> = {}, log: string[] = []): QueuedChunk => ({
    owner: 1,
    modelPath: 'm',
    output: 'logit',
    inputShape: [2],
    target: priority,
    chunk: { points: new Float32Array(count * 2), count },
    limit: 2,
    order: { priority, mergeUpTo: 8 },
    resolve: () => log.push(`resolved ${priority}`),
    reject: (e) => log.push(`${e instanceof CancelledError ? 'cancelled' : 'failed'} ${priority}`),
    ...extra,
  });

  it('serves the earliest input first and merges other inputs’ chunks of the same model up to mergeUpTo points', () => {
    const queue = new ChunkQueue();
    queue.add(queued(2, 3));
    queue.add(queued(4, 1));
    queue.add(queued(2, 2, { output: 'probability' }));
    queue.add(queued(4, 2));
    queue.add(queued(2, 0));
    const first = queue.take(0, false);
    // 0 (2 points) + 1 (4) + 3 (2) = 8; the probability chunk is another batch, the second 2 would exceed 8.
    expect(first.map((q) => [q.target, q.chunk.count])).toEqual([
      [0, 2],
      [1, 4],
      [3, 2],
    ]);
    expect(queue.take(0, false).map((q) => [q.target, q.output])).toEqual([[2, 'probability']]);
    expect(queue.length).toBe(1);
  });

  it('holds a request ahead of a busy thread until it fills half its merge size, and keeps chunks to their jobs’ threads', () => {
    const queue = new ChunkQueue();
    queue.add(queued(2, 0));
    expect(queue.take(1, true)).toEqual([]);
    queue.add(queued(2, 1));
    expect(queue.take(1, true)).toHaveLength(2);
    queue.add(queued(2, 0, { limit: 1 }));
    expect(queue.take(1, false)).toEqual([]);
    expect(queue.take(0, false)).toHaveLength(1);
  });

  it('drops the chunks of an ended job (its owner) with CancelledError', () => {
    const log: string[] = [];
    const queue = new ChunkQueue();
    queue.add(queued(2, 0, { owner: 7 }, log));
    queue.add(queued(2, 1, { owner: 8 }, log));
    queue.dropOwner(7);
    expect(log).toEqual(['cancelled 0']);
    expect(queue.take(0, false).map((q) => q.owner)).toEqual([8]);
  });

  it('drops the chunks of a cancelled job with CancelledError', () => {
    const log: string[] = [];
    const queue = new ChunkQueue();
    const signal = { cancelled: false };
    queue.add(queued(2, 0, { order: { priority: 0, signal } }, log));
    queue.add(queued(2, 1, {}, log));
    signal.cancelled = true;
    queue.dropCancelled();
    expect(log).toEqual(['cancelled 0']);
    expect(queue.length).toBe(1);
  });
});
