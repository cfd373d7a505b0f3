/**
 * The layers plan (BatchNorm folded into convolutions, ReLU/ReLU6 and zero padding fused, the whole
 * model one wasm kernel with one gradient) against the same model run through TF.js layers: logits,
 * probabilities and input gradients agree to float32 rounding on tm-objects and on synthetic models
 * that exercise every rewrite (BatchNorm with non-trivial gamma/beta/mean/variance/epsilon, with and
 * without conv bias, depth multiplier > 1, ReLU6 and plain ReLU, residual Add, padding before strided
 * convolutions, Dense with ReLU). The comparisons check that the plan actually ran (kernel counter),
 * so a silent fallback cannot pass them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from '../src/core/engine/backend';
import { valueAndGradient } from '../src/core/engine/scalar';
import { peakBufferBytes } from '../src/core/engine/batchProbe';
import { netStats, setLayersPlanEnabled } from '../src/core/engine/wasm/net';
import { loadModel, type LoadedModel } from '../src/core/model/load';
import { compileLayersPlan } from '../src/core/model/layersPlan';
import { buildModel, readModelWeights } from '../src/core/sanity/weights';
import { readModelArtifacts } from '../src/core/model/artifacts';
import { withoutFinalActivation } from '../src/core/model/logitTopology';
import { tempDir } from './helpers/analyticModels';

const ZOO = path.resolve(__dirname, '../../shared/zoo');

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/** Every weight seeded; BatchNorm variances in [0.3, 2], means and betas away from zero. */
function seedWeights(model: tfl.LayersModel, seed: number): void {
  const r = rng(seed);
  const values = model.weights.map((w) => {
    const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
    const variance = /variance/.test(w.name);
    const a = Float32Array.from({ length: n }, () => (variance ? 0.3 + 1.7 * r() : -0.8 + 1.6 * r()));
    return tf.tensor(a, w.shape as number[]);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/**
 * `explicit`'s weights from `model`'s: gamma 1 and beta 0 where `model`'s BatchNorm has none (TF.js
 * layers cannot differentiate a BatchNorm without them: it records an undefined input on the tape).
 */
function copyWithExplicitBatchNorm(model: tfl.LayersModel, explicit: tfl.LayersModel): void {
  model.layers.forEach((layer, i) => {
    const w = layer.getWeights();
    if (layer.getClassName() !== 'BatchNormalization') return explicit.layers[i]!.setWeights(w);
    const c = w[w.length - 1]!.shape[0]!;
    const cfg = layer.getConfig();
    const [gamma, beta] = [cfg.scale ? w[0]! : tf.ones([c]), cfg.center ? w[cfg.scale ? 1 : 0]! : tf.zeros([c])];
    explicit.layers[i]!.setWeights([gamma, beta, ...w.slice(-2)]);
  });
}

/** Save a tfl model as model.json + weights.bin in a temp dir (what users load). */
async function saved(model: tfl.LayersModel, name: string): Promise<string> {
  const dir = tempDir(name);
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(a.weightData as ArrayBuffer));
      const manifest = [{ paths: ['weights.bin'], weights: a.weightSpecs }];
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: manifest }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return path.join(dir, 'model.json');
}

function relL2(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.norm(tf.sub(a, b)).dataSync()[0]! / Math.max(tf.norm(b).dataSync()[0]!, 1e-30));
}

/** Plan vs layers (of `reference`, default the same model): values and input gradients for logit and probability outputs. */
function comparePlan(model: LoadedModel, x: tf.Tensor, target: number, tol: number, reference = model): void {
  for (const output of ['logit', 'probability'] as const) {
    const before = netStats.backward;
    setLayersPlanEnabled(true);
    const fast = valueAndGradient({ model, target, output }, x);
    expect(netStats.backward, 'the plan ran').toBe(before + 1);
    setLayersPlanEnabled(false);
    const slow = valueAndGradient({ model: reference, target, output }, x);
    setLayersPlanEnabled(true);
    expect(netStats.backward).toBe(before + 1);
    expect(relL2(fast.value, slow.value), `${output} value`).toBeLessThan(tol);
    expect(relL2(fast.grad, slow.grad), `${output} gradient`).toBeLessThan(tol);
    expect(tf.norm(slow.grad).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([fast.value, fast.grad, slow.value, slow.grad]);
  }
}

/** BatchNorm options; `explicit` keeps gamma and beta (for the twin that TF.js layers can differentiate). */
function bn(epsilon: number, center: boolean, scale: boolean, explicit: boolean): tfl.layers.Layer {
  return tfl.layers.batchNormalization({ epsilon, center: center || explicit, scale: scale || explicit });
}

function block(
  y: tfl.SymbolicTensor,
  bias: boolean,
  maxValue: number | undefined,
  multiplier: number,
  explicit: boolean,
): tfl.SymbolicTensor {
  let h = tfl.layers.conv2d({ filters: 8, kernelSize: 1, useBias: bias }).apply(y) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization({ epsilon: 0.01 }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.reLU({ maxValue }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers
    .depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: multiplier, useBias: !bias })
    .apply(h) as tfl.SymbolicTensor;
  h = bn(0.003, bias, !bias, explicit).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.reLU({ maxValue }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: y.shape[3]!, kernelSize: 1, useBias: bias }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization({ epsilon: 0.001 }).apply(h) as tfl.SymbolicTensor;
  return tfl.layers.add().apply([y, h]) as tfl.SymbolicTensor;
}

/** A small MobileNetV2: padded strided stem, residual blocks (relu6 / relu, multipliers 1 and 2), head. */
function mobileNetLike(explicit = false): tfl.LayersModel {
  const inp = tfl.input({ shape: [17, 15, 3] });
  let y = tfl.layers
    .zeroPadding2d({
      padding: [
        [0, 1],
        [1, 0],
      ],
    })
    .apply(inp) as tfl.SymbolicTensor;
  y = tfl.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, useBias: false }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({ epsilon: 0.02 }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.reLU({ maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
  y = block(y, false, 6, 1, explicit);
  y = block(y, true, undefined, 2, explicit);
  y = tfl.layers
    .zeroPadding2d({
      padding: [
        [0, 1],
        [0, 1],
      ],
    })
    .apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, useBias: false }).apply(y) as tfl.SymbolicTensor;
  y = bn(0.001, false, false, explicit).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.activation({ activation: 'relu6' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.conv2d({ filters: 12, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.globalAveragePooling2d({}).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dense({ units: 9, activation: 'relu' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dropout({ rate: 0.5 }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dense({ units: 4, activation: 'softmax' }).apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: y });
}

/** Sequential with Conv → BN → ReLU (no padding), Flatten and a Dense → BN fold. */
function sequentialLike(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [9, 9, 2], filters: 10, kernelSize: 3, strides: 2, padding: 'same' }),
      tfl.layers.batchNormalization({ epsilon: 0.05 }),
      tfl.layers.reLU(),
      tfl.layers.conv2d({ filters: 4, kernelSize: 2, dilationRate: 1 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 6 }),
      tfl.layers.batchNormalization(),
      tfl.layers.activation({ activation: 'relu' }),
      tfl.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
}

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => setLayersPlanEnabled(true));

describe('layers plan == TF.js layers', () => {
  test('MobileNetV2-like functional model (BatchNorm without gamma or beta included): values and input gradients', async () => {
    const [net, twin] = [mobileNetLike(), mobileNetLike(true)];
    seedWeights(net, 7);
    copyWithExplicitBatchNorm(net, twin);
    const [file, twinFile] = [await saved(net, 'plan'), await saved(twin, 'plan-twin')];
    net.dispose();
    twin.dispose();
    const [model, reference] = [await loadModel(file), await loadModel(twinFile)];
    const x = tf.randomUniform([3, 17, 15, 3], -2, 2, 'float32', 5);
    comparePlan(model, x, 1, 2e-5, reference);
    tf.dispose(x);
    model.dispose();
    reference.dispose();
  });

  test('Sequential with Dense → BatchNorm: values and input gradients', async () => {
    const net = sequentialLike();
    seedWeights(net, 7);
    const file = await saved(net, 'plan');
    net.dispose();
    const model = await loadModel(file);
    const x = tf.randomUniform([3, 9, 9, 2], -2, 2, 'float32', 5);
    comparePlan(model, x, 1, 2e-5);
    x.dispose();
    model.dispose();
  });

  test('tm-objects: every BatchNorm folded, every activation and padding fused; same values and gradients', async () => {
    const model = await loadModel(path.join(ZOO, 'tm-objects', 'model.json'));
    const x = tf.randomUniform([2, 224, 224, 3], -1, 1, 'float32', 3);
    comparePlan(model, x, 2, 1e-5);
    x.dispose();
    model.dispose();
  }, 60_000);
});

describe('layers plan: structure, fallbacks and lifetimes', () => {
  test('tm-objects compiles to 52 folded convolutions, 10 adds, a mean and 2 dense steps', async () => {
    const read = readModelArtifacts(path.join(ZOO, 'tm-objects', 'model.json'));
    const stripped = withoutFinalActivation(read.artifacts.modelTopology as Record<string, unknown>)!;
    const m = await tfl.loadLayersModel({ load: async () => ({ ...read.artifacts, modelTopology: stripped }) });
    const compiled = compileLayersPlan(m, [224, 224, 3]);
    m.dispose();
    expect('plan' in compiled).toBe(true);
    const steps = 'plan' in compiled ? compiled.plan.steps : [];
    const count = (kind: string) => steps.filter((s) => s.kind === kind).length;
    expect([count('conv'), count('add'), count('mean'), count('dense'), steps.length]).toEqual([52, 10, 1, 2, 65]);
    const convs = steps.filter((s) => s.kind === 'conv');
    // 35 ReLU6 fused (after every expand and depthwise conv), the 17 projections linear.
    expect(convs.filter((s) => s.activation === 'relu6').length).toBe(35);
    expect(convs.filter((s) => Array.isArray(s.pad)).length).toBe(5);
  });

  test('a BatchNorm fold matches the formula', async () => {
    const m = tfl.sequential({
      layers: [tfl.layers.conv2d({ inputShape: [1, 1, 1], filters: 2, kernelSize: 1 }), tfl.layers.batchNormalization({ epsilon: 0.5 })],
    });
    // kernel [1,1,1,2] = (2, -3), bias (1, 4); gamma, beta, mean, variance per channel.
    const w = [
      [2, -3],
      [1, 4],
      [0.5, 2],
      [0.25, -1],
      [3, -2],
      [1.5, 3.5],
    ].map((v, i) => tf.tensor(v, i === 0 ? [1, 1, 1, 2] : [2]));
    m.setWeights(w);
    tf.dispose(w);
    const compiled = compileLayersPlan(m, [1, 1, 1]);
    m.dispose();
    const conv = 'plan' in compiled ? compiled.plan.steps[0] : null;
    expect(conv?.kind).toBe('conv');
    if (conv?.kind !== 'conv') return;
    const s = [0.5 / Math.sqrt(1.5 + 0.5), 2 / Math.sqrt(3.5 + 0.5)];
    expect(Array.from(conv.filter)).toEqual([Math.fround(2 * s[0]!), Math.fround(-3 * s[1]!)]);
    expect(conv.bias![0]).toBeCloseTo((1 - 3) * s[0]! + 0.25, 6);
    expect(conv.bias![1]).toBeCloseTo((4 + 2) * s[1]! - 1, 6);
  });

  test('a Dense layer on an image (per-pixel) is left to TF.js layers, and the model still loads and runs', async () => {
    const m = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [5, 5, 2], filters: 3, kernelSize: 1 }),
        tfl.layers.dense({ units: 4 }),
        tfl.layers.globalAveragePooling2d({}),
      ],
    });
    expect(compileLayersPlan(m, [5, 5, 2])).toEqual({ reason: expect.stringMatching(/dense step on \[5,5,3\]/) });
    const file = await saved(m, 'plan-dense4d');
    const model = await loadModel(file);
    const x = tf.randomUniform([2, 5, 5, 2], -1, 1, 'float32', 1);
    const [got, want] = [model.scores(x, 'logit'), m.predict(x) as tf.Tensor];
    expect(relL2(got, want)).toBe(0);
    tf.dispose([got, want, x]);
    m.dispose();
    model.dispose();
  });

  test("under tf.profile and the batch probe's buffer count (memory measurements) the layers model runs: its peak counts every tensor", async () => {
    const net = mobileNetLike(true);
    seedWeights(net, 5);
    const file = await saved(net, 'plan-profile');
    net.dispose();
    const model = await loadModel(file);
    const x = tf.randomUniform([2, 17, 15, 3], -1, 1, 'float32', 4);
    const before = netStats.forward;
    const info = await tf.profile(() => Object.values(valueAndGradient({ model, target: 0, output: 'logit' }, x)));
    expect(netStats.forward).toBe(before);
    // the layers pass keeps activations: far more than input + gradient
    expect(info.peakBytes).toBeGreaterThan(4 * x.size * 8);
    tf.dispose(info.result as tf.Tensor[]);
    // the batch probe's own buffer count (it wraps the engine's trackTensor) likewise
    const measured = await peakBufferBytes(async () => Object.values(valueAndGradient({ model, target: 0, output: 'logit' }, x)));
    expect(netStats.forward).toBe(before);
    expect(measured.peakBytes).toBeGreaterThan(4 * x.size * 8);
    tf.dispose([...measured.result, x]);
    model.dispose();
  });

  test('a model with a layer the plan lacks runs through TF.js layers', async () => {
    const m = tfl.sequential({
      layers: [tfl.layers.maxPooling2d({ inputShape: [4, 4, 2], poolSize: 2 }), tfl.layers.flatten(), tfl.layers.dense({ units: 3 })],
    });
    const compiled = compileLayersPlan(m, [4, 4, 2]);
    expect('reason' in compiled ? compiled.reason : '').toMatch(/MaxPooling2D/);
    const file = await saved(m, 'plan-fallback');
    m.dispose();
    const model = await loadModel(file);
    const before = netStats.forward;
    tf.dispose(model.scores(tf.ones([1, 4, 4, 2]), 'logit'));
    expect(netStats.forward).toBe(before);
    model.dispose();
  });

  test('an internal-layer hook runs the layers model (the plan bypasses the hooked layer)', async () => {
    const net = mobileNetLike(true);
    seedWeights(net, 3);
    const file = await saved(net, 'plan-hook');
    net.dispose();
    const model = await loadModel(file);
    const x = tf.randomUniform([2, 17, 15, 3], -1, 1, 'float32', 9);
    const plain = model.scores(x, 'logit');
    const conv = model.internals!.list().find((l) => l.className === 'Conv2D')!;
    const before = netStats.forward;
    const hooked = model.internals!.through(
      conv.name,
      (h) => tf.zerosLike(h),
      () => model.scores(x, 'logit'),
    );
    expect(netStats.forward).toBe(before);
    expect(relL2(hooked, plain)).toBeGreaterThan(1e-3);
    tf.dispose([plain, hooked, x]);
    model.dispose();
  });

  test('sanity rebuilds fold the replaced weights; repeated evaluations free every buffer', async () => {
    const net = mobileNetLike(true);
    seedWeights(net, 4);
    const file = await saved(net, 'plan-sanity');
    net.dispose();
    const weights = readModelWeights(file);
    const layer = weights.layers.find((l) => l.className === 'Conv2D')!;
    const overrides = new Map(layer.weights.map((w) => [w.name, weights.tensors.get(w.name)!.data.map((v) => -2 * (v as number))]));
    const model = await buildModel(weights, overrides as Map<string, Float32Array>);
    const original = await loadModel(file);
    const x = tf.randomUniform([2, 17, 15, 3], -1, 1, 'float32', 2);
    comparePlan(model, x, 0, 2e-5);
    const [a, b] = [model.scores(x, 'logit'), original.scores(x, 'logit')];
    expect(relL2(a, b)).toBeGreaterThan(1e-3);
    tf.dispose([a, b]);
    const buffers = () => (tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds();
    const start = buffers();
    for (let i = 0; i < 3; i++) tf.dispose(Object.values(valueAndGradient({ model, target: 1, output: 'probability' }, x)));
    // A recorded forward whose gradient is never asked for is freed when the gradient computation ends.
    tf.dispose(tf.grads((y: tf.Tensor) => tf.add(tf.sum(model.scores(tf.mul(x, 1), 'logit')), tf.sum(y)))([x]));
    expect(buffers()).toBe(start);
    tf.dispose(x);
    model.dispose();
    original.dispose();
  });
});

describe('layers plan: non-finite values', () => {
  test('a non-finite input runs the layers model (NaN propagates there; the fused clamps would turn it into 0)', async () => {
    const net = mobileNetLike(true);
    seedWeights(net, 6);
    const file = await saved(net, 'plan-nan');
    net.dispose();
    const model = await loadModel(file);
    const values = tf.randomUniform([1, 17, 15, 3], -1, 1, 'float32', 8).dataSync() as Float32Array;
    values[40] = Infinity;
    const x = tf.tensor(values, [1, 17, 15, 3]);
    const before = netStats.forward;
    const out = model.scores(x, 'logit');
    expect(netStats.forward).toBe(before);
    setLayersPlanEnabled(false);
    const layers = model.scores(x, 'logit');
    setLayersPlanEnabled(true);
    expect(Array.from(out.dataSync())).toEqual(Array.from(layers.dataSync()));
    // and a finite input does run the plan
    tf.dispose(model.scores(tf.onesLike(x), 'logit'));
    expect(netStats.forward).toBe(before + 1);
    tf.dispose([x, out, layers]);
    model.dispose();
  });

  test('non-finite weights (a zero variance with zero epsilon) make no plan', async () => {
    const m = tfl.sequential({
      layers: [tfl.layers.conv2d({ inputShape: [2, 2, 1], filters: 1, kernelSize: 1 }), tfl.layers.batchNormalization({ epsilon: 0 })],
    });
    m.layers[1]!.setWeights([tf.ones([1]), tf.zeros([1]), tf.zeros([1]), tf.zeros([1])]);
    expect(compileLayersPlan(m, [2, 2, 1])).toEqual({ reason: expect.stringMatching(/non-finite weights/) });
    m.dispose();
  });
});
