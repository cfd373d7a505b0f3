import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AttributionMethod } from '../src/core/attribution/method';
import { Evaluator } from '../src/core/engine/evaluator';
import { loadInputs, makeBaseline, resolvePreprocessing } from '../src/core/input';
import { loadModel, type LoadedModel } from '../src/core/model/load';
import { shortNodeName } from '../src/core/sanity/weights';
import { readModelWeights, runSanity, type SanityEvent, type SanityRequest, type SanityResult } from '../src/core/sanity';
import type { PreparedInput } from '../src/core/types';
import { createRng } from '../src/core/random';
import { useCpu } from './helpers/runMethod';

const ZOO = path.resolve(__dirname, '../../shared/zoo');
const MNIST = path.join(ZOO, 'mnist-cnn/model.json');
const MNIST_GRAPH = path.join(ZOO, 'mnist-cnn-graph/model.json');

/** Test-only, deliberately model-independent "method": an edge detector on the input (|∂x/∂row| + |∂x/∂col|). */
const edgeDetector: AttributionMethod = {
  name: 'edges',
  title: 'Edge detector (test only)',
  description: 'Ignores the model.',
  complete: false,
  parameters: [],
  async run(context) {
    const [h, w, c] = context.input.shape as [number, number, number];
    const x = context.input.data;
    const out = new Float32Array(x.length);
    const at = (r: number, col: number, k: number) => x[(Math.min(h - 1, Math.max(0, r)) * w + Math.min(w - 1, Math.max(0, col))) * c + k]!;
    for (let r = 0; r < h; r++)
      for (let col = 0; col < w; col++)
        for (let k = 0; k < c; k++)
          out[(r * w + col) * c + k] = Math.abs(at(r + 1, col, k) - at(r - 1, col, k)) + Math.abs(at(r, col + 1, k) - at(r, col - 1, k));
    return {
      method: 'edges',
      params: {},
      attribution: { shape: context.input.shape, data: out },
      completeness: null,
      timing: { ms: 0, evaluations: 0 },
    };
  },
};

let input: PreparedInput;
const models: Record<string, LoadedModel> = {};

beforeAll(async () => {
  await useCpu();
  const preprocessing = resolvePreprocessing({ explicit: 'raw255', modelDir: path.dirname(MNIST) });
  [input] = await loadInputs([path.join(ZOO, 'mnist-cnn/samples/sample_digit.png')], { inputShape: [28, 28, 1] }, preprocessing);
  models.layers = await loadModel(MNIST);
  models.graph = await loadModel(MNIST_GRAPH);
  // Measure each cached model's chunk size once up front (as a long-lived worker would have), so
  // tensor counts below compare steady states.
  for (const model of Object.values(models)) await new Evaluator({ model, target: 0, output: 'logit' }).chunkSize();
});

async function sanity(
  model: LoadedModel,
  modelPath: string,
  request: Partial<SanityRequest>,
  x: PreparedInput = input,
): Promise<{ result: SanityResult; events: SanityEvent[] }> {
  const events: SanityEvent[] = [];
  const result = await runSanity(
    modelPath,
    model,
    x,
    { check: 'cascading', methods: ['gradient'], target: 'top', output: 'logit', options: { steps: 8, rule: 'trapezoid' }, ...request },
    {
      makeBaseline: (spec, inp) => ({ data: makeBaseline(spec, inp, { preprocessing: null, seed: 0 }), name: String(spec) }),
      onEvent: (e) => events.push(e),
    },
  );
  return { result, events };
}

const series = (result: SanityResult, method: string, metric: 'spearmanAbs' | 'ssim' | 'hog' | 'topK' = 'spearmanAbs') =>
  result.steps.map((s) => s.similarities[method]![metric]);

describe('sanity checks on the trained mnist-cnn (raw255)', () => {
  it('finds the weighted layers of the layers and graph versions, output last', () => {
    const layers = readModelWeights(MNIST).layers;
    expect(layers.map((l) => l.name)).toEqual(['conv2d', 'conv2d_1', 'conv2d_2', 'dense', 'dense_1']);
    expect(layers[0]!.weights.map((w) => [w.param, w.initializer?.className])).toEqual([
      ['kernel', 'GlorotUniform'],
      ['bias', 'Zeros'],
    ]);
    const graph = readModelWeights(MNIST_GRAPH).layers;
    expect(graph.map((l) => l.label)).toEqual(['conv2d', 'conv2d_1', 'conv2d_2', 'dense', 'dense_1']);
    expect(graph[0]!.name).toBe('StatefulPartitionedCall/model/conv2d/Relu');
    expect(shortNodeName('module_apply_default/MobilenetV1/MobilenetV1/Conv2d_1_depthwise/depthwise')).toBe('Conv2d_1_depthwise');
    expect(shortNodeName('module_apply_default/MobilenetV1/Logits/Conv2d_1c_1x1/BiasAdd')).toBe('Conv2d_1c_1x1');
    expect(graph.every((l) => l.weights.length === 2)).toBe(true);
  });

  it('cascading on the clean digit: Gradient and IG maps change, the edge detector stays identical and fails; models are disposed', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const { result, events } = await sanity(models.layers!, MNIST, { methods: ['gradient', 'ig', edgeDetector] });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(result.steps.map((s) => s.label)).toEqual(['dense_1', 'dense', 'conv2d_2', 'conv2d_1', 'conv2d']);
    expect(result.steps.at(-1)!.randomized).toHaveLength(5);
    expect(result.timing.modelsBuilt).toBe(5);
    expect(result.steps[0]!.reinitialised![0]!.initializer).toMatch(/GlorotUniform/);
    for (const method of ['gradient', 'ig']) {
      for (const metric of ['spearmanAbs', 'spearmanSigned', 'ssim', 'hog', 'topK'] as const)
        console.log(
          'clean',
          method,
          metric,
          series(result, method, metric as 'ssim')
            .map((v) => v?.toFixed(3))
            .join(' '),
        );
      // The signed maps are unrelated after randomization; the magnitude maps are clearly less similar.
      expect(Math.abs(series(result, method, 'spearmanSigned' as 'ssim').at(-1)!)).toBeLessThan(0.3);
      expect(series(result, method, 'ssim').at(-1)!).toBeLessThan(0.7);
      expect(series(result, method, 'hog').at(-1)!).toBeLessThan(0.8);
    }
    expect(series(result, 'gradient', 'ssim').at(-1)!).toBeLessThan(0.4);
    expect(series(result, 'gradient').at(-1)!).toBeLessThan(0.85);
    // Input structure: the black background gives IG (zero baseline) exact zeros on ~80% of the pixels for
    // ANY model, so |IG| ranks stay ≈ 1 — the verdict fails on Spearman(|attr|) and says why.
    expect(series(result, 'ig').at(-1)!).toBeGreaterThan(0.9);
    expect(result.verdicts.find((v) => v.method === 'ig')!.reason).toMatch(/signed map did change/);
    for (const metric of ['spearmanAbs', 'ssim', 'hog', 'topK'] as const)
      expect(series(result, 'edges', metric).every((v) => v !== null && v > 0.999)).toBe(true);
    const edges = result.verdicts.find((v) => v.method === 'edges')!;
    expect(edges.status).toBe('fail');
    expect(edges.reason).toMatch(/^fails randomization: Spearman\(\|attr\|\) stays 1\.00 after randomizing every layer/);
    expect(edges.reason).not.toMatch(/signed map/);
    console.log(result.verdicts.map((v) => `${v.method}: ${v.reason}`).join('\n'));
    // Streamed: plan, original, one event per step, verdicts.
    expect(events.map((e) => e.type)).toEqual(['plan', 'original', 'step', 'step', 'step', 'step', 'step', 'verdicts']);
    const step = events[2] as Extract<SanityEvent, { type: 'step' }>;
    expect(step.step.results.map((r) => r.method)).toEqual(['gradient', 'ig', 'edges']);
    expect(step.step.results[0]!.attribution.data).toHaveLength(784);
  });

  it('cascading on the digit with a little noise (no exact zeros): Gradient falls below 0.5 and passes', async () => {
    const rng = createRng(1);
    const noisy = { ...input, data: input.data.map((v) => Math.min(255, v + rng.range(0, 20))) };
    const { result } = await sanity(models.layers!, MNIST, { methods: ['gradient', edgeDetector] }, noisy);
    expect(result.prediction.index).toBe(7);
    const s = series(result, 'gradient') as number[];
    console.log('noisy gradient spearmanAbs', s.map((v) => v.toFixed(3)).join(' '));
    expect(s.at(-1)!).toBeLessThan(0.3);
    const verdict = result.verdicts[0]!;
    console.log(verdict.reason);
    expect(verdict.status).toBe('pass');
    expect(verdict.reason).toMatch(/^passes: Spearman\(\|attr\|\) falls below 0\.5 by layer 1 of 5 \(dense_1\)/);
    expect(result.verdicts[1]!.status).toBe('fail');
  });

  it('perturbation: tiny noise keeps the prediction and similarity near 1; same seed, same result', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const request: Partial<SanityRequest> = { check: 'perturbation', methods: ['gradient'], levels: [0.001, 0.01], draws: 2, seed: 7 };
    const { result } = await sanity(models.layers!, MNIST, request);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(result.steps.map((s) => s.label)).toEqual(['0.1%', '1%']);
    for (const step of result.steps) {
      expect(step.draws!.drawn).toBe(2);
      expect(step.draws!.kept).toBe(2);
    }
    const s = series(result, 'gradient') as number[];
    console.log('perturbation gradient Spearman(|attr|)', s.map((v) => v.toFixed(4)).join(' '));
    expect(s[0]!).toBeGreaterThan(0.98);
    expect(result.verdicts[0]!.status).toBe('pass');
    expect(result.verdicts[0]!.reason).toMatch(/stable under perturbation up to/);
    const again = await sanity(models.layers!, MNIST, request);
    expect(series(again.result, 'gradient')).toEqual(s);
  });

  it('graph model: cascading randomization of the conv/matmul weight constants', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const { result } = await sanity(models.graph!, MNIST_GRAPH, { methods: ['gradient'] });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(result.steps).toHaveLength(5);
    expect(result.steps[0]!.reinitialised![0]!.initializer).toMatch(/seeded normal/);
    const s = series(result, 'gradient') as number[];
    console.log('graph cascading gradient', s.map((v) => v?.toFixed(3)).join(' '));
    expect(s.at(-1)!).toBeLessThan(0.5);
  });

  it('independent: one layer at a time; rejects bad requests', async () => {
    const { result } = await sanity(models.layers!, MNIST, { check: 'independent', methods: ['gradient', edgeDetector] });
    expect(result.steps.every((s) => s.randomized.length === 1)).toBe(true);
    console.log(
      'independent gradient',
      series(result, 'gradient')
        .map((v) => v?.toFixed(3))
        .join(' '),
    );
    console.log(result.verdicts.map((v) => `${v.method}: ${v.reason}`).join('\n'));
    expect(result.verdicts[1]!.status).toBe('fail');
    await expect(sanity(models.layers!, MNIST, { check: 'perturbation', levels: [-1] })).rejects.toThrow(/levels/);
    await expect(sanity(models.layers!, MNIST, { methods: ['nope'] })).rejects.toThrow(/unknown method/);
  });
});
