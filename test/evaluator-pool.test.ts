import { beforeAll, describe, expect, it } from 'vitest';
import { reducePointChunk, type RemoteEvaluator } from '../src/core/engine/pointBatch';
import { loadModel, type LoadedModel } from '../src/core/model/load';
import type { MethodOptions } from '../src/core/attribution/method';
import { sineSumModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

/**
 * Stand-ins for pool threads: each chunk is structured-cloned (as postMessage does), delayed so that
 * chunks finish out of order, and reduced by the code a pool thread runs.
 */
function fakePool(model: LoadedModel, size: number): { remotes: RemoteEvaluator[]; chunks: () => number } {
  let chunks = 0;
  const remotes = Array.from({ length: size }, (_, r) => ({
    async evaluate(chunk: Parameters<RemoteEvaluator['evaluate']>[0]) {
      chunks++;
      const copy = structuredClone(chunk);
      // The first thread is the slowest: later chunks overtake earlier ones.
      await new Promise((resolve) => setTimeout(resolve, (size - r) * 4));
      return reducePointChunk({ model, target: 0, output: 'logit' }, model.inputShape, copy);
    },
  }));
  return { remotes, chunks: () => chunks };
}

const image = Array.from({ length: 16 }, (_, i) => Math.sin(i * 1.7) * 1.5);

/** Every gradient-based method whose inputs a bare model provides, with few steps. */
const CASES: [string, MethodOptions][] = [
  ['gradient', {}],
  ['grad-x-input', {}],
  ['ig', { rule: 'gauss-legendre', steps: 12 }],
  ['ig', { rule: 'adaptive' as never, maxEvaluations: 40 }],
  ['guided-ig', { steps: 6 }],
  ['blur-ig', { steps: 10, maxSigma: 2, idgi: true }],
  ['expected-gradients', { reference: 'refs', samples: 10, seed: 2 }],
  ['smoothgrad', { samples: 9, seed: 4, wrap: 'grad-x-input' }],
  ['smoothgrad-sq', { samples: 9, seed: 4 }],
  ['vargrad', { samples: 9, seed: 4 }],
  ['idg', { steps: 8 }],
  ['pwig', { steps: 8, weight: 'ramp-up' }],
  ['ggig', { steps: 6 }],
];

describe('one evaluation path: every method computes its gradients through the evaluator', () => {
  it.each(CASES)('%s %j: pool threads (chunks out of order) give the in-thread map', async (method, options) => {
    const model = await loadModel(sineSumModel([4, 4, 1]));
    const references = { refs: [image.map((v) => v * 0.5), image.map(() => 0.1), image.map((v, i) => (i % 3) - v)] };
    const local = await runMethod(model, method, image, null, options, { chunkSize: 3, references });
    const pool = fakePool(model, 3);
    const pooled = await runMethod(model, method, image, null, options, { chunkSize: 3, references, remotes: pool.remotes });
    expect(pool.chunks()).toBeGreaterThan(0);
    const a = local.result.attribution.data;
    const b = pooled.result.attribution.data;
    const scale = Math.max(...a.map(Math.abs));
    expect(scale).toBeGreaterThan(0);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-5 * scale);
    expect(pooled.result.timing.evaluations).toBe(local.result.timing.evaluations);
  });
});
