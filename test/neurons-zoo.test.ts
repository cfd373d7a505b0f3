/**
 * Neuron attributions on the zoo's real CNNs: completeness identities (Σ_k conductance = F(x) − F(x')
 * up to the quadrature error, shared exactly with IG at the same nodes; region sums), NHWC indexing of
 * units (a first-layer conv unit only sees its receptive field) and layer IG on a graph model.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Evaluator } from '../src/core/engine/evaluator';
import { loadInputs, parsePreprocess } from '../src/core/input';
import { loadModel } from '../src/core/model/load';
import { attributeLayer, unitMap, type NeuronPath } from '../src/core/neurons/analyze';
import { activationDerivative, splitModel } from '../src/core/neurons/pathTensors';
import { useCpu } from './helpers/runMethod';

const ZOO = path.resolve(__dirname, '../../shared/zoo');

async function setup(dir: string, preprocess: string, sample: string) {
  const model = await loadModel(path.join(ZOO, dir, 'model.json'));
  const [input] = await loadInputs([path.join(ZOO, dir, 'samples', sample)], model, parsePreprocess(preprocess, 'explicit'));
  const value = (data: Float32Array) => tf.tidy(() => model.predict(tf.tensor(data, [1, ...model.inputShape])).dataSync());
  const scores = value(input!.data);
  const target = scores.indexOf(Math.max(...scores));
  const evaluator = new Evaluator({ model, target, output: 'logit' }, { chunkSize: 8 });
  const [inputValue] = await evaluator.values(1, () => tf.tensor(input!.data, [1, ...model.inputShape]));
  const zero = new Float32Array(input!.data.length);
  const [baselineValue] = await evaluator.values(1, () => tf.tensor(zero, [1, ...model.inputShape]));
  const neuronPath: NeuronPath = {
    input: input!.data,
    baseline: { data: zero, name: 'zero', value: baselineValue! },
    inputValue: inputValue!,
  };
  return { model, evaluator, fn: { model, target, output: 'logit' as const }, neuronPath };
}

function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}

describe('neuron attributions on the zoo', () => {
  beforeAll(useCpu);
  let mnist: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    mnist = await setup('mnist-cnn', 'raw255', 'sample_digit.png');
  });

  it('mnist-cnn: total conductance of conv2d_1 sums to F(x) − F(x′) within the quadrature error', async () => {
    const result = await attributeLayer(mnist.fn, mnist.evaluator, mnist.neuronPath, {
      layer: 'conv2d_1',
      method: 'conductance',
      top: 5,
      steps: 32,
      rule: 'gauss-legendre',
    });
    expect(result.shape.length).toBe(3);
    expect(result.attribution.data.length).toBe(result.shape.reduce((a, b) => a * b, 1));
    expect(result.completeness.relative).toBeLessThan(0.02);
    expect(result.top).toHaveLength(5);
    expect(result.top[0]!.index).toHaveLength(3);
    expect(result.top[0]!.value).toBeGreaterThanOrEqual(result.top[4]!.value);
    const flat = (idx: number[]) => (idx[0]! * result.shape[1]! + idx[1]!) * result.shape[2]! + idx[2]!;
    expect(result.attribution.data[flat(result.top[0]!.index)]).toBe(result.top[0]!.value);
  });

  it('mnist-cnn: a region’s unit shares sum to the region’s IG mass (same nodes), and regions add up', async () => {
    const run = (region: { x0: number; y0: number; x1: number; y1: number }) =>
      attributeLayer(mnist.fn, mnist.evaluator, mnist.neuronPath, {
        layer: 'dense',
        method: 'conductance',
        region,
        top: 3,
        steps: 16,
        rule: 'gauss-legendre',
      });
    const left = await run({ x0: 0, y0: 0, x1: 14, y1: 28 });
    const right = await run({ x0: 14, y0: 0, x1: 28, y1: 28 });
    // Same nodes on both sides, exact JVP (double backward): equal up to float32 sums.
    for (const r of [left, right]) expect(r.completeness.relative).toBeLessThan(1e-4);
    const whole = await attributeLayer(mnist.fn, mnist.evaluator, mnist.neuronPath, {
      layer: 'dense',
      method: 'conductance',
      top: 3,
      steps: 16,
      rule: 'gauss-legendre',
    });
    const parts = left.completeness.sum + right.completeness.sum;
    expect(Math.abs(parts - whole.completeness.sum)).toBeLessThan(1e-4 * Math.abs(whole.completeness.sum));
  });

  it('mnist-cnn: a first-layer unit [r, c, ch] (NHWC) only sees its 5×5 receptive field, and its map sums to its conductance', async () => {
    const shape = mnist.model.internals!.find('conv2d').shape;
    // The unit carrying most of the prediction: it sees ink (a unit over black pixels has a zero map).
    const ranked = await attributeLayer(mnist.fn, mnist.evaluator, mnist.neuronPath, {
      layer: 'conv2d',
      method: 'conductance',
      top: 1,
      steps: 8,
      rule: 'gauss-legendre',
    });
    const [row, col, channel] = ranked.top[0]!.index as [number, number, number];
    expect(shape).toEqual([28, 28, 4]); // conv2d: 5×5 kernel, stride 1, 'same' padding (the zoo's model.json)
    const result = await unitMap(
      mnist.fn,
      mnist.evaluator,
      mnist.neuronPath,
      { neuron: `conv2d:${row},${col},${channel}`, method: 'conductance', steps: 16, rule: 'gauss-legendre' },
      mnist.model.inputShape,
    );
    const map = result.attribution.data;
    let outside = 0;
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        const inside = Math.abs(y - row) <= 2 && Math.abs(x - col) <= 2;
        if (!inside) outside += Math.abs(map[y * 28 + x]!);
      }
    expect(outside).toBe(0);
    expect(sum(map)).not.toBe(0);
    expect(result.completeness!.relative).toBeLessThan(1e-3);
  });

  it('mnist-cnn-graph: layer IG over a graph node sums to F(x) − F(x′)', async () => {
    const graph = await setup('mnist-cnn-graph', 'raw255', 'sample_digit.png');
    const layers = graph.model.internals!.list();
    const dense = layers.find((l) => l.shape.length === 1 && l.shape[0]! > 10 && /Relu/i.test(l.name));
    expect(dense, layers.map((l) => l.name).join(', ')).toBeDefined();
    const result = await attributeLayer(graph.fn, graph.evaluator, graph.neuronPath, {
      layer: dense!.name,
      method: 'layer-ig',
      top: 3,
      steps: 32,
      rule: 'gauss-legendre',
    });
    expect(result.completeness.relative).toBeLessThan(0.02);
    graph.model.dispose();
  });

  it('sign-digits-64: conductance completeness holds on a second CNN', async () => {
    const sign = await setup('sign-digits-64', 'unit', '3.jpeg');
    const conv = sign.model.internals!.list().find((l) => l.className === 'Conv2D')!;
    const result = await attributeLayer(sign.fn, sign.evaluator, sign.neuronPath, {
      layer: conv.name,
      method: 'conductance',
      top: 5,
      steps: 32,
      rule: 'gauss-legendre',
    });
    expect(result.completeness.relative).toBeLessThan(0.03);
    sign.model.dispose();
  });

  it('releases every tensor it makes', async () => {
    const before = tf.memory().numTensors;
    await attributeLayer(mnist.fn, mnist.evaluator, mnist.neuronPath, {
      layer: 'conv2d_2',
      method: 'conductance',
      top: 1,
      steps: 4,
      rule: 'gauss-legendre',
    });
    await unitMap(
      mnist.fn,
      mnist.evaluator,
      mnist.neuronPath,
      { neuron: 'dense:3', method: 'ig', steps: 4, rule: 'gauss-legendre' },
      mnist.model.inputShape,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the central-difference JVP against an exact double-backward JVP', () => {
  beforeAll(useCpu);

  it('mnist-cnn conv2d_1 (ReLU, where double backward works): relative L1 error ≤ 3e-3 at random points', async () => {
    const model = await loadModel(path.join(ZOO, 'mnist-cnn', 'model.json'));
    const split = splitModel({ model, target: 0, output: 'logit' }, 'conv2d_1');
    const points = tf.randomUniform([4, ...model.inputShape], 0, 255, 'float32', 1);
    const direction = tf.randomUniform([4, ...model.inputShape], 0, 255, 'float32', 2);
    const exact = tf.grad((v: tf.Tensor) => {
      // J·d = ∇_v (d · Jᵀv): differentiate the vector-Jacobian product once more.
      const vjp = tf.grad((p: tf.Tensor) => {
        let h: tf.Tensor | null = null;
        split.internals.through(
          'conv2d_1',
          (out) => (h = out),
          () => model.scores(p, 'logit'),
        );
        return tf.sum(tf.mul(h!, v));
      })(points);
      return tf.sum(tf.mul(vjp, direction));
    })(tf.zeros([4, ...split.layer.shape]));
    const approx = activationDerivative({ ...split, jvp: 'central-difference' }, points, direction);
    const viaDefault = activationDerivative(split, points, direction);
    expect(split.jvp).toBe('double-backward');
    expect(tf.max(tf.abs(tf.sub(viaDefault, exact))).dataSync()[0]).toBeLessThan(1e-3);
    const error = tf.sum(tf.abs(tf.sub(approx, exact))).dataSync()[0]! / tf.sum(tf.abs(exact)).dataSync()[0]!;
    expect(error).toBeLessThan(3e-3);
    expect(error).toBeGreaterThan(0); // a real comparison, not the same computation twice
    model.dispose();
  });
});
