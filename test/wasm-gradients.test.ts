/**
 * Input gradients on the wasm backend (with PathLens's extra kernels) must match the cpu backend:
 * per layer type, per added kernel (direct), and on the real MobileNet models of the zoo.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfc from '@tensorflow/tfjs-converter';
import { initBackend } from '../src/core/engine/backend';
import { WASM_EXTRA_KERNELS } from '../src/core/engine/wasmKernels';
import { skipStats, withInputGradientsOnly } from '../src/core/engine/inputGradients';

const ZOO = '/work/shared/zoo';

// ---------------------------------------------------------------------------------------------
// helpers

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

/** Replace every weight by seeded random values (positive for BatchNorm variances). */
function seedWeights(model: tfl.LayersModel, seed: number): void {
  const ws = model.weights;
  const values = ws.map((w, i) => {
    const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
    const positive = /variance/.test(w.name);
    return tf.tensor(randArray(n, seed * 1000 + i, positive ? 0.5 : -0.6, positive ? 1.5 : 0.6), w.shape as number[]);
  });
  model.setWeights(values);
  tf.dispose(values);
}

function maxAbs(a: Float32Array | Int32Array | Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function expectClose(got: ArrayLike<number>, want: Float32Array | Int32Array, rel = 1e-4): void {
  const tol = rel * Math.max(1, maxAbs(want));
  const diff = maxAbsDiff(got, want);
  expect(diff, `max|diff| ${diff} > tol ${tol}`).toBeLessThanOrEqual(tol);
}

/**
 * Input gradient of sum(f(x) * mask) on `backend`, returned as plain data. Also checks on that
 * backend that no tensor is leaked by the gradient computation.
 */
async function inputGradient(
  backend: 'cpu' | 'wasm',
  f: (x: tf.Tensor) => tf.Tensor,
  x: Float32Array,
  xShape: number[],
  maskSeed: number,
  inputOnly = false,
): Promise<Float32Array> {
  await initBackend(backend);
  const xt = tf.tensor(x, xShape);
  const before = tf.memory().numTensors;
  let mask: tf.Tensor | null = null;
  const grad = () =>
    tf.grad((inp: tf.Tensor) => {
      const y = f(inp);
      if (mask == null) mask = tf.keep(tf.tensor(randArray(y.size, maskSeed), y.shape));
      return tf.sum(tf.mul(y, mask));
    })(xt);
  const g = inputOnly ? withInputGradientsOnly(grad) : grad();
  const out = (await g.data()) as Float32Array;
  g.dispose();
  if (mask) (mask as tf.Tensor).dispose();
  expect(tf.memory().numTensors).toBe(before);
  xt.dispose();
  return out;
}

async function compareModel(model: tfl.LayersModel, seed: number): Promise<void> {
  const shape = [2, ...(model.inputs[0].shape.slice(1) as number[])];
  const n = shape.reduce((a, b) => a * b, 1);
  const x = randArray(n, seed + 7);
  const f = (inp: tf.Tensor) => model.apply(inp, { training: false }) as tf.Tensor;
  const gCpu = await inputGradient('cpu', f, x, shape, seed + 11);
  const gWasm = await inputGradient('wasm', f, x, shape, seed + 11);
  expect(maxAbs(gCpu)).toBeGreaterThan(0);
  expectClose(gWasm, gCpu);
  // Skipping the weight gradients of fused convolutions changes nothing, on either backend.
  expectIdentical(await inputGradient('wasm', f, x, shape, seed + 11, true), gWasm);
  expectIdentical(await inputGradient('cpu', f, x, shape, seed + 11, true), gCpu);
}

function expectIdentical(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  let bad = -1;
  for (let i = 0; i < got.length && bad < 0; i++) if (!Object.is(got[i], want[i]) && !(got[i] === 0 && want[i] === 0)) bad = i;
  expect(bad, bad >= 0 ? `differs at ${bad}: ${got[bad]} vs ${want[bad]}` : '').toBe(-1);
}

// ---------------------------------------------------------------------------------------------
// layer models

type Builder = () => tfl.LayersModel;

function seqIn(input: number[], layers: tfl.layers.Layer[]): tfl.LayersModel {
  const inp = tfl.input({ shape: input });
  let y = inp as tfl.SymbolicTensor;
  for (const l of layers) y = l.apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: y });
}

const IN = [9, 9, 3];

const layerCases: [string, Builder][] = [
  ['Dense', () => seqIn([7], [tfl.layers.dense({ units: 5, activation: 'relu' }), tfl.layers.dense({ units: 3 })])],
  ['Flatten+Dense', () => seqIn(IN, [tfl.layers.flatten(), tfl.layers.dense({ units: 4 })])],
];

for (const activation of ['linear', 'relu'] as const) {
  for (const useBias of [true, false]) {
    for (const strides of [1, 2]) {
      for (const padding of ['same', 'valid'] as const) {
        layerCases.push([
          `Conv2D ${activation} bias=${useBias} s${strides} ${padding}`,
          () => seqIn(IN, [tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides, padding, activation, useBias })]),
        ]);
      }
    }
  }
}
layerCases.push(
  ['Conv2D 1x1', () => seqIn(IN, [tfl.layers.conv2d({ filters: 5, kernelSize: 1 })])],
  [
    'Conv2D 5x3 kernel s2 same',
    () => seqIn([10, 8, 3], [tfl.layers.conv2d({ filters: 2, kernelSize: [5, 3], strides: 2, padding: 'same' })]),
  ],
);
for (const depthMultiplier of [1, 2]) {
  for (const strides of [1, 2]) {
    for (const padding of ['same', 'valid'] as const) {
      layerCases.push([
        `DepthwiseConv2D dm${depthMultiplier} s${strides} ${padding}`,
        () => seqIn(IN, [tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier, strides, padding })]),
      ]);
    }
  }
}
layerCases.push(
  [
    'DepthwiseConv2D relu6 even input',
    () => seqIn([8, 8, 3], [tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6' })]),
  ],
  [
    'SeparableConv2D same',
    () => seqIn(IN, [tfl.layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' })]),
  ],
  [
    'SeparableConv2D s2 valid dm2',
    () => seqIn(IN, [tfl.layers.separableConv2d({ filters: 4, kernelSize: 3, strides: 2, depthMultiplier: 2 })]),
  ],
  [
    'Conv2D+BatchNormalization',
    () => seqIn(IN, [tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), tfl.layers.batchNormalization()]),
  ],
  ['MaxPooling2D', () => seqIn(IN, [tfl.layers.maxPooling2d({ poolSize: 2 })])],
  ['MaxPooling2D 3 s2 same', () => seqIn(IN, [tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' })])],
  ['AveragePooling2D', () => seqIn(IN, [tfl.layers.averagePooling2d({ poolSize: 2 })])],
  ['AveragePooling2D 3 s2 same', () => seqIn(IN, [tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' })])],
  ['GlobalAveragePooling2D', () => seqIn(IN, [tfl.layers.conv2d({ filters: 4, kernelSize: 3 }), tfl.layers.globalAveragePooling2d({})])],
  ['Dropout', () => seqIn(IN, [tfl.layers.flatten(), tfl.layers.dropout({ rate: 0.5 }), tfl.layers.dense({ units: 3 })])],
  [
    'ZeroPadding2D',
    () =>
      seqIn(IN, [
        tfl.layers.zeroPadding2d({
          padding: [
            [1, 2],
            [0, 1],
          ],
        }),
        tfl.layers.conv2d({ filters: 2, kernelSize: 3, strides: 2 }),
      ]),
  ],
  ['Reshape', () => seqIn(IN, [tfl.layers.reshape({ targetShape: [27, 9] }), tfl.layers.dense({ units: 2 })])],
);
for (const activation of ['relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'elu'] as const) {
  layerCases.push([
    `Activation ${activation}`,
    () => seqIn(IN, [tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), tfl.layers.activation({ activation })]),
  ]);
}
layerCases.push([
  'ReLU layer max 6',
  () => seqIn(IN, [tfl.layers.conv2d({ filters: 4, kernelSize: 3 }), tfl.layers.reLU({ maxValue: 6 })]),
]);

function branchModel(merge: 'add' | 'concat'): tfl.LayersModel {
  const inp = tfl.input({ shape: IN });
  const a = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(inp) as tfl.SymbolicTensor;
  const b = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 2 }).apply(inp) as tfl.SymbolicTensor;
  const b2 = tfl.layers.conv2d({ filters: 4, kernelSize: 1 }).apply(b) as tfl.SymbolicTensor;
  const m = merge === 'add' ? tfl.layers.add().apply([a, b2]) : tfl.layers.concatenate({ axis: -1 }).apply([a, b2]);
  const out = tfl.layers
    .dense({ units: 3, activation: 'softmax' })
    .apply(tfl.layers.globalAveragePooling2d({}).apply(m as tfl.SymbolicTensor));
  return tfl.model({ inputs: inp, outputs: out as tfl.SymbolicTensor });
}
/**
 * tfjs-core 4.22 refuses gradients of dilated convolutions on every backend ("dilation rates greater
 * than 1 are not yet supported in gradients"), before any kernel runs. wasm must fail the same way.
 */
const dilatedCases: [string, Builder][] = [
  [
    'Conv2D dilation 2 same relu',
    () => seqIn(IN, [tfl.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu' })]),
  ],
  [
    'Conv2D dilation 2 valid linear',
    () => seqIn(IN, [tfl.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'valid' })]),
  ],
  [
    'SeparableConv2D dilation 2',
    () => seqIn(IN, [tfl.layers.separableConv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same' })]),
  ],
];

layerCases.push(['Add', () => branchModel('add')], ['Concatenate', () => branchModel('concat')]);

// MobileNetV2-like inverted residual block, as in tm-objects.
layerCases.push([
  'MobileNetV2 block',
  () => {
    const inp = tfl.input({ shape: [12, 12, 3] });
    let x = tfl.layers
      .zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
      })
      .apply(inp) as tfl.SymbolicTensor;
    x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, useBias: false }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
    const r = tfl.layers.reLU({ maxValue: 6 }).apply(x) as tfl.SymbolicTensor;
    let y = tfl.layers.conv2d({ filters: 16, kernelSize: 1, useBias: false }).apply(r) as tfl.SymbolicTensor;
    y = tfl.layers.batchNormalization().apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.reLU({ maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.batchNormalization().apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.reLU({ maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.batchNormalization().apply(y) as tfl.SymbolicTensor;
    const s = tfl.layers.add().apply([r, y]) as tfl.SymbolicTensor;
    const g = tfl.layers.globalAveragePooling2d({}).apply(s) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 5, activation: 'softmax' }).apply(g) as tfl.SymbolicTensor;
    return tfl.model({ inputs: inp, outputs: out });
  },
]);

beforeAll(async () => {
  await initBackend('wasm');
  await initBackend('cpu');
});

describe('input gradients of Keras layers: wasm == cpu', () => {
  layerCases.forEach(([name, build], i) => {
    test(name, async () => {
      await initBackend('cpu');
      const model = build();
      seedWeights(model, 100 + i);
      try {
        await compareModel(model, 1000 + 17 * i);
      } finally {
        await initBackend('cpu');
        model.dispose();
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// direct kernel tests

async function runKernelOn(
  backend: 'cpu' | 'wasm',
  kernelName: string,
  inputs: Record<string, { values: Float32Array | Int32Array; shape: number[]; dtype?: 'float32' | 'int32' }>,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; data: Float32Array | Int32Array }> {
  await initBackend(backend);
  const before = tf.memory().numTensors;
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.values, v.shape, v.dtype ?? 'float32');
  const out = tf.engine().runKernel(kernelName, ts as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
  const data = (await out.data()) as Float32Array | Int32Array;
  const shape = out.shape;
  out.dispose();
  tf.dispose(Object.values(ts));
  expect(tf.memory().numTensors).toBe(before);
  return { shape, data };
}

/**
 * Reference for dilated cases, which the cpu backend's backprop kernels do not support (they ignore
 * `dilations`): by linearity, grad[k] = sum(dy * forward(basis_k)), forward run on cpu.
 */
async function dilatedReference(
  which: 'filter' | 'dwInput' | 'dwFilter',
  x: tf.Tensor4D | null,
  filter: tf.Tensor4D | null,
  dy: tf.Tensor4D,
  shape: number[],
  strides: [number, number],
  pad: 'same' | 'valid' | number,
  dil: number,
): Promise<Float32Array> {
  await initBackend('cpu');
  const n = size(shape);
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const v = tf.tidy(() => {
      const e = tf.reshape(tf.oneHot(tf.tensor1d([k], 'int32'), n, 1, 0, 'float32'), shape as Shape4) as tf.Tensor4D;
      const y =
        which === 'filter'
          ? tf.conv2d(x!, e, strides, pad as 'same', 'NHWC', dil)
          : which === 'dwFilter'
            ? tf.depthwiseConv2d(x!, e, strides, pad as 'same', 'NHWC', dil)
            : tf.depthwiseConv2d(e, filter!, strides, pad as 'same', 'NHWC', dil);
      return tf.sum(tf.mul(y, dy)).dataSync()[0];
    });
    out[k] = v;
  }
  return out;
}

async function compareKernel(
  kernelName: string,
  inputs: Record<string, { values: Float32Array | Int32Array; shape: number[]; dtype?: 'float32' | 'int32' }>,
  attrs: Record<string, unknown>,
): Promise<void> {
  const want = await runKernelOn('cpu', kernelName, inputs, attrs);
  const got = await runKernelOn('wasm', kernelName, inputs, attrs);
  expect(got.shape).toEqual(want.shape);
  expectClose(got.data, want.data);
}

type Shape4 = [number, number, number, number];

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Forward conv geometry, used to build dy shapes. */
function convOut(
  inShape: number[],
  filterShape: number[],
  strides: number[],
  pad: 'same' | 'valid' | number,
  dil: number,
  depthwise: boolean,
) {
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides as [number, number],
    dil,
    pad,
    undefined,
    depthwise,
  );
}

interface ConvCase {
  n: number;
  h: number;
  w: number;
  c: number;
  fh: number;
  fw: number;
  out: number; // out channels (conv) or depth multiplier (depthwise)
  s: number | [number, number];
  pad: 'same' | 'valid' | number;
  dil: number;
}

const convCases: ConvCase[] = [
  { n: 1, h: 7, w: 7, c: 3, fh: 3, fw: 3, out: 4, s: 1, pad: 'same', dil: 1 },
  { n: 2, h: 8, w: 9, c: 2, fh: 3, fw: 3, out: 3, s: 2, pad: 'same', dil: 1 },
  { n: 1, h: 9, w: 9, c: 3, fh: 3, fw: 3, out: 2, s: 2, pad: 'valid', dil: 1 },
  { n: 2, h: 10, w: 8, c: 4, fh: 5, fw: 3, out: 2, s: [2, 1], pad: 'same', dil: 1 },
  { n: 1, h: 9, w: 9, c: 3, fh: 3, fw: 3, out: 2, s: 1, pad: 'valid', dil: 2 },
  { n: 1, h: 9, w: 10, c: 2, fh: 3, fw: 2, out: 2, s: 1, pad: 'same', dil: 2 },
  { n: 1, h: 6, w: 6, c: 3, fh: 1, fw: 1, out: 5, s: 1, pad: 'valid', dil: 1 },
  { n: 1, h: 11, w: 11, c: 2, fh: 3, fw: 3, out: 2, s: 3, pad: 'same', dil: 1 },
  { n: 1, h: 8, w: 8, c: 2, fh: 3, fw: 3, out: 2, s: 2, pad: 1, dil: 1 },
  { n: 1, h: 8, w: 7, c: 2, fh: 4, fw: 4, out: 1, s: 2, pad: 'same', dil: 1 },
  // ≥ 8 input channels: strided Conv2DBackpropInput goes through XNNPACK (fewer stays on wasm's loop)
  { n: 2, h: 9, w: 8, c: 8, fh: 3, fw: 3, out: 5, s: 2, pad: 'same', dil: 1 },
  { n: 1, h: 9, w: 9, c: 9, fh: 3, fw: 3, out: 3, s: 2, pad: 'valid', dil: 1 },
  { n: 1, h: 10, w: 10, c: 8, fh: 1, fw: 1, out: 4, s: 2, pad: 'valid', dil: 1 },
  { n: 1, h: 8, w: 9, c: 8, fh: 3, fw: 3, out: 3, s: 2, pad: 1, dil: 1 },
  { n: 1, h: 8, w: 10, c: 8, fh: 3, fw: 2, out: 3, s: [2, 3], pad: 'same', dil: 1 },
  { n: 2, h: 6, w: 6, c: 16, fh: 1, fw: 1, out: 24, s: 1, pad: 'same', dil: 1 },
];

describe('added kernels vs the cpu backend', () => {
  test('the expected kernels are registered for wasm', () => {
    for (const k of [
      'Conv2DBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter',
      'UnsortedSegmentSum',
    ]) {
      expect(WASM_EXTRA_KERNELS).toContain(k);
      expect(tf.getKernel(k, 'wasm')).toBeDefined();
    }
  });

  convCases.forEach((cc, i) => {
    const label = `n${cc.n} ${cc.h}x${cc.w}x${cc.c} f${cc.fh}x${cc.fw} o${cc.out} s${cc.s} ${cc.pad} d${cc.dil}`;
    const strides: [number, number] = typeof cc.s === 'number' ? [cc.s, cc.s] : cc.s;
    const pad = cc.pad;

    const xShape = [cc.n, cc.h, cc.w, cc.c];
    const fShape = [cc.fh, cc.fw, cc.c, cc.out];

    test(`Conv2DBackpropFilter ${label}`, async () => {
      const info = convOut(xShape, fShape, strides, pad, cc.dil, false);
      const dyShape = [cc.n, info.outHeight, info.outWidth, cc.out];
      const inputs = {
        x: { values: randArray(size(xShape), 10 + i), shape: xShape },
        dy: { values: randArray(size(dyShape), 20 + i), shape: dyShape },
      };
      const attrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: fShape, dilations: [cc.dil, cc.dil] };
      if (cc.dil === 1) return compareKernel('Conv2DBackpropFilter', inputs, attrs);
      const got = await runKernelOn('wasm', 'Conv2DBackpropFilter', inputs, attrs);
      await initBackend('cpu');
      const want = await dilatedReference(
        'filter',
        tf.tensor4d(inputs.x.values, xShape as Shape4),
        null,
        tf.tensor4d(inputs.dy.values, dyShape as Shape4),
        fShape,
        strides,
        pad,
        cc.dil,
      );
      expect(got.shape).toEqual(fShape);
      expectClose(got.data, want);
    });

    if (cc.dil === 1) {
      test(`Conv2DBackpropInput ${label}`, async () => {
        const info = convOut(xShape, fShape, strides, pad, 1, false);
        const dyShape = [cc.n, info.outHeight, info.outWidth, cc.out];
        const inputs = {
          dy: { values: randArray(size(dyShape), 25 + i), shape: dyShape },
          filter: { values: randArray(size(fShape), 35 + i), shape: fShape },
        };
        await compareKernel('Conv2DBackpropInput', inputs, {
          strides,
          pad,
          dataFormat: 'NHWC',
          dimRoundingMode: undefined,
          inputShape: xShape,
        });
      });
    }

    test(`DepthwiseConv2dNativeBackpropInput ${label}`, async () => {
      const info = convOut(xShape, fShape, strides, pad, cc.dil, true);
      const dyShape = [cc.n, info.outHeight, info.outWidth, cc.c * cc.out];
      const inputs = {
        dy: { values: randArray(size(dyShape), 30 + i), shape: dyShape },
        filter: { values: randArray(size(fShape), 40 + i), shape: fShape },
      };
      const attrs = { strides, pad, dimRoundingMode: undefined, dilations: [cc.dil, cc.dil], inputShape: xShape };
      if (cc.dil === 1) return compareKernel('DepthwiseConv2dNativeBackpropInput', inputs, attrs);
      const got = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropInput', inputs, attrs);
      await initBackend('cpu');
      const want = await dilatedReference(
        'dwInput',
        null,
        tf.tensor4d(inputs.filter.values, fShape as Shape4),
        tf.tensor4d(inputs.dy.values, dyShape as Shape4),
        xShape,
        strides,
        pad,
        cc.dil,
      );
      expect(got.shape).toEqual(xShape);
      expectClose(got.data, want);
    });

    test(`DepthwiseConv2dNativeBackpropFilter ${label}`, async () => {
      const info = convOut(xShape, fShape, strides, pad, cc.dil, true);
      const dyShape = [cc.n, info.outHeight, info.outWidth, cc.c * cc.out];
      const inputs = {
        x: { values: randArray(size(xShape), 50 + i), shape: xShape },
        dy: { values: randArray(size(dyShape), 60 + i), shape: dyShape },
      };
      const attrs = { strides, pad, dimRoundingMode: undefined, dilations: [cc.dil, cc.dil], filterShape: fShape };
      if (cc.dil === 1) return compareKernel('DepthwiseConv2dNativeBackpropFilter', inputs, attrs);
      const got = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', inputs, attrs);
      await initBackend('cpu');
      const want = await dilatedReference(
        'dwFilter',
        tf.tensor4d(inputs.x.values, xShape as Shape4),
        null,
        tf.tensor4d(inputs.dy.values, dyShape as Shape4),
        fShape,
        strides,
        pad,
        cc.dil,
      );
      expect(got.shape).toEqual(fShape);
      expectClose(got.data, want);
    });
  });

  for (const [xShape, numSegments, dtype] of [
    [[6], 4, 'float32'],
    [[5, 3], 3, 'float32'],
    [[4, 2, 3], 6, 'float32'],
    [[7, 2], 5, 'int32'],
  ] as [number[], number, 'float32' | 'int32'][]) {
    test(`UnsortedSegmentSum ${JSON.stringify(xShape)} into ${numSegments} (${dtype})`, async () => {
      const r = rng(numSegments * 31 + xShape.length);
      // Ids include an out-of-range one (dropped, as in TF) on the float cases.
      const ids = Int32Array.from({ length: xShape[0] }, (_, k) =>
        k === 1 && dtype === 'float32' ? numSegments + 1 : Math.floor(r() * numSegments),
      );
      const vals =
        dtype === 'int32' ? Int32Array.from(randArray(size(xShape), 70), (v) => Math.round(v * 50)) : randArray(size(xShape), 70);
      await compareKernel(
        'UnsortedSegmentSum',
        { x: { values: vals, shape: xShape, dtype }, segmentIds: { values: ids, shape: [xShape[0]], dtype: 'int32' } },
        { numSegments },
      );
    });
  }

  test('UnsortedSegmentSum with multi-dimensional segment ids and negative ids (TF semantics)', async () => {
    // (The cpu backend cannot do multi-dimensional ids, so the expectation is computed here.)
    const ids = Int32Array.from([0, 2, -1, 2, 0, 1]);
    const x = randArray(24, 71);
    const got = await runKernelOn(
      'wasm',
      'UnsortedSegmentSum',
      { x: { values: x, shape: [2, 3, 4] }, segmentIds: { values: ids, shape: [2, 3], dtype: 'int32' } },
      { numSegments: 3 },
    );
    const want = new Float32Array(12);
    ids.forEach((sid, k) => {
      if (sid >= 0) for (let j = 0; j < 4; j++) want[sid * 4 + j] += x[k * 4 + j];
    });
    expect(got.shape).toEqual([3, 4]);
    expectClose(got.data, want);
  });

  for (const [shape, filterSize, strides, pad] of [
    [[2, 6, 6, 3], 2, 2, 'valid'],
    [[1, 7, 5, 2], 3, 2, 'same'],
    [[1, 5, 5, 1], 3, 1, 'same'],
  ] as [number[], number, number, 'same' | 'valid'][]) {
    const label = `${JSON.stringify(shape)} f${filterSize} s${strides} ${pad}`;
    // Values around/below zero: wasm's own kernels start the window max at FLT_MIN and get these wrong.
    const x = { values: randArray(size(shape), 7 + filterSize, -2, 0.5), shape };
    test(`MaxPoolGrad ${label}`, async () => {
      await initBackend('cpu');
      const y = tf.maxPool(tf.tensor4d(x.values, shape as Shape4), filterSize, strides, pad);
      const dy = { values: randArray(y.size, 9), shape: y.shape as number[] };
      const output = { values: (await y.data()) as Float32Array, shape: y.shape as number[] };
      y.dispose();
      await compareKernel('MaxPoolGrad', { dy, input: x, output }, { filterSize, strides, pad, dimRoundingMode: undefined });
    });
    test(`MaxPoolWithArgmax ${label}`, async () => {
      const run = async (b: 'cpu' | 'wasm') => {
        await initBackend(b);
        const xt = tf.tensor4d(x.values, shape as Shape4);
        const [p, i] = tf
          .engine()
          .runKernel('MaxPoolWithArgmax', { x: xt }, { filterSize, strides, pad, includeBatchInIndex: true }) as tf.Tensor[];
        const out = [(await p.data()) as Float32Array, (await i.data()) as Int32Array] as const;
        tf.dispose([xt, p, i]);
        return out;
      };
      const [pc, ic] = await run('cpu');
      const [pw, iw] = await run('wasm');
      expectClose(pw, pc);
      expect(Array.from(iw)).toEqual(Array.from(ic));
    });
  }

  for (const [shape, reps] of [
    [
      [1, 1, 1, 5],
      [2, 4, 3, 1],
    ],
    [
      [2, 3],
      [2, 2],
    ],
    [
      [3, 1],
      [1, 4],
    ],
  ] as [number[], number[]][]) {
    test(`Tile ${JSON.stringify(shape)} x ${JSON.stringify(reps)}`, async () => {
      await compareKernel('Tile', { x: { values: randArray(size(shape), 3), shape } }, { reps });
    });
  }

  test('tf.gather gradient (class selection) works on wasm', async () => {
    const x = randArray(2 * 6, 80);
    const f = (inp: tf.Tensor) => tf.gather(inp, tf.tensor1d([3, 1, 3], 'int32'), 1);
    const gCpu = await inputGradient('cpu', f, x, [2, 6], 81);
    const gWasm = await inputGradient('wasm', f, x, [2, 6], 81);
    expectClose(gWasm, gCpu);
  });
});

// ---------------------------------------------------------------------------------------------
// zoo models

function readArtifacts(dir: string): tf.io.ModelArtifacts {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs,
    weightData,
  };
}

describe('zoo models: wasm == cpu', () => {
  test('mobilenet-v1-025-graph input gradient', async () => {
    await initBackend('cpu');
    const model = await tfc.loadGraphModel(tf.io.fromMemory(readArtifacts(path.join(ZOO, 'mobilenet-v1-025-graph'))));
    const shape = [1, 224, 224, 3];
    const x = randArray(size(shape), 90, 0, 1);
    const f = (inp: tf.Tensor) => model.execute(inp) as tf.Tensor;
    let t0 = performance.now();
    const gCpu = await inputGradient('cpu', f, x, shape, 91);
    const cpuMs = performance.now() - t0;
    await inputGradient('wasm', f, x, shape, 91); // warm-up (XNNPACK operator caches)
    t0 = performance.now();
    const gWasm = await inputGradient('wasm', f, x, shape, 91);
    const wasmMs = performance.now() - t0;
    console.log(`mobilenet-v1-025 input gradient: cpu ${cpuMs.toFixed(0)} ms, wasm ${wasmMs.toFixed(0)} ms`);
    expect(maxAbs(gCpu)).toBeGreaterThan(0);
    expectClose(gWasm, gCpu);
    expectIdentical(await inputGradient('wasm', f, x, shape, 91, true), gWasm);
    await initBackend('cpu');
    model.dispose();
  });

  test('tm-objects (MobileNetV2 layers model) input gradient', async () => {
    await initBackend('cpu');
    const model = await tfl.loadLayersModel(tf.io.fromMemory(readArtifacts(path.join(ZOO, 'tm-objects'))));
    const shape = [1, 224, 224, 3];
    const x = randArray(size(shape), 92, -1, 1);
    const f = (inp: tf.Tensor) => model.apply(inp, { training: false }) as tf.Tensor;
    await initBackend('wasm');
    let t0 = performance.now();
    const gWasm = await inputGradient('wasm', f, x, shape, 93);
    const wasmMs = performance.now() - t0;
    t0 = performance.now();
    const gCpu = await inputGradient('cpu', f, x, shape, 93);
    const cpuMs = performance.now() - t0;
    console.log(`tm-objects input gradient: cpu ${cpuMs.toFixed(0)} ms, wasm ${wasmMs.toFixed(0)} ms (first call)`);
    expect(maxAbs(gCpu)).toBeGreaterThan(0);
    expectClose(gWasm, gCpu);
    expectIdentical(await inputGradient('wasm', f, x, shape, 93, true), gWasm);
    await initBackend('cpu');
    model.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// SIMD mask gradients (ClipByValue, Relu6, Relu) and speed-only kernel replacements: bit-identical

describe('wasm SIMD gradients and speed-only kernels: bit-identical to the wasm originals', () => {
  const special = (n: number, seed: number) => {
    const v = randArray(n, seed, -3, 9);
    [Number.NaN, 0, 6, -0, Infinity, -Infinity, 1e-30, 6.000001].forEach((s, i) => (v[(i * 7) % n] = s));
    return v;
  };
  for (const n of [1, 3, 4, 7, 64, 1001]) {
    test(`ClipByValue / Relu6 / Relu gradients, ${n} elements`, async () => {
      await initBackend('wasm');
      expect(tf.getKernel('PathLensMaskGrad', 'wasm')).toBeDefined();
      const x = tf.tensor1d(special(n, 600 + n));
      const dyv = randArray(n, 700 + n);
      if (n > 5) [dyv[2], dyv[5]] = [Infinity, Number.NaN];
      const dy = tf.tensor1d(dyv);
      const cases: [string, (z: tf.Tensor) => tf.Tensor, () => tf.Tensor][] = [
        [
          'clip',
          (z) => tf.clipByValue(z, -0.5, 6),
          () => tf.where(tf.logicalAnd(tf.greaterEqual(x, -0.5), tf.lessEqual(x, 6)), dy, tf.zerosLike(dy)),
        ],
        ['relu6', (z) => tf.relu6(z), () => tf.mul(dy, tf.cast(tf.mul(tf.lessEqual(x, 6), tf.step(x)), 'float32'))],
        ['relu', (z) => tf.relu(z), () => tf.mul(dy, tf.cast(tf.step(x), 'float32'))],
      ];
      for (const [name, f, reference] of cases) {
        const got = tf.grad(f)(x, dy);
        const want = tf.tidy(reference);
        const g = (await got.data()) as Float32Array;
        const w = (await want.data()) as Float32Array;
        for (let i = 0; i < n; i++) {
          const same = Object.is(g[i], w[i]) || (Number.isNaN(g[i]) && Number.isNaN(w[i]));
          expect(same, `${name}[${i}]: x=${x.dataSync()[i]} dy=${dyv[i]} got ${g[i]} want ${w[i]}`).toBe(true);
        }
        tf.dispose([got, want]);
      }
      tf.dispose([x, dy]);
    });
  }

  test('int32 ClipByValue gradient still uses the TF.js formula', async () => {
    await initBackend('wasm');
    const x = tf.tensor1d([-2, 0, 3, 9], 'float32');
    const g = tf.grad((z: tf.Tensor) => tf.clipByValue(z, 0, 3))(x);
    expect(Array.from(await g.data())).toEqual([0, 1, 1, 0]);
    tf.dispose([x, g]);
  });

  for (const [shape, begin, sz] of [
    [
      [2, 5, 6, 3],
      [0, 1, 0, 0],
      [2, 3, 5, 3],
    ],
    [
      [1, 7, 7, 4],
      [0, 0, 1, 1],
      [1, 6, 5, 2],
    ],
    [
      [3, 4, 5],
      [1, 0, 2],
      [2, 4, 3],
    ],
    [
      [4, 6],
      [1, 2],
      [3, 3],
    ],
    [
      [2, 3, 4, 5, 6],
      [1, 0, 1, 0, 2],
      [1, 3, 2, 5, 3],
    ],
  ] as [number[], number[], number[]][]) {
    test(`Slice ${JSON.stringify(shape)} begin ${JSON.stringify(begin)} size ${JSON.stringify(sz)}`, async () => {
      for (const dtype of ['float32', 'int32'] as const) {
        const vals = Int32Array.from(randArray(size(shape), 800 + shape.length), (v) => Math.round(v * 1000));
        const inputs = { x: { values: dtype === 'int32' ? vals : Float32Array.from(vals, (v) => v / 7), shape, dtype } };
        await compareKernel('Slice', inputs, { begin, size: sz });
      }
    });
  }

  test('Identity shares the data and survives disposing the source', async () => {
    await initBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
    y.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// withInputGradientsOnly: weight gradients of fused convolutions are skipped, never when needed

describe('withInputGradientsOnly', () => {
  const xShape = [2, 8, 8, 3] as Shape4;
  const fused = (x: tf.Tensor4D, f1: tf.Tensor4D, b1: tf.Tensor1D, dwf: tf.Tensor4D, b2: tf.Tensor1D, f3: tf.Tensor4D) => {
    let y = tf.fused.conv2d({ x, filter: f1, bias: b1, strides: 2, pad: 'same' }); // linear: customGrad
    y = tf.fused.depthwiseConv2d({ x: y, filter: dwf, bias: b2, strides: 1, pad: 'same' });
    y = tf.fused.conv2d({ x: y, filter: f3, strides: 1, pad: 'valid' }); // no bias
    return tf.fused.conv2d({
      x: y,
      filter: tf.reshape(f3, [1, 1, 4, 4]) as tf.Tensor4D,
      bias: b1,
      activation: 'relu',
      strides: 1,
      pad: 'valid',
    }); // relu, unfused under tape
  };
  const weightValues = () => ({
    f1: tf.tensor4d(randArray(3 * 3 * 3 * 4, 501), [3, 3, 3, 4]),
    b1: tf.tensor1d(randArray(4, 502)),
    dwf: tf.tensor4d(randArray(3 * 3 * 4 * 1, 503), [3, 3, 4, 1]),
    b2: tf.tensor1d(randArray(4, 504)),
    f3: tf.tensor4d(randArray(1 * 1 * 4 * 4, 505), [1, 1, 4, 4]),
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    test(`${backend}: input gradient identical, filter/bias gradient kernels skipped`, async () => {
      await initBackend(backend);
      const w = weightValues();
      const x = tf.tensor4d(randArray(size(xShape), 506), xShape);
      const g = () => tf.grad((inp: tf.Tensor) => tf.sum(fused(inp as tf.Tensor4D, w.f1, w.b1, w.dwf, w.b2, w.f3)))(x);
      const before = tf.memory().numTensors;
      const off = g();
      const skipped0 = skipStats.skipped;
      const on = withInputGradientsOnly(g);
      // 2 fused convs with bias (filter + bias) + 1 without (filter); the relu one is unfused under the tape.
      expect(skipStats.skipped - skipped0).toBe(5);
      expectIdentical((await on.data()) as Float32Array, (await off.data()) as Float32Array);
      tf.dispose([on, off]);
      expect(tf.memory().numTensors).toBe(before);
      const skipped1 = skipStats.skipped;
      tf.dispose(g());
      expect(skipStats.skipped).toBe(skipped1); // flag off: nothing skipped
      tf.dispose([x, ...Object.values(w)]);
    });

    test(`${backend}: weight gradients requested inside the flag are real`, async () => {
      await initBackend(backend);
      const w = weightValues();
      const vars = Object.fromEntries(
        Object.entries(w).map(([k, t]) => [k, tf.variable(t, true, `pl_${backend}_${k}`)]),
      ) as unknown as Record<keyof typeof w, tf.Variable>;
      const x = tf.tensor4d(randArray(size(xShape), 507), xShape);
      const loss = () =>
        tf.sum(fused(x, vars.f1 as never, vars.b1 as never, vars.dwf as never, vars.b2 as never, vars.f3 as never)) as tf.Scalar;
      const off = tf.variableGrads(loss);
      const on = withInputGradientsOnly(() => tf.variableGrads(loss));
      for (const k of Object.keys(off.grads)) {
        expect(maxAbs((await off.grads[k].data()) as Float32Array)).toBeGreaterThan(0);
        expectIdentical((await on.grads[k].data()) as Float32Array, (await off.grads[k].data()) as Float32Array);
      }
      // Gradient with respect to x and the filters at once (tf.grads).
      const both = (inp: tf.Tensor, f1: tf.Tensor) => tf.sum(fused(inp as tf.Tensor4D, f1 as tf.Tensor4D, w.b1, w.dwf, w.b2, w.f3));
      const [gx0, gf0] = tf.grads(both)([x, w.f1]);
      const [gx1, gf1] = withInputGradientsOnly(() => tf.grads(both)([x, w.f1]));
      expectIdentical((await gx1.data()) as Float32Array, (await gx0.data()) as Float32Array);
      expectIdentical((await gf1.data()) as Float32Array, (await gf0.data()) as Float32Array);
      tf.dispose([
        off.value,
        on.value,
        ...Object.values(off.grads),
        ...Object.values(on.grads),
        gx0,
        gf0,
        gx1,
        gf1,
        x,
        ...Object.values(w),
        ...Object.values(vars),
      ]);
    });

    test(`${backend}: a filter computed from the input keeps its gradient`, async () => {
      await initBackend(backend);
      const x = tf.tensor4d(randArray(size(xShape), 508), xShape);
      const b = tf.tensor1d(randArray(2, 509));
      const f = (inp: tf.Tensor) => {
        // filter [3,3,3,2] built from the input's first example
        const filt = tf.concat(
          [
            tf.reshape(tf.slice(inp, [0, 0, 0, 0], [1, 3, 3, 3]), [3, 3, 3, 1]),
            tf.reshape(tf.slice(inp, [1, 2, 2, 0], [1, 3, 3, 3]), [3, 3, 3, 1]),
          ],
          3,
        ) as tf.Tensor4D;
        return tf.sum(tf.fused.conv2d({ x: inp as tf.Tensor4D, filter: filt, bias: b, strides: 1, pad: 'same' }));
      };
      const off = tf.grad(f)(x);
      const skipped0 = skipStats.skipped;
      const on = withInputGradientsOnly(() => tf.grad(f)(x));
      expect(skipStats.skipped).toBe(skipped0);
      expectIdentical((await on.data()) as Float32Array, (await off.data()) as Float32Array);
      tf.dispose([x, b, off, on]);
    });
  }

  for (const backend of ['cpu', 'wasm'] as const) {
    test(`${backend}: BatchNorm input gradient (fast path) bit-identical to TF.js' formula; weight gradients unchanged`, async () => {
      await initBackend(backend);
      const shape = [2, 5, 3, 4] as Shape4;
      const x = tf.tensor4d(randArray(size(shape), 900), shape);
      const dy = tf.tensor4d(randArray(size(shape), 901), shape);
      const mean = tf.tensor1d(randArray(4, 902));
      const variance = tf.tensor1d(randArray(4, 903, 0.5, 1.5));
      const scale = tf.tensor1d(randArray(4, 904));
      const offset = tf.tensor1d(randArray(4, 905));
      const eps = 1e-3;
      const gx = tf.grad((z: tf.Tensor) => tf.batchNorm(z, mean, variance, offset, scale, eps))(x, dy);
      const r = tf.rsqrt(tf.add(variance, tf.scalar(eps)));
      const want = tf.mul(tf.mul(dy, tf.tile(tf.reshape(r, [1, 1, 1, 4]), [2, 5, 3, 1])), scale);
      expectIdentical((await gx.data()) as Float32Array, (await want.data()) as Float32Array);
      // weights differentiated: TF.js' gradient
      const vs = [mean, variance, scale, offset].map((t, i) => tf.variable(t, true, `bn_${backend}_${i}`));
      const { grads, value } = tf.variableGrads(
        () => tf.sum(tf.mul(tf.batchNorm(x, vs[0]!, vs[1]!, vs[3]!, vs[2]!, eps), dy)) as tf.Scalar,
      );
      const xm = tf.sub(x, mean);
      const ref = {
        [vs[0]!.name]: tf.sum(tf.mul(tf.mul(r, -1), tf.mul(dy, scale)), [0, 1, 2]),
        [vs[1]!.name]: tf.sum(tf.mul(tf.mul(tf.mul(tf.pow(r, 3), -0.5), xm), tf.mul(dy, scale)), [0, 1, 2]),
        [vs[2]!.name]: tf.sum(tf.mul(dy, tf.mul(xm, r)), [0, 1, 2]),
        [vs[3]!.name]: tf.sum(dy, [0, 1, 2]),
      };
      for (const [name, g] of Object.entries(grads))
        expectClose((await g.data()) as Float32Array, (await ref[name]!.data()) as Float32Array);
      tf.dispose([x, dy, mean, variance, scale, offset, gx, r, want, xm, value, ...vs, ...Object.values(grads), ...Object.values(ref)]);
    });
  }

  test('async functions keep the flag until they settle', async () => {
    const { inputGradientsOnly } = await import('../src/core/engine/inputGradients');
    const p = withInputGradientsOnly(async () => {
      await new Promise((r) => setTimeout(r, 5));
      return inputGradientsOnly();
    });
    expect(inputGradientsOnly()).toBe(true);
    expect(await p).toBe(true);
    expect(inputGradientsOnly()).toBe(false);
  });
});

// Last in the file: tfjs leaves a few tensors behind when a gradient throws.
describe('dilated convolutions: same tfjs-core limitation on wasm and cpu', () => {
  dilatedCases.forEach(([name, build], i) => {
    test(name, async () => {
      await initBackend('cpu');
      const model = build();
      seedWeights(model, 300 + i);
      const x = randArray(2 * 9 * 9 * 3, 301 + i);
      const f = (inp: tf.Tensor) => model.apply(inp, { training: false }) as tf.Tensor;
      try {
        for (const b of ['cpu', 'wasm'] as const) {
          await initBackend(b);
          const xt = tf.tensor(x, [2, 9, 9, 3]);
          expect(() => tf.tidy(() => tf.grad((inp: tf.Tensor) => tf.sum(f(inp)))(xt))).toThrow(/dilation rates greater than 1/);
          xt.dispose();
        }
      } finally {
        await initBackend('cpu');
        model.dispose();
      }
    });
  });
});
