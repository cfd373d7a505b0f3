/**
 * Gradients of the mapped ONNX ops against central finite differences: one single-node graph per case
 * with a seeded input x (constants for the rest); the directional derivative of Σ w·y from tf.grad vs
 * (f(x + h·e) − f(x − h·e)) / 2h along three seeded directions e. TF.js has no float64, so the step is
 * sized for float32 and the tolerance is 2 % (inputs stay 0.1 away from kinks).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/engine/backend';
import { createRng } from '../src/core/random';
import { buildNodes, ExecutionPlan } from '../src/core/model/onnx/graph';
import { decodeModel } from '../src/core/model/onnx/proto';
import { readTensor } from '../src/core/model/onnx/tensor';
import { encodeModel, floatTensor, int64Tensor, type NodeSpec } from './helpers/onnxBuilder';
import type { onnx } from 'onnx-proto';

interface GradCase {
  name: string;
  x: number[];
  node: Omit<NodeSpec, 'inputs' | 'outputs'> & { inputs?: string[] };
  consts?: onnx.ITensorProto[];
  opset?: number;
  /** Inputs drawn in (0.1, 1] (Sqrt, Div by x). */
  positive?: boolean;
  /** Finite-difference step (default 1e-2); smaller for max pooling, whose near-ties would switch. */
  step?: number;
}

/** Seeded values in ±scale, kept at least 0.1·scale from zero so finite differences never cross a kink. */
const r = (n: number, seed: number, scale = 1) => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const u = rng.range(-1, 1);
    return Math.sign(u || 1) * (0.1 + 0.9 * Math.abs(u)) * scale;
  });
};
const n = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

const CASES: GradCase[] = [
  {
    name: 'Conv pads strides',
    x: [1, 3, 7, 7],
    node: { op: 'Conv', inputs: ['x', 'w', 'b'], attrs: { pads: [1, 0, 2, 1], strides: [2, 2] } },
    consts: [floatTensor('w', [4, 3, 3, 3], r(108, 1)), floatTensor('b', [4], r(4, 2))],
  },
  {
    name: 'Conv grouped',
    x: [1, 4, 6, 6],
    node: { op: 'Conv', inputs: ['x', 'w'], attrs: { group: 2, pads: [1, 1, 1, 1] } },
    consts: [floatTensor('w', [6, 2, 3, 3], r(108, 3))],
  },
  {
    name: 'Conv depthwise 7x7',
    x: [1, 3, 9, 9],
    node: { op: 'Conv', inputs: ['x', 'w'], attrs: { group: 3, pads: [3, 3, 3, 3] } },
    consts: [floatTensor('w', [3, 1, 7, 7], r(147, 4, 0.3))],
  },
  {
    name: 'Conv dilated SAME_UPPER',
    x: [1, 2, 8, 8],
    node: { op: 'Conv', inputs: ['x', 'w'], attrs: { dilations: [2, 2], auto_pad: 'SAME_UPPER' } },
    consts: [floatTensor('w', [3, 2, 3, 3], r(54, 5))],
  },
  {
    name: 'MaxPool ceil pads',
    x: [1, 2, 7, 7],
    step: 1e-3,
    node: { op: 'MaxPool', attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 } },
  },
  { name: 'AveragePool exclude pad', x: [1, 2, 6, 6], node: { op: 'AveragePool', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } } },
  {
    name: 'AveragePool include pad',
    x: [1, 2, 6, 6],
    node: { op: 'AveragePool', attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 } },
  },
  { name: 'GlobalAveragePool', x: [2, 3, 4, 4], node: { op: 'GlobalAveragePool' } },
  {
    name: 'Conv 3-D pads strides (video stem)',
    x: [1, 2, 4, 5, 5],
    node: { op: 'Conv', inputs: ['x', 'w', 'b'], attrs: { pads: [1, 1, 1, 1, 1, 1], strides: [1, 2, 2] } },
    consts: [floatTensor('w', [3, 2, 3, 3, 3], r(162, 11, 0.5)), floatTensor('b', [3], r(3, 12))],
  },
  {
    name: 'Conv 3-D grouped (1, 3, 3) kernel',
    x: [1, 4, 3, 4, 4],
    node: { op: 'Conv', inputs: ['x', 'w'], attrs: { group: 2, pads: [0, 1, 1, 0, 1, 1] } },
    consts: [floatTensor('w', [4, 2, 1, 3, 3], r(72, 13))],
  },
  {
    name: 'MaxPool 3-D pads ceil_mode',
    x: [1, 1, 5, 5, 4],
    step: 1e-3,
    node: { op: 'MaxPool', attrs: { kernel_shape: [2, 2, 2], strides: [2, 2, 2], pads: [1, 1, 0, 0, 0, 0], ceil_mode: 1 } },
  },
  {
    name: 'AveragePool 3-D count_include_pad',
    x: [1, 2, 4, 4, 4],
    node: { op: 'AveragePool', attrs: { kernel_shape: [2, 3, 3], strides: [2, 1, 2], pads: [0, 1, 1, 1, 1, 1], count_include_pad: 1 } },
  },
  {
    name: 'Gemm transA alpha beta',
    x: [4, 2],
    node: { op: 'Gemm', inputs: ['x', 'w', 'c'], attrs: { transA: 1, transB: 1, alpha: 0.5, beta: 2.0 } },
    consts: [floatTensor('w', [3, 4], r(12, 6)), floatTensor('c', [3], r(3, 7))],
  },
  { name: 'MatMul batched', x: [2, 3, 4, 5], node: { op: 'MatMul', inputs: ['x', 'w'] }, consts: [floatTensor('w', [5, 2], r(10, 8))] },
  {
    name: 'MatMul weight with unit batch dims',
    x: [3, 4, 5],
    node: { op: 'MatMul', inputs: ['x', 'w'] },
    consts: [floatTensor('w', [1, 1, 5, 2], r(10, 9))],
  },
  {
    name: 'MatMul per-batch operand (broadcast)',
    x: [1, 4, 5],
    node: { op: 'MatMul', inputs: ['x', 'w'] },
    consts: [floatTensor('w', [3, 5, 2], r(30, 10))],
  },
  {
    name: 'Resize nearest upsample (opset 13 scales)',
    x: [1, 2, 3, 3],
    node: { op: 'Resize', inputs: ['x', '', 's'], attrs: { mode: 'nearest' } },
    consts: [floatTensor('s', [4], [1, 1, 2, 1.5])],
  },
  {
    name: 'Resize linear half_pixel to sizes (down and up)',
    x: [1, 2, 5, 3],
    node: { op: 'Resize', inputs: ['x', '', '', 'z'], attrs: { mode: 'linear' } },
    consts: [int64Tensor('z', [4], [1, 2, 3, 7])],
  },
  {
    name: 'Resize linear align_corners (opset 11 roi, scales)',
    x: [1, 1, 4, 4],
    opset: 11,
    node: { op: 'Resize', inputs: ['x', 'roi', 's'], attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' } },
    consts: [floatTensor('roi', [0], []), floatTensor('s', [4], [1, 1, 2, 2])],
  },
  {
    name: 'Resize cubic exclude_outside',
    x: [1, 1, 4, 5],
    node: { op: 'Resize', inputs: ['x', '', 's'], attrs: { mode: 'cubic', exclude_outside: 1, cubic_coeff_a: -0.5 } },
    consts: [floatTensor('s', [4], [1, 1, 1.5, 0.8])],
  },
  {
    name: 'Resize opset 18 axes, pytorch_half_pixel',
    x: [1, 2, 4, 4],
    opset: 18,
    node: {
      op: 'Resize',
      inputs: ['x', '', '', 'z'],
      attrs: { mode: 'linear', axes: [2, 3], coordinate_transformation_mode: 'pytorch_half_pixel' },
    },
    consts: [int64Tensor('z', [2], [6, 3])],
  },
  {
    name: 'Resize opset 10 / Upsample opset 9 (nearest)',
    x: [1, 2, 3, 2],
    opset: 10,
    node: { op: 'Resize', inputs: ['x', 's'], attrs: { mode: 'nearest' } },
    consts: [floatTensor('s', [4], [1, 1, 2, 3])],
  },
  {
    name: 'Upsample linear (opset 9)',
    x: [1, 1, 3, 3],
    opset: 9,
    node: { op: 'Upsample', inputs: ['x', 's'], attrs: { mode: 'linear' } },
    consts: [floatTensor('s', [4], [1, 1, 2, 2])],
  },
  { name: 'Relu', x: [2, 5], node: { op: 'Relu' } },
  { name: 'Sigmoid', x: [2, 5], node: { op: 'Sigmoid' } },
  { name: 'Tanh', x: [2, 5], node: { op: 'Tanh' } },
  { name: 'Erf', x: [2, 5], node: { op: 'Erf' } },
  { name: 'HardSigmoid', x: [2, 5], node: { op: 'HardSigmoid', attrs: { alpha: 0.3, beta: 0.4 } } },
  { name: 'HardSwish', x: [2, 5], node: { op: 'HardSwish' } },
  { name: 'LeakyRelu', x: [2, 5], node: { op: 'LeakyRelu', attrs: { alpha: 0.1 } } },
  { name: 'Elu', x: [2, 5], node: { op: 'Elu' } },
  {
    name: 'Clip (opset 13 inputs)',
    x: [2, 5],
    node: { op: 'Clip', inputs: ['x', 'lo', 'hi'] },
    consts: [floatTensor('lo', [], [-0.5]), floatTensor('hi', [], [0.6])],
  },
  { name: 'Softmax axis 1', x: [2, 3, 4], node: { op: 'Softmax', attrs: { axis: 1 } } },
  { name: 'LogSoftmax', x: [2, 5], node: { op: 'LogSoftmax' } },
  {
    name: 'LayerNormalization',
    x: [2, 3, 6],
    opset: 17,
    node: { op: 'LayerNormalization', inputs: ['x', 's', 'b'], attrs: { axis: -1 } },
    consts: [floatTensor('s', [6], r(6, 9)), floatTensor('b', [6], r(6, 10))],
  },
  {
    name: 'BatchNormalization',
    x: [2, 3, 4, 4],
    node: { op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'] },
    consts: [
      floatTensor('s', [3], r(3, 11)),
      floatTensor('b', [3], r(3, 12)),
      floatTensor('m', [3], r(3, 13)),
      floatTensor('v', [3], [0.5, 1, 2]),
    ],
  },
  {
    name: 'InstanceNormalization',
    x: [2, 3, 4, 4],
    node: { op: 'InstanceNormalization', inputs: ['x', 's', 'b'] },
    consts: [floatTensor('s', [3], r(3, 14)), floatTensor('b', [3], r(3, 15))],
  },
  { name: 'ReduceMean axes attribute (opset 13)', x: [2, 3, 4], node: { op: 'ReduceMean', attrs: { axes: [-1] } } },
  {
    name: 'ReduceSum axes input',
    x: [2, 3, 4],
    node: { op: 'ReduceSum', inputs: ['x', 'axes'], attrs: { keepdims: 0 } },
    consts: [int64Tensor('axes', [1], [1])],
  },
  {
    name: 'ReduceMean axes input (opset 18)',
    x: [2, 3, 4],
    opset: 18,
    node: { op: 'ReduceMean', inputs: ['x', 'axes'] },
    consts: [int64Tensor('axes', [2], [1, 2])],
  },
  { name: 'Pow', x: [2, 5], node: { op: 'Pow', inputs: ['x', 'p'] }, consts: [floatTensor('p', [], [2])] },
  { name: 'Sqrt (positive input)', x: [2, 5], positive: true, node: { op: 'Sqrt' } },
  { name: 'Div', x: [2, 5], positive: true, node: { op: 'Div', inputs: ['c', 'x'] }, consts: [floatTensor('c', [5], r(5, 16))] },
  { name: 'Mul Add Sub', x: [2, 5], node: { op: 'Sub', inputs: ['x', 'c'] }, consts: [floatTensor('c', [1, 5], r(5, 17))] },
  { name: 'Transpose', x: [2, 3, 4], node: { op: 'Transpose', attrs: { perm: [2, 0, 1] } } },
  { name: 'Reshape', x: [2, 3, 4], node: { op: 'Reshape', inputs: ['x', 's'] }, consts: [int64Tensor('s', [3], [0, -1, 2])] },
  { name: 'Flatten', x: [2, 3, 4], node: { op: 'Flatten', attrs: { axis: 2 } } },
  {
    name: 'Concat with a constant',
    x: [2, 3],
    node: { op: 'Concat', inputs: ['c', 'x'], attrs: { axis: 1 } },
    consts: [floatTensor('c', [2, 1], [1, 2])],
  },
  {
    name: 'Split (input sizes)',
    x: [2, 6],
    node: { op: 'Split', inputs: ['x', 's'], attrs: { axis: 1 } },
    consts: [int64Tensor('s', [2], [2, 4])],
  },
  {
    name: 'Slice with steps',
    x: [4, 6],
    node: { op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'] },
    consts: [
      int64Tensor('st', [2], [1, 5]),
      int64Tensor('en', [2], [4, 0]),
      int64Tensor('ax', [2], [0, 1]),
      int64Tensor('sp', [2], [2, -2]),
    ],
  },
  {
    name: 'Pad reflect',
    x: [1, 2, 4, 4],
    node: { op: 'Pad', inputs: ['x', 'p'], attrs: { mode: 'reflect' } },
    consts: [int64Tensor('p', [8], [0, 0, 1, 2, 0, 0, 2, 1])],
  },
  {
    name: 'Pad edge',
    x: [1, 2, 4],
    node: { op: 'Pad', inputs: ['x', 'p'], attrs: { mode: 'edge' } },
    consts: [int64Tensor('p', [6], [0, 0, 1, 0, 0, 2])],
  },
  {
    name: 'Gather class token',
    x: [2, 5, 3],
    node: { op: 'Gather', inputs: ['x', 'i'], attrs: { axis: 1 } },
    consts: [int64Tensor('i', [], [0])],
  },
  { name: 'Expand', x: [1, 1, 3], node: { op: 'Expand', inputs: ['x', 's'] }, consts: [int64Tensor('s', [3], [2, 4, 1])] },
  {
    name: 'Squeeze/Unsqueeze (opset 13 inputs)',
    x: [2, 1, 3],
    node: { op: 'Squeeze', inputs: ['x', 'a'] },
    consts: [int64Tensor('a', [1], [1])],
  },
];

/** f(x) = Σ r·y (for several outputs, each output gets its own weights), as a plan on input x. */
function objective(c: GradCase): { f: (x: tf.Tensor) => tf.Scalar; dispose: () => void } {
  const inputs = c.node.inputs ?? ['x'];
  const bytes = encodeModel({
    input: { name: 'x', dims: c.x },
    output: { name: 'y0' },
    initializers: c.consts ?? [],
    opset: c.opset ?? 13,
    nodes: [{ ...c.node, inputs, outputs: c.node.op === 'Split' ? ['y0', 'y1'] : ['y0'] }],
  });
  const model = decodeModel(bytes, c.name);
  const readContext = { folder: '/', file: c.name, budget: 1 << 30 };
  const weights = new Map(
    (model.graph!.initializer ?? []).map((t) => {
      const h = readTensor(t, t.name ?? '', readContext);
      return [t.name ?? '', tf.tensor(h.data, h.dims, h.dtype)] as const;
    }),
  );
  const nodes = buildNodes(model.graph!.node ?? [], { 'ai.onnx': c.opset ?? 13 }, c.name);
  const plan = new ExecutionPlan({ nodes, inputName: 'x', outputName: 'y0', readContext }, weights, c.x);
  const outputs = c.node.op === 'Split' ? ['y0', 'y1'] : ['y0'];
  const f = (x: tf.Tensor) =>
    outputs
      .map((o, k) => {
        const y = plan.run(x, o);
        return tf.sum(tf.mul(y, tf.tensor(r(y.size, 100 + k), y.shape)));
      })
      .reduce((a, b) => tf.add(a, b)) as tf.Scalar;
  return { f, dispose: () => plan.dispose() };
}

// Both backends: PathLens replaces several wasm gradient kernels (src/core/engine/wasmKernels.ts).
describe.each(['cpu', 'wasm'] as const)('ONNX op gradients vs central differences (%s)', (backend) => {
  beforeAll(async () => {
    expect(await initBackend(backend)).toBe(backend);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { f, dispose } = objective(c);
    tf.tidy(() => {
      const x = tf.tensor(
        r(n(c.x), 42).map((v) => (c.positive ? Math.abs(v) : v)),
        c.x,
      );
      const g = tf.grad(f)(x);
      for (let k = 0; k < 3; k++) {
        const e = tf.tensor(r(n(c.x), 7 + k), c.x);
        const h = c.step ?? 1e-2;
        const fd = (f(tf.add(x, tf.mul(e, h))).dataSync()[0]! - f(tf.sub(x, tf.mul(e, h))).dataSync()[0]!) / (2 * h);
        const analytic = tf.sum(tf.mul(g, e)).dataSync()[0]!;
        expect(Math.abs(analytic - fd), `${c.name}: ${analytic} vs ${fd}`).toBeLessThanOrEqual(2e-2 * Math.max(1, Math.abs(fd)));
      }
      expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    });
    dispose();
  });
});
