/**
 * Shape arithmetic folded at load, on every backend PathLens runs: a ViT-style patch embedding whose
 * Reshape target is Concat(batch, hidden, (H / p)·(W / p)) built from Shape → Gather → Div → Cast →
 * Mul → Unsqueeze, then a class token joined by Expand / Concat. The full-size torchvision ViT once
 * failed on wasm here (the target read [1, 192, 7] instead of [1, 192, 49]): Gather's negative-index
 * wrap promoted the indices to float32 and the wasm Select kernel copied int32 bits as floats.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/engine/backend';
import { loadModel } from '../src/core/model/load';
import { encodeModel, floatTensor, int64Tensor, type ModelSpec } from './helpers/onnxBuilder';

const HIDDEN = 5;
const PATCH = 4;
const SIZE = 12;
const rand = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(seed * 31.7 + i * 7.31) * 0.4);
const W = rand(HIDDEN * 3 * PATCH * PATCH, 1);
const CLS = rand(HIDDEN, 2);

function dimOf(axis: number, index: string): ModelSpec['nodes'] {
  return [
    { op: 'Shape', inputs: ['x'], outputs: [`s${axis}`] },
    { op: 'Gather', inputs: [`s${axis}`, index], outputs: [`d${axis}`], attrs: { axis: 0 } },
  ];
}

/** Patch embedding as torch.onnx exports torchvision's VisionTransformer._process_input, plus the class token. */
function patchEmbedding(): ModelSpec {
  return {
    input: { name: 'x', dims: ['batch', 3, SIZE, SIZE] },
    output: { name: 'tokens' },
    initializers: [
      floatTensor('kernel', [HIDDEN, 3, PATCH, PATCH], W),
      floatTensor('cls', [1, 1, HIDDEN], CLS),
      int64Tensor('i0', [], [0]),
      int64Tensor('i2', [], [2]),
      int64Tensor('iLast', [], [-1]), // = 3: the negative form of the width's index
      int64Tensor('p', [], [PATCH]),
      int64Tensor('axes0', [1], [0]),
      int64Tensor('hidden', [1], [HIDDEN]),
      int64Tensor('minus1', [1], [-1]),
    ],
    nodes: [
      ...dimOf(0, 'i0'),
      ...dimOf(2, 'i2'),
      ...dimOf(3, 'iLast'),
      { op: 'Div', inputs: ['d2', 'p'], outputs: ['h'] },
      { op: 'Cast', inputs: ['h'], outputs: ['h64'], attrs: { to: 7 } },
      { op: 'Div', inputs: ['d3', 'p'], outputs: ['w'] },
      { op: 'Cast', inputs: ['w'], outputs: ['w64'], attrs: { to: 7 } },
      { op: 'Mul', inputs: ['h64', 'w64'], outputs: ['patches'] },
      { op: 'Conv', inputs: ['x', 'kernel'], outputs: ['c'], attrs: { kernel_shape: [PATCH, PATCH], strides: [PATCH, PATCH] } },
      { op: 'Unsqueeze', inputs: ['d0', 'axes0'], outputs: ['n1'] },
      { op: 'Unsqueeze', inputs: ['patches', 'axes0'], outputs: ['patches1'] },
      { op: 'Concat', inputs: ['n1', 'hidden', 'patches1'], outputs: ['target'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['c', 'target'], outputs: ['flat'], name: 'reshape' },
      { op: 'Transpose', inputs: ['flat'], outputs: ['seq'], attrs: { perm: [0, 2, 1] } },
      // class_token.expand(n, -1, -1): torch turns the -1s into 1s with ConstantOfShape / Equal / Where.
      { op: 'Concat', inputs: ['n1', 'minus1', 'minus1'], outputs: ['expandArgs'], attrs: { axis: 0 } },
      { op: 'Shape', inputs: ['expandArgs'], outputs: ['argsShape'] },
      { op: 'ConstantOfShape', inputs: ['argsShape'], outputs: ['ones'], attrs: { value: int64Tensor('one', [1], [1]) } },
      { op: 'Mul', inputs: ['ones', 'minus1'], outputs: ['minusOnes'] },
      { op: 'Equal', inputs: ['expandArgs', 'minusOnes'], outputs: ['isMinus1'] },
      { op: 'Where', inputs: ['isMinus1', 'ones', 'expandArgs'], outputs: ['clsShape'] },
      { op: 'Expand', inputs: ['cls', 'clsShape'], outputs: ['clsBatch'] },
      { op: 'Concat', inputs: ['clsBatch', 'seq'], outputs: ['tokens'], attrs: { axis: 1 } },
    ],
  };
}

/** The same computation written directly in TF.js. */
function reference(x: tf.Tensor4D): tf.Tensor {
  const filter = tf.transpose(tf.tensor4d(W, [HIDDEN, 3, PATCH, PATCH]), [2, 3, 1, 0]) as tf.Tensor4D;
  const conv = tf.conv2d(tf.transpose(x, [0, 2, 3, 1]), filter, PATCH, 'valid');
  const seq = tf.reshape(conv, [x.shape[0], -1, HIDDEN]);
  return tf.concat([tf.tile(tf.tensor3d(CLS, [1, 1, HIDDEN]), [x.shape[0], 1, 1]), seq], 1);
}

let file: string;
beforeAll(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-onnx-fold-'));
  file = path.join(dir, 'patches.onnx');
  fs.writeFileSync(file, encodeModel(patchEmbedding()));
});

describe.each(['cpu', 'wasm'] as const)('ViT patch-count folding on %s', (backend) => {
  beforeAll(async () => {
    expect(await initBackend(backend)).toBe(backend);
  });

  it('folds the Reshape target to (H/p)·(W/p) patches and runs only the differentiable ops', async () => {
    const model = await loadModel(file);
    const nodes = new Map(model.onnx!.details.nodes.map((n) => [n.outputs[0], n]));
    const patches = (SIZE / PATCH) ** 2;
    expect(nodes.get('target')).toMatchObject({ folded: true, outputShapes: [[3]] });
    expect(nodes.get('flat')!.outputShapes).toEqual([[1, HIDDEN, patches]]);
    expect(nodes.get('tokens')!.outputShapes).toEqual([[1, patches + 1, HIDDEN]]);
    const running = model.onnx!.details.nodes.filter((n) => !n.folded).map((n) => n.opType);
    expect(running).toEqual(['Conv', 'Reshape', 'Transpose', 'Concat']); // the class token's Expand folds too
    model.dispose();
  });

  it('matches the direct computation for a batch of two', async () => {
    const model = await loadModel(file);
    const x = tf.randomNormal([2, 3, SIZE, SIZE], 0, 1, 'float32', 5) as tf.Tensor4D;
    const got = model.predict(x).dataSync();
    const want = reference(x).dataSync();
    expect(got.length).toBe(want.length);
    want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
    model.dispose();
  });
});
