/**
 * Loading ONNX files end to end (models written with the same protobuf schema): the LoadedModel
 * interface, shape-arithmetic folding, BatchNorm folding, gradients, external data and bad input.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/engine/backend';
import { PathLensError } from '../src/core/errors';
import { loadModel } from '../src/core/model/load';
import { buildOnnxModel, readOnnx } from '../src/core/model/onnx/load';
import { encodeModel, floatTensor, int64Tensor, rawFloatTensor, type ModelSpec } from './helpers/onnxBuilder';

const rand = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(seed * 97.13 + i * 12.9898) * 0.5);

const W = rand(4 * 3 * 9, 1);
const FC = rand(3 * 4, 2);

/** Conv → BN → Relu → MaxPool → GAP → Shape/Gather/Unsqueeze/Concat → Reshape → Gemm → Softmax. */
function tinyCnn(overrides: Partial<ModelSpec> = {}, convWeight = floatTensor('w', [4, 3, 3, 3], W)): ModelSpec {
  return {
    input: { name: 'x', dims: ['batch', 3, 8, 8] },
    output: { name: 'prob' },
    initializers: [
      convWeight,
      floatTensor('b', [4], [0.1, -0.2, 0.3, 0]),
      floatTensor('gamma', [4], [1.5, 0.5, 1, 2]),
      floatTensor('beta', [4], [0.1, 0.2, -0.1, 0]),
      floatTensor('mean', [4], [0.05, -0.1, 0.2, 0.3]),
      floatTensor('var', [4], [0.5, 1.5, 1, 2]),
      int64Tensor('zero', [], [0]),
      int64Tensor('minus1', [1], [-1]),
      floatTensor('fc', [3, 4], FC),
      floatTensor('fcb', [3], [0.01, 0.02, -0.03]),
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, name: 'conv1' },
      { op: 'BatchNormalization', inputs: ['c', 'gamma', 'beta', 'mean', 'var'], outputs: ['bn'], attrs: { epsilon: 1e-5 }, name: 'bn1' },
      { op: 'Relu', inputs: ['bn'], outputs: ['r'] },
      { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'GlobalAveragePool', inputs: ['p'], outputs: ['g'] },
      { op: 'Shape', inputs: ['g'], outputs: ['s'] },
      { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
      { op: 'Unsqueeze', inputs: ['n', 'zero'], outputs: ['n1'] },
      { op: 'Concat', inputs: ['n1', 'minus1'], outputs: ['shape'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['g', 'shape'], outputs: ['flat'] },
      { op: 'Gemm', inputs: ['flat', 'fc', 'fcb'], outputs: ['logits'], attrs: { transB: 1 }, name: 'fc' },
      { op: 'Softmax', inputs: ['logits'], outputs: ['prob'], attrs: { axis: 1 } },
    ],
    ...overrides,
  };
}

/** The same network written directly in TF.js (NHWC), as the independent reference. */
function reference(x: tf.Tensor4D): tf.Tensor2D {
  const w = tf.transpose(tf.tensor4d(W, [4, 3, 3, 3]), [2, 3, 1, 0]) as tf.Tensor4D;
  let y = tf.add(tf.conv2d(tf.transpose(x, [0, 2, 3, 1]), w, 1, 'same'), tf.tensor1d([0.1, -0.2, 0.3, 0]));
  const s = tf.div(tf.tensor1d([1.5, 0.5, 1, 2]), tf.sqrt(tf.add(tf.tensor1d([0.5, 1.5, 1, 2]), 1e-5)));
  y = tf.add(tf.mul(tf.sub(y, tf.tensor1d([0.05, -0.1, 0.2, 0.3])), s), tf.tensor1d([0.1, 0.2, -0.1, 0]));
  const pooled = tf.mean(tf.maxPool(tf.relu(y) as tf.Tensor4D, 2, 2, 'valid'), [1, 2]);
  return tf.add(tf.matMul(pooled, tf.tensor2d(FC, [3, 4]), false, true), tf.tensor1d([0.01, 0.02, -0.03]));
}

let dir: string;
function write(name: string, spec: ModelSpec | Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, spec instanceof Uint8Array ? spec : encodeModel(spec));
  return file;
}

beforeAll(async () => {
  await initBackend('cpu');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-onnx-'));
});

describe('ONNX models as LoadedModel', () => {
  it('predicts, explains the pre-softmax logit and matches an independent TF.js network', async () => {
    const model = await loadModel(write('cnn.onnx', tinyCnn()));
    expect(model.inputShape).toEqual([3, 8, 8]);
    expect(model.numClasses).toBe(3);
    expect(model.summary.format).toBe('onnx');
    expect(model.summary.finalActivation).toBe('softmax');
    expect(model.outputNotes.logit).toBe('pre-softmax logit');
    const x = tf.randomNormal([2, 3, 8, 8], 0, 1, 'float32', 7) as tf.Tensor4D;
    const want = reference(x).arraySync();
    const logits = model.scores(x, 'logit').arraySync();
    logits.forEach((row, b) => row.forEach((v, k) => expect(v).toBeCloseTo(want[b]![k]!, 4)));
    const probs = model.predict(x).arraySync();
    probs.forEach((row) => expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5));
    expect(model.scores(x, 'probability').arraySync()).toEqual(probs);
    model.dispose();
  });

  it('folds the shape arithmetic and the BatchNorm at load, exposing the node list', async () => {
    const model = await loadModel(write('cnn.onnx', tinyCnn()));
    const d = model.onnx!.details;
    expect(d.foldedBatchNorms).toBe(1);
    expect(d.opsets['ai.onnx']).toBe(13);
    expect(d.input).toMatchObject({ name: 'x', layout: 'NCHW', declaredDims: ['batch', 3, 8, 8], shape: [3, 8, 8] });
    const byName = new Map(d.nodes.map((n) => [n.name, n]));
    expect(byName.has('bn1')).toBe(false);
    expect(byName.get('conv1')).toMatchObject({ foldedBatchNorm: 'bn1', initializers: ['w', 'b'], outputShapes: [[1, 4, 8, 8]] });
    expect(d.nodes.filter((n) => n.folded).map((n) => n.opType)).toEqual(['Shape', 'Gather', 'Unsqueeze', 'Concat']);
    expect(byName.get('fc')!.initializers).toEqual(['fc', 'fcb']);
    model.dispose();
  });

  it('gives the same scores with and without BatchNorm folding, and replaced initializers take effect', () => {
    const source = readOnnx(write('cnn.onnx', tinyCnn()), 1 << 30);
    const folded = buildOnnxModel(source, { budget: 1 << 30 });
    const plain = buildOnnxModel(source, { budget: 1 << 30, foldBatchNorm: false });
    const x = tf.randomNormal([3, 3, 8, 8], 0, 1, 'float32', 3);
    const a = folded.scores(x, 'logit').dataSync();
    const b = plain.scores(x, 'logit').dataSync();
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 5));
    const zeroed = folded.onnx.withInitializers(new Map([['fc', new Float32Array(12)]]));
    expect(Array.from(zeroed.scores(x, 'logit').dataSync().slice(0, 3))).toEqual([0.01, 0.02, -0.03].map(Math.fround));
    [folded, plain, zeroed].forEach((m) => m.dispose());
  });

  it('input gradients agree with the independent network', async () => {
    const model = await loadModel(write('cnn.onnx', tinyCnn()));
    const x = tf.randomNormal([1, 3, 8, 8], 0, 1, 'float32', 11) as tf.Tensor4D;
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.slice(model.scores(v, 'logit'), [0, 1], [1, 1])))(x);
    const r = tf.grad((v: tf.Tensor) => tf.sum(tf.slice(reference(v as tf.Tensor4D), [0, 1], [1, 1])))(x);
    const diff = tf.max(tf.abs(tf.sub(g, r))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-5);
    expect(tf.max(tf.abs(r)).dataSync()[0]).toBeGreaterThan(1e-3);
    model.dispose();
  });
});

describe('ONNX storage forms', () => {
  it('reads raw_data, fp16 (raw and int32_data) and external data beside the model', async () => {
    const raw = await loadModel(write('raw.onnx', tinyCnn({}, rawFloatTensor('w', [4, 3, 3, 3], W))));
    const halves = new Uint16Array(Float32Array.from(W).map(() => 0));
    const fp16 = (v: number) => {
      // round-to-nearest binary16 for |v| < 1 (normal range), enough for these weights
      const sign = v < 0 ? 0x8000 : 0;
      const a = Math.abs(v);
      if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
      const e = Math.floor(Math.log2(a));
      return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
    };
    W.forEach((v, i) => (halves[i] = fp16(v)));
    const half = await loadModel(
      write('half.onnx', tinyCnn({}, { name: 'w', dims: [4, 3, 3, 3], dataType: 10, int32Data: Array.from(halves) })),
    );
    const halfRaw = await loadModel(
      write('halfraw.onnx', tinyCnn({}, { name: 'w', dims: [4, 3, 3, 3], dataType: 10, rawData: new Uint8Array(halves.buffer) })),
    );
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat([Buffer.alloc(16), Buffer.from(Float32Array.from(W).buffer)]));
    const external = {
      name: 'w',
      dims: [4, 3, 3, 3],
      dataType: 1,
      dataLocation: 1,
      externalData: [
        { key: 'location', value: 'weights.bin' },
        { key: 'offset', value: '16' },
        { key: 'length', value: String(W.length * 4) },
      ],
    };
    const ext = await loadModel(write('ext.onnx', tinyCnn({}, external)));
    const x = tf.randomNormal([1, 3, 8, 8], 0, 1, 'float32', 5) as tf.Tensor4D;
    const want = reference(x).dataSync();
    for (const [m, digits] of [
      [raw, 5],
      [ext, 5],
      [half, 2],
      [halfRaw, 2],
    ] as const) {
      const got = m.scores(x, 'logit').dataSync();
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, digits));
      m.dispose();
    }
  });
});

function externalWeight(location: string, offset = 0) {
  return {
    name: 'w',
    dims: [4, 3, 3, 3],
    dataType: 1,
    dataLocation: 1,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
    ],
  };
}

async function loadError(file: string): Promise<PathLensError> {
  const err = await loadModel(file).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PathLensError);
  expect((err as Error).message).not.toContain('\n');
  return err as PathLensError;
}

describe('ONNX bad input', () => {
  it('lists every unsupported op type once, with a node name and the opset, before computing', async () => {
    const spec = tinyCnn({ opset: 17 });
    spec.nodes.splice(
      2,
      1,
      { op: 'FancyAct', inputs: ['bn'], outputs: ['r0'], name: 'act1' },
      { op: 'FancyAct', inputs: ['r0'], outputs: ['r1'], name: 'act2' },
      { op: 'Gizmo', domain: 'com.example', inputs: ['r1'], outputs: ['r'], name: 'gizmo' },
    );
    const err = await loadError(write('unsupported.onnx', spec));
    expect(err.code).toBe('model-unsupported');
    expect(err.message).toContain('opset 17');
    expect(err.message).toContain("FancyAct (node 'act1')");
    expect(err.message).not.toContain('act2');
    expect(err.message).toContain("com.example.Gizmo (node 'gizmo')");
  });

  it('refuses truncated and corrupt files with one line', async () => {
    const bytes = encodeModel(tinyCnn());
    expect((await loadError(write('trunc.onnx', bytes.slice(0, bytes.length - 40)))).code).toBe('model-load');
    const junk = write('junk.onnx', new Uint8Array(Buffer.from('not a protobuf at all, just text')));
    expect((await loadError(junk)).code).toBe('model-load');
  });

  it('refuses initializers whose size does not match their shape', async () => {
    const err = await loadError(write('short.onnx', tinyCnn({}, floatTensor('w', [4, 3, 3, 3], W.slice(0, 100)))));
    expect(err.message).toContain("initializer 'w' declares shape [4,3,3,3] (108 values) but stores 100 values");
  });

  it('confines external data to the model folder and checks its size', async () => {
    fs.writeFileSync(path.join(os.tmpdir(), 'pathlens-outside.bin'), Buffer.alloc(432));
    expect((await loadError(write('escape.onnx', tinyCnn({}, externalWeight('../pathlens-outside.bin'))))).code).toBe('unsafe-path');
    expect((await loadError(write('abs.onnx', tinyCnn({}, externalWeight('/etc/passwd'))))).code).toBe('unsafe-path');
    fs.symlinkSync(path.join(os.tmpdir(), 'pathlens-outside.bin'), path.join(dir, 'link.bin'));
    expect((await loadError(write('link.onnx', tinyCnn({}, externalWeight('link.bin'))))).code).toBe('unsafe-path');
    const missing = await loadError(write('missing.onnx', tinyCnn({}, externalWeight('nothere.bin'))));
    expect(missing.message).toContain('nothere.bin');
    fs.writeFileSync(path.join(dir, 'small.bin'), Buffer.alloc(100));
    expect((await loadError(write('small.onnx', tinyCnn({}, externalWeight('small.bin'))))).message).toContain('short by');
  });
});
