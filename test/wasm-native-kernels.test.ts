/**
 * PathLens's C SIMD kernels (native/wasm-kernels/) on random shapes: the convolution input gradients
 * against a plain scatter from the forward definition (any stride, dilation, padding, channel count
 * not a multiple of 4, depth multiplier) and against the cpu backend's kernels where it has them;
 * FusedBatchNorm against the cpu backend and the wasm backend's own kernel; the
 * fallbacks used without SIMD on the same shapes; the embedded binary against the built file.
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/core/engine/backend';
import { createRng } from '../src/core/random';
import { nativeKernels, setNativeKernelsEnabled } from '../src/core/engine/wasm/native';
import { NATIVE_KERNELS_WASM_BASE64 } from '../src/core/engine/wasm/nativeBinary';
import { channelScale2 } from '../src/core/engine/wasmSimd';
import { setActivationFusionEnabled } from '../src/core/engine/activationGradients';
import { withInputGradientsOnly } from '../src/core/engine/inputGradients';
import { registerNetKernels } from '../src/core/engine/wasm/net';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number;

function randArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = createRng(seed);
  return Float32Array.from({ length: n }, () => r.range(lo, hi));
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rel = 2e-5): void {
  expect(got.length).toBe(want.length);
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  expect(worst, `max |diff| ${worst}`).toBeLessThanOrEqual(rel * scale);
}

/** Run one kernel on `backend` with float32 inputs; returns shape and data (no tensor leaked). */
async function runKernel(
  backend: 'cpu' | 'wasm',
  name: string,
  inputs: Record<string, { values: Float32Array; shape: number[] } | undefined>,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; data: Float32Array }> {
  await initBackend(backend);
  const before = tf.memory().numTensors;
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) if (v) ts[k] = tf.tensor(v.values, v.shape);
  const out = tf.engine().runKernel(name, ts as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
  const data = (await out.data()) as Float32Array;
  const shape = out.shape;
  tf.dispose([out, ...Object.values(ts)]);
  expect(tf.memory().numTensors).toBe(before);
  return { shape, data };
}

interface ConvCase {
  xShape: Shape4;
  fShape: Shape4;
  strides: [number, number];
  dil: [number, number];
  pad: Pad;
}

/**
 * dx of a conv / depthwise conv by scattering dy through the forward definition:
 * out[n, oy, ox, o] += x[n, oy·s + ky·d − top, ox·s + kx·d − left, i] · w[ky, kx, i, q].
 */
function scatterReference(cc: ConvCase, depthwise: boolean, dy: Float32Array, w: Float32Array): Float32Array {
  const info = tf.backend_util.computeConv2DInfo(cc.xShape, cc.fShape, cc.strides, cc.dil, cc.pad, undefined, depthwise);
  const [n, h, wd, c] = cc.xShape;
  const [fh, fw, , fo] = cc.fShape;
  const outC = depthwise ? c * fo : fo;
  const dx = new Float64Array(n * h * wd * c);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < info.outHeight; oy++)
      for (let ox = 0; ox < info.outWidth; ox++)
        for (let ky = 0; ky < fh; ky++)
          for (let kx = 0; kx < fw; kx++) {
            const y = oy * info.strideHeight + ky * info.dilationHeight - info.padInfo.top;
            const x = ox * info.strideWidth + kx * info.dilationWidth - info.padInfo.left;
            if (y < 0 || y >= h || x < 0 || x >= wd) continue;
            const dyRow = ((b * info.outHeight + oy) * info.outWidth + ox) * outC;
            for (let i = 0; i < c; i++)
              for (let q = 0; q < fo; q++) {
                const o = depthwise ? i * fo + q : q;
                dx[((b * h + y) * wd + x) * c + i] += dy[dyRow + o]! * w[((ky * fw + kx) * c + i) * fo + q]!;
              }
          }
  return Float32Array.from(dx);
}

/** Random geometry: strides 1–3, dilation 1–3 (depthwise) , same / valid / explicit padding. */
function randomCase(seed: number, depthwise: boolean): ConvCase {
  const r = createRng(seed);
  const int = (lo: number, hi: number) => lo + r.int(hi - lo + 1);
  const pads: Pad[] = ['same', 'valid', int(0, 2)];
  const pad = pads[int(0, 2)]!;
  const fh = int(1, 5);
  // (tfjs sizes a numeric padding's output from the filter height alone: square filters only)
  const fw = typeof pad === 'number' ? fh : int(1, 4);
  const dh = depthwise ? int(1, 3) : 1;
  const dil: [number, number] = [dh, typeof pad === 'number' ? dh : depthwise ? int(1, 2) : 1];
  const strides: [number, number] = dil[0] > 1 || dil[1] > 1 ? [1, 1] : [int(1, 3), int(1, 3)];
  const minH = (fh - 1) * dil[0] + 1;
  const minW = (fw - 1) * dil[1] + 1;
  const c = depthwise ? int(1, 11) : int(1, 7);
  const xShape: Shape4 = [int(1, 2), minH + int(0, 7), minW + int(0, 7), c];
  const fShape: Shape4 = [fh, fw, c, depthwise ? int(1, 3) : int(1, 13)];
  return { xShape, fShape, strides, dil, pad };
}

function label(cc: ConvCase): string {
  return `x${cc.xShape.join('x')} f${cc.fShape.join('x')} s${cc.strides} d${cc.dil} ${cc.pad}`;
}

async function convInputGradient(cc: ConvCase, depthwise: boolean, seed: number, backend: 'cpu' | 'wasm' = 'wasm') {
  const info = tf.backend_util.computeConv2DInfo(cc.xShape, cc.fShape, cc.strides, cc.dil, cc.pad, undefined, depthwise);
  const dyShape = [cc.xShape[0], info.outHeight, info.outWidth, depthwise ? cc.xShape[3] * cc.fShape[3] : cc.fShape[3]];
  const dy = randArray(
    dyShape.reduce((a, b) => a * b, 1),
    seed,
  );
  const w = randArray(
    cc.fShape.reduce((a, b) => a * b, 1),
    seed + 1,
  );
  const name = depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
  const attrs = {
    strides: cc.strides,
    pad: cc.pad,
    dilations: cc.dil,
    dimRoundingMode: undefined,
    dataFormat: 'NHWC',
    inputShape: cc.xShape,
  };
  const got = await runKernel(backend, name, { dy: { values: dy, shape: dyShape }, filter: { values: w, shape: cc.fShape } }, attrs);
  expect(got.shape).toEqual(cc.xShape);
  return { got: got.data, want: scatterReference(cc, depthwise, dy, w) };
}

beforeAll(async () => {
  await initBackend('cpu');
  await initBackend('wasm');
});

afterEach(() => setNativeKernelsEnabled(true));

describe('native kernel module', () => {
  test('loads on the wasm backend with WebAssembly SIMD', async () => {
    await initBackend('wasm');
    expect(nativeKernels(tf.backend())).not.toBeNull();
  });

  test('the embedded binary is native/wasm-kernels/kernels.wasm', () => {
    const file = fs.readFileSync(path.join(__dirname, '..', 'native', 'wasm-kernels', 'kernels.wasm'));
    expect(Buffer.from(NATIVE_KERNELS_WASM_BASE64, 'base64').equals(file)).toBe(true);
  });
});

describe('Conv2DBackpropInput, direct kernel (< 8 input channels)', () => {
  const cases = Array.from({ length: 24 }, (_, k) => randomCase(100 + k, false));
  // The MobileNet stem (3x3 stride 2, 'same' with asymmetric padding) and a stride larger than the filter.
  cases.push({ xShape: [2, 16, 15, 3], fShape: [3, 3, 3, 16], strides: [2, 2], dil: [1, 1], pad: 'same' });
  cases.push({ xShape: [1, 11, 9, 2], fShape: [2, 2, 2, 5], strides: [3, 3], dil: [1, 1], pad: 'valid' });
  cases.forEach((cc, k) => {
    test(label(cc), async () => {
      const { got, want } = await convInputGradient(cc, false, 300 + k);
      expectClose(got, want);
      const cpu = await convInputGradient(cc, false, 300 + k, 'cpu');
      expectClose(got, cpu.got);
    });
  });
});

describe('Conv2DBackpropInput derives its filter once', () => {
  // XNNPACK path (≥ 8 input channels: flipped, transposed filter) and direct kernel (channels-last filter).
  const cases: ConvCase[] = [
    { xShape: [2, 9, 8, 12], fShape: [3, 3, 12, 5], strides: [2, 2], dil: [1, 1], pad: 'same' },
    { xShape: [2, 9, 8, 3], fShape: [3, 3, 3, 16], strides: [2, 2], dil: [1, 1], pad: 'same' },
  ];
  test.each(cases)('$xShape ← $fShape: kept with the filter tensor, freed with it', async (cc) => {
    await initBackend('wasm');
    const buffers = () => (tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds();
    const info = tf.backend_util.computeConv2DInfo(cc.xShape, cc.fShape, cc.strides, cc.dil, cc.pad);
    const dy = tf.tensor(randArray(2 * info.outHeight * info.outWidth * cc.fShape[3], 41), [
      2,
      info.outHeight,
      info.outWidth,
      cc.fShape[3],
    ]);
    const filter = tf.tensor(
      randArray(
        cc.fShape.reduce((a, b) => a * b, 1),
        42,
      ),
      cc.fShape,
    );
    const start = buffers();
    const attrs = { strides: cc.strides, pad: cc.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: cc.xShape };
    const run = () => {
      const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      const values = dx.dataSync().slice();
      dx.dispose();
      return values;
    };
    const first = run();
    expect(buffers()).toBe(start + 1); // the derived filter
    const second = run();
    expect(buffers()).toBe(start + 1);
    expect(second).toEqual(first);
    filter.dispose();
    expect(buffers()).toBe(start - 1);
    dy.dispose();
  });
});

describe('DepthwiseConv2dNativeBackpropInput, direct kernel', () => {
  const cases = Array.from({ length: 30 }, (_, k) => randomCase(500 + k, true));
  cases.push({ xShape: [2, 14, 14, 48], fShape: [3, 3, 48, 1], strides: [2, 2], dil: [1, 1], pad: 'same' });
  cases.push({ xShape: [1, 9, 10, 6], fShape: [3, 3, 6, 2], strides: [1, 1], dil: [2, 3], pad: 'same' });
  cases.forEach((cc, k) => {
    test(label(cc), async () => {
      const { got, want } = await convInputGradient(cc, true, 700 + k);
      expectClose(got, want);
    });
  });

  test('the composed fallback (no SIMD) agrees on the same shapes', async () => {
    setNativeKernelsEnabled(false);
    for (const [k, cc] of cases.slice(0, 12).entries()) {
      const { got, want } = await convInputGradient(cc, true, 700 + k);
      expectClose(got, want);
    }
  });

  test('Conv2DBackpropInput without SIMD (wasm loop / XNNPACK) agrees as well', async () => {
    setNativeKernelsEnabled(false);
    for (let k = 0; k < 8; k++) {
      const cc = randomCase(100 + k, false);
      const { got, want } = await convInputGradient(cc, false, 300 + k);
      expectClose(got, want);
    }
  });
});

/** dx of a multiplier-1 depthwise conv in float32, each pixel summed from +0 in tap order (ky, then kx): the C kernel's order. */
function depthwiseTapOrder(cc: ConvCase, dy: Float32Array, w: Float32Array): Float32Array {
  const info = tf.backend_util.computeConv2DInfo(cc.xShape, cc.fShape, cc.strides, cc.dil, cc.pad, undefined, true);
  const [n, h, wd, c] = cc.xShape;
  const [fh, fw] = cc.fShape;
  const dx = new Float32Array(n * h * wd * c);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < wd; x++)
        for (let i = 0; i < c; i++) {
          let acc = 0;
          for (let ky = 0; ky < fh; ky++)
            for (let kx = 0; kx < fw; kx++) {
              const ty = y + info.padInfo.top - ky * info.dilationHeight;
              const tx = x + info.padInfo.left - kx * info.dilationWidth;
              const [oy, ox] = [ty / info.strideHeight, tx / info.strideWidth];
              if (!Number.isInteger(oy) || !Number.isInteger(ox) || oy < 0 || ox < 0 || oy >= info.outHeight || ox >= info.outWidth)
                continue;
              const d = dy[((b * info.outHeight + oy) * info.outWidth + ox) * c + i]!;
              acc = Math.fround(acc + Math.fround(d * w[(ky * fw + kx) * c + i]!));
            }
          dx[((b * h + y) * wd + x) * c + i] = acc;
        }
  return dx;
}

describe('depthwise input gradient, 3x3 row kernels (stride 1 or 2, channels a multiple of 4)', () => {
  const cases: ConvCase[] = [
    { xShape: [2, 9, 11, 8], fShape: [3, 3, 8, 1], strides: [1, 1], dil: [1, 1], pad: 'same' },
    { xShape: [1, 7, 6, 12], fShape: [3, 3, 12, 1], strides: [1, 1], dil: [1, 1], pad: 'valid' },
    { xShape: [1, 8, 9, 4], fShape: [3, 3, 4, 1], strides: [1, 1], dil: [1, 1], pad: 2 },
    { xShape: [2, 12, 10, 8], fShape: [3, 3, 8, 1], strides: [2, 2], dil: [1, 1], pad: 'same' },
    { xShape: [1, 11, 13, 16], fShape: [3, 3, 16, 1], strides: [2, 2], dil: [1, 1], pad: 'same' },
    { xShape: [1, 11, 9, 4], fShape: [3, 3, 4, 1], strides: [2, 2], dil: [1, 1], pad: 'valid' },
    { xShape: [1, 10, 10, 8], fShape: [3, 3, 8, 1], strides: [2, 2], dil: [1, 1], pad: 1 },
    { xShape: [1, 3, 3, 4], fShape: [3, 3, 4, 1], strides: [1, 1], dil: [1, 1], pad: 'same' },
  ];
  cases.forEach((cc, k) => {
    test(label(cc), async () => {
      const { got, want } = await convInputGradient(cc, true, 900 + k);
      expectClose(got, want);
      const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
      const info = tf.backend_util.computeConv2DInfo(cc.xShape, cc.fShape, cc.strides, cc.dil, cc.pad, undefined, true);
      const dy = randArray(cc.xShape[0] * info.outHeight * info.outWidth * cc.xShape[3], 900 + k);
      // the same float32 sums, in the same order, as the per-pixel kernel: identical bits
      expect(got).toEqual(depthwiseTapOrder(cc, dy, randArray(size(cc.fShape), 901 + k)));
    });
  });

  test('PathLensDepthwiseGradMasked is that gradient times the ReLU6 mask of its input, bit for bit', async () => {
    await initBackend('wasm');
    registerNetKernels();
    for (const [k, cc] of cases.entries()) {
      const info = tf.backend_util.computeConv2DInfo(cc.xShape, cc.fShape, cc.strides, cc.dil, cc.pad, undefined, true);
      const dyShape = [cc.xShape[0], info.outHeight, info.outWidth, cc.xShape[3]];
      const dy = {
        values: randArray(
          dyShape.reduce((a, b) => a * b, 1),
          900 + k,
        ),
        shape: dyShape,
      };
      const filter = {
        values: randArray(
          cc.fShape.reduce((a, b) => a * b, 1),
          901 + k,
        ),
        shape: cc.fShape,
      };
      const ym = {
        values: randArray(
          cc.xShape.reduce((a, b) => a * b, 1),
          902 + k,
          -2,
          8,
        ),
        shape: cc.xShape,
      };
      const hi = Math.fround(6 - 2 ** -21);
      const attrs = { strides: cc.strides, pad: cc.pad, dilations: cc.dil, inputShape: cc.xShape, hi };
      const masked = await runKernel('wasm', 'PathLensDepthwiseGradMasked', { dy, filter, ym }, attrs);
      const plain = await runKernel('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, attrs);
      const want = plain.data.map((v, i) => v * (ym.values[i]! > 0 && ym.values[i]! <= hi ? 1 : 0));
      expect(masked.data).toEqual(want);
    }
  });
});

describe("spatial_mean (the layers plan's global average pooling)", () => {
  test.each([
    [2, 7, 7, 12],
    [3, 5, 4, 10],
    [1, 1, 1, 3],
  ])("[%i, %i, %i, %i] equals the float64 mean and the backend's Mean", async (n, h, w, c) => {
    await initBackend('wasm');
    const values = randArray(n * h * w * c, 77, -3, 5);
    const x = tf.tensor(values, [n, h, w, c]);
    const out = tf.zeros([n, c]);
    const heap = (t: tf.Tensor) =>
      (tf.backend() as unknown as { dataIdMap: { get(d: object): { memoryOffset: number } } }).dataIdMap.get(t.dataId).memoryOffset;
    nativeKernels(tf.backend())!.spatial_mean(heap(x), heap(out), n, h * w, c);
    const want = new Float64Array(n * c);
    for (let b = 0; b < n; b++)
      for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) want[b * c + k] += values[(b * h * w + p) * c + k]! / (h * w);
    const got = out.dataSync();
    expectClose(got, want, 1e-6);
    const backend = tf.mean(x, [1, 2]);
    expectClose(got, backend.dataSync(), 1e-6);
    tf.dispose([x, out, backend]);
  });
});

describe('FusedBatchNorm', () => {
  const shapes: number[][] = [
    [2, 5, 7, 3],
    [1, 4, 4, 16],
    [3, 2, 3, 17],
    [1, 1, 1, 1],
    [6, 5],
    [2, 3, 4, 2, 9],
  ];
  for (const [k, shape] of shapes.entries()) {
    for (const variant of ['full', 'no offset/scale', 'scalar parameters'] as const) {
      test(`${JSON.stringify(shape)} ${variant}`, async () => {
        const c = shape[shape.length - 1]!;
        const pc = variant === 'scalar parameters' ? 1 : c;
        const param = (seed: number, lo: number, hi: number) => ({ values: randArray(pc, seed, lo, hi), shape: [pc] });
        const inputs = {
          x: {
            values: randArray(
              shape.reduce((a, b) => a * b, 1),
              40 + k,
              -3,
              3,
            ),
            shape,
          },
          mean: param(50 + k, -1, 1),
          variance: param(60 + k, 0.1, 2),
          offset: variant === 'no offset/scale' ? undefined : param(70 + k, -1, 1),
          scale: variant === 'no offset/scale' ? undefined : param(80 + k, -2, 2),
        };
        const attrs = { varianceEpsilon: 1e-3 };
        const got = await runKernel('wasm', 'FusedBatchNorm', inputs, attrs);
        expect(got.shape).toEqual(shape);
        expectClose(got.data, (await runKernel('cpu', 'FusedBatchNorm', inputs, attrs)).data, 1e-6);
        setNativeKernelsEnabled(false);
        // The wasm backend's own kernel rounds differently in the last bit (its build's float math).
        expectClose(got.data, (await runKernel('wasm', 'FusedBatchNorm', inputs, attrs)).data, 1e-6);
      });
    }
  }
});

describe('channel scale (BatchNorm input gradient)', () => {
  test('(x · a) · b in one pass equals the two multiplications bit for bit', async () => {
    await initBackend('wasm');
    for (const shape of [
      [2, 3, 5, 7],
      [1, 2, 2, 16],
      [4, 1],
    ]) {
      const c = shape[shape.length - 1]!;
      const x = tf.tensor(
        randArray(
          shape.reduce((p, d) => p * d, 1),
          5,
          -4,
          4,
        ),
        shape,
      );
      const a = tf.tensor(randArray(c, 6, 0.1, 3), [c]);
      const b = tf.tensor(randArray(c, 7, -2, 2), [c]);
      const fused = channelScale2(x, a, b);
      expect(fused).not.toBeNull();
      const twice = tf.mul(tf.mul(x, a), b);
      expect(Buffer.from((await fused!.data()).buffer).equals(Buffer.from((await twice.data()).buffer))).toBe(true);
      tf.dispose([x, a, b, fused!, twice]);
    }
  });

  test('is not offered on the cpu backend', async () => {
    await initBackend('cpu');
    const x = tf.ones([2, 3]);
    expect(channelScale2(x, tf.ones([3]), tf.ones([3]))).toBeNull();
    await initBackend('wasm');
  });
});

describe('Slice and PadV2 on the wasm heap', () => {
  const x = { values: randArray(2 * 5 * 4 * 3, 9), shape: [2, 5, 4, 3] };
  for (const [begin, size] of [
    [
      [0, 0, 0, 0],
      [2, 5, 4, 3],
    ],
    [
      [1, 0, 0, 0],
      [1, 5, 4, 3],
    ],
    [
      [0, 2, 0, 0],
      [2, 3, 4, 3],
    ],
    [
      [1, 1, 1, 1],
      [1, 3, 2, 2],
    ],
    [
      [0, 0, 0, 0],
      [2, 4, 4, 3],
    ],
  ]) {
    test(`Slice begin ${begin} size ${size}`, async () => {
      const want = await runKernel('cpu', 'Slice', { x }, { begin, size });
      const got = await runKernel('wasm', 'Slice', { x }, { begin, size });
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.data)).toEqual(Array.from(want.data));
    });
  }

  test('PadV2: by zero shares the data; constant padding of any axis', async () => {
    const none = [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ];
    const some = [
      [0, 0],
      [1, 0],
      [0, 2],
      [0, 0],
    ];
    const front = [
      [2, 0],
      [0, 0],
      [0, 0],
      [1, 1],
    ];
    const middle = [
      [0, 0],
      [0, 3],
      [0, 0],
      [0, 0],
    ];
    for (const paddings of [none, some, front, middle]) {
      const want = await runKernel('cpu', 'PadV2', { x }, { paddings, constantValue: paddings === front ? -2.5 : 0 });
      const got = await runKernel('wasm', 'PadV2', { x }, { paddings, constantValue: paddings === front ? -2.5 : 0 });
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.data)).toEqual(Array.from(want.data));
    }
  });
});

describe('fused BatchNorm → ReLU (→ clip) input gradient', () => {
  type Build = (inp: tfl.SymbolicTensor) => tfl.SymbolicTensor;
  const conv = (filters: number) => tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false });
  const bn = () => tfl.layers.batchNormalization();
  const chain =
    (layers: tfl.layers.Layer[]): Build =>
    (inp) =>
      layers.reduce((y, l) => l.apply(y) as tfl.SymbolicTensor, inp);

  /** Gradient of sum(model(x) · mask) wrt x on `backend`, with the fused chain on or off; counts fused calls. */
  async function gradient(model: tfl.LayersModel, backend: 'cpu' | 'wasm', fusion: boolean) {
    await initBackend(backend);
    setActivationFusionEnabled(fusion);
    const shape = [2, ...(model.inputs[0]!.shape.slice(1) as number[])];
    const x = tf.tensor(
      randArray(
        shape.reduce((a, b) => a * b, 1),
        3,
        -2,
        2,
      ),
      shape,
    );
    const before = tf.memory().numTensors;
    const info = await tf.profile(() =>
      withInputGradientsOnly(() =>
        tf.grad((inp: tf.Tensor) => {
          const y = model.apply(inp, { training: false }) as tf.Tensor;
          return tf.sum(tf.mul(y, tf.tensor(randArray(y.size, 4), y.shape)));
        })(x),
      ),
    );
    const g = info.result as tf.Tensor;
    const data = (await g.data()) as Float32Array;
    tf.dispose([g, x]);
    expect(tf.memory().numTensors).toBe(before - 1);
    setActivationFusionEnabled(true);
    return { data, fused: info.kernels.filter((k) => k.name === 'PathLensActivationBatchNormGrad').length };
  }

  function model(build: Build): tfl.LayersModel {
    const inp = tfl.input({ shape: [7, 6, 5] });
    const m = tfl.model({ inputs: inp, outputs: build(inp) });
    // Non-trivial BatchNorm statistics (fresh layers have mean 0, variance 1).
    const values = m.weights.map((w, i) =>
      tf.tensor(
        randArray(
          w.shape.reduce((a: number, b) => a * b!, 1),
          50 + i,
          /variance/.test(w.name) ? 0.3 : -1,
          1.5,
        ),
        w.shape as number[],
      ),
    );
    m.setWeights(values);
    tf.dispose(values);
    return m;
  }

  const relu6 = () => tfl.layers.reLU({ maxValue: 6 });
  const cases: [string, Build, number][] = [
    ['conv → BN → ReLU(6) twice', chain([conv(8), bn(), relu6(), conv(4), bn(), relu6()]), 2],
    ['conv → BN → ReLU', chain([conv(6), bn(), tfl.layers.reLU()]), 1],
    [
      'depthwise → BN → ReLU(6), 17 channels',
      chain([
        conv(17),
        bn(),
        relu6(),
        tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', useBias: false }),
        bn(),
        relu6(),
      ]),
      2,
    ],
    [
      'BatchNorm output also used elsewhere: not fused',
      (inp) => {
        const b = chain([conv(4), bn()])(inp);
        return tfl.layers.add().apply([b, relu6().apply(b) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
      },
      0,
    ],
    [
      'ReLU output also used elsewhere: clip not fused, ReLU is',
      (inp) => {
        const r = chain([conv(4), bn(), tfl.layers.reLU()])(inp);
        const c = tfl.layers.activation({ activation: 'linear' }).apply(r) as tfl.SymbolicTensor;
        return tfl.layers.concatenate().apply([r, tfl.layers.reLU({ maxValue: 1 }).apply(c) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
      },
      1,
    ],
  ];
  for (const [name, build, expectedFused] of cases) {
    test(name, async () => {
      await initBackend('cpu');
      const m = model(build);
      const cpu = await gradient(m, 'cpu', true);
      const fused = await gradient(m, 'wasm', true);
      const unfused = await gradient(m, 'wasm', false);
      expect(fused.fused).toBe(expectedFused);
      expect(unfused.fused).toBe(0);
      expect(Buffer.from(fused.data.buffer).equals(Buffer.from(unfused.data.buffer))).toBe(true);
      expectClose(fused.data, cpu.data, 1e-4);
      await initBackend('cpu');
      m.dispose();
    });
  }

  test('not fused when a BatchNorm parameter is differentiated too', async () => {
    await initBackend('wasm');
    const x = tf.tensor(randArray(2 * 4 * 4 * 3, 8, -2, 2), [2, 4, 4, 3]);
    const [mean, variance, offset] = [tf.tensor(randArray(3, 9)), tf.tensor(randArray(3, 10, 0.5, 2)), tf.tensor(randArray(3, 11))];
    const f = (inp: tf.Tensor, scale: tf.Tensor) => tf.sum(tf.clipByValue(tf.relu(tf.batchNorm(inp, mean, variance, offset, scale)), 0, 1));
    const scale = tf.tensor(randArray(3, 12));
    const run = async (fusion: boolean) => {
      setActivationFusionEnabled(fusion);
      const info = await tf.profile(() => withInputGradientsOnly(() => tf.grads(f)([x, scale])));
      const grads = info.result as tf.Tensor[];
      const out = await Promise.all(grads.map((g) => g.data()));
      tf.dispose(grads);
      return { out, fused: info.kernels.filter((k) => k.name === 'PathLensActivationBatchNormGrad').length };
    };
    const on = await run(true);
    const off = await run(false);
    setActivationFusionEnabled(true);
    expect(on.fused).toBe(0);
    on.out.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(off.out[i]!)));
    tf.dispose([x, mean, variance, offset, scale]);
  });
});
