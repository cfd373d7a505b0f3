/**
 * Conv and pooling. ONNX is NCHW; TF.js convolutions run NHWC on the cpu and wasm backends, so each
 * op transposes its input to NHWC and its output back (two transposes per conv/pool: correctness
 * first; the cost is in the bench). 1-D ops run as 2-D with a height of one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { averagePool3d, conv3d, maxPool3d } from './conv3d';
import { required, type OpContext, type OpInputs, type OpTable } from './registry';

type Pads2 = [[number, number], [number, number]];

interface Window2 {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pads: Pads2;
}

const toNhwc = (x: tf.Tensor4D) => tf.transpose(x, [0, 2, 3, 1]);
const toNchw = (x: tf.Tensor4D) => tf.transpose(x, [0, 3, 1, 2]);

/** Rank-3 (N, C, L) inputs run as (N, C, 1, L); `restore` undoes it. */
function as2d(x: tf.Tensor, ctx: OpContext): { x4: tf.Tensor4D; restore: (y: tf.Tensor4D) => tf.Tensor } {
  if (x.rank === 4) return { x4: x as tf.Tensor4D, restore: (y) => y };
  if (x.rank === 3) return { x4: tf.expandDims(x, 2) as tf.Tensor4D, restore: (y) => tf.squeeze(y, [2]) };
  return ctx.attrs.unsupported(`a rank-${x.rank} input (only 1-D and 2-D ${ctx.attrs.node.opType})`);
}

function pair(values: number[] | null, fallback: number, spatial: number): [number, number] {
  const v = values ?? new Array(spatial).fill(fallback);
  return spatial === 1 ? [1, v[0]!] : [v[0]!, v[1]!];
}

/** A pooling or convolution window over n spatial axes. */
export interface WindowN {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin, end] per spatial axis. */
  pads: [number, number][];
}

/** Explicit pads from `pads` or `auto_pad` (SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the start). */
export function spatialWindow(ctx: OpContext, inSize: number[], kernel: number[]): WindowN {
  const n = inSize.length;
  const strides = ctx.attrs.ints('strides') ?? new Array<number>(n).fill(1);
  const dilations = ctx.attrs.ints('dilations') ?? new Array<number>(n).fill(1);
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  let pads: [number, number][];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = inSize.map((size, d) => {
      const out = Math.ceil(size / strides[d]!);
      const total = Math.max(0, (out - 1) * strides[d]! + (kernel[d]! - 1) * dilations[d]! + 1 - size);
      const small = Math.floor(total / 2);
      return autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
    });
  } else {
    const p = ctx.attrs.ints('pads') ?? new Array<number>(2 * n).fill(0);
    pads = inSize.map((_, d) => [p[d]!, p[d + n]!]);
  }
  return { kernel, strides, dilations, pads };
}

/** The 2-D window (1-D ops as height one). */
function windowOf(ctx: OpContext, inSize: [number, number], kernel: [number, number], spatial: number): Window2 {
  const w = spatial === 1 ? spatialWindow(ctx, [inSize[1]], [kernel[1]]) : spatialWindow(ctx, inSize, kernel);
  const two = <T>(values: T[], one: T): [T, T] => (spatial === 1 ? [one, values[0]!] : [values[0]!, values[1]!]);
  return { kernel, strides: two(w.strides, 1), dilations: two(w.dilations, 1), pads: two(w.pads, [0, 0]) };
}

/** Filter [O, I/g, kh, kw] → TF.js [kh, kw, I/g, O] (or depthwise [kh, kw, C, multiplier]). */
function tfFilter(w: tf.Tensor, depthwise: boolean, channels: number): tf.Tensor4D {
  const w4 = (w.rank === 3 ? tf.expandDims(w, 2) : w) as tf.Tensor4D;
  if (!depthwise) return tf.transpose(w4, [2, 3, 1, 0]);
  const [o, , kh, kw] = w4.shape;
  return tf.transpose(tf.reshape(w4, [channels, o / channels, kh, kw]), [2, 3, 0, 1]);
}

/**
 * A dilated filter as an ordinary one with zeros between the taps: TF.js's conv2d has no gradient for
 * dilations > 1.
 */
function dilateFilter(filter: tf.Tensor4D, [dh, dw]: [number, number]): tf.Tensor4D {
  if (dh === 1 && dw === 1) return filter;
  const [kh, kw, i, o] = filter.shape;
  const [h, w] = [(kh - 1) * dh + 1, (kw - 1) * dw + 1];
  const source = filter.dataSync();
  const out = new Float32Array(h * w * i * o);
  const plane = i * o;
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) out.set(source.subarray((y * kw + x) * plane, (y * kw + x + 1) * plane), (y * dh * w + x * dw) * plane);
  }
  return tf.tensor4d(out, [h, w, i, o]);
}

function conv(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const { x4, restore } = as2d(required(inputs, 0, ctx), ctx);
  const w = required(inputs, 1, ctx);
  const spatial = w.rank - 2;
  const group = ctx.attrs.int('group', 1);
  const channels = x4.shape[1];
  const depthwise = group > 1 && group === channels && w.shape[1] === 1;
  const filter = ctx.cached('filter', [w], () =>
    dilateFilter(tfFilter(w, depthwise, channels), pair(ctx.attrs.ints('dilations'), 1, spatial)),
  ) as tf.Tensor4D;
  const kernel = pair(w.shape.slice(2), 1, spatial);
  const win = { ...windowOf(ctx, [x4.shape[2], x4.shape[3]], kernel, spatial), dilations: [1, 1] as [number, number] };
  const pad = [[0, 0], ...win.pads, [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
  const x = toNhwc(x4);
  let y: tf.Tensor4D;
  if (depthwise) y = tf.depthwiseConv2d(x, filter as tf.Tensor4D, win.strides, pad, 'NHWC', win.dilations);
  else if (group === 1) y = tf.conv2d(x, filter, win.strides, pad, 'NHWC', win.dilations);
  else {
    const xs = tf.split(x, group, 3);
    const fs = tf.split(filter, group, 3);
    y = tf.concat(
      xs.map((xg, g) => tf.conv2d(xg as tf.Tensor4D, fs[g] as tf.Tensor4D, win.strides, pad, 'NHWC', win.dilations)),
      3,
    );
  }
  if (inputs[2]) y = tf.add(y, inputs[2]);
  return restore(toNchw(y));
}

/** Extra end padding so the last window of ceil_mode fits (windows starting in the padded input). */
export function ceilExtra(size: number, win: WindowN, d: number): number {
  const padded = size + win.pads[d][0] + win.pads[d][1];
  const span = (win.kernel[d] - 1) * win.dilations[d] + 1;
  const floorOut = Math.floor((padded - span) / win.strides[d]) + 1;
  let out = Math.ceil((padded - span) / win.strides[d]) + 1;
  if ((out - 1) * win.strides[d] >= size + win.pads[d][0]) out--; // the last window must start inside
  return Math.max(0, (out - floorOut) * win.strides[d]);
}

interface PoolSetup {
  x: tf.Tensor4D;
  win: Window2;
  padding: [[number, number], [number, number], [number, number], [number, number]];
  restore: (y: tf.Tensor4D) => tf.Tensor;
}

function poolSetup(inputs: OpInputs, ctx: OpContext): PoolSetup {
  const { x4, restore } = as2d(required(inputs, 0, ctx), ctx);
  const spatial = x4.rank === 4 && required(inputs, 0, ctx).rank === 3 ? 1 : 2;
  const kernel = pair(ctx.attrs.ints('kernel_shape'), 1, spatial);
  const win = windowOf(ctx, [x4.shape[2], x4.shape[3]], kernel, spatial);
  if (win.dilations.some((d) => d !== 1)) ctx.attrs.unsupported('pooling with dilations');
  const ceil = ctx.attrs.int('ceil_mode', 0) === 1;
  const extra = ceil ? [ceilExtra(x4.shape[2], win, 0), ceilExtra(x4.shape[3], win, 1)] : [0, 0];
  const padding = [
    [0, 0],
    [win.pads[0][0], win.pads[0][1] + extra[0]!],
    [win.pads[1][0], win.pads[1][1] + extra[1]!],
    [0, 0],
  ] as PoolSetup['padding'];
  return { x: toNhwc(x4), win, padding, restore: (y) => restore(toNchw(y)) };
}

/** Max over windows; pads never win (padded with the lowest float). */
function maxPool(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  if (ctx.attrs.int('storage_order', 0) !== 0) ctx.attrs.unsupported('storage_order=1');
  const { x, win, padding, restore } = poolSetup(inputs, ctx);
  // Integer inputs pool as float32 (exact below 2^24): the wasm MaxPool kernel takes float32 only.
  const padded = tf.pad(x.dtype === 'float32' ? x : tf.cast(x, 'float32'), padding, -3.4e38);
  const y = restore(tf.maxPool(padded as tf.Tensor4D, win.kernel, win.strides, 'valid'));
  return y.dtype === x.dtype ? y : tf.cast(y, x.dtype);
}

/**
 * Average over windows, dividing by the count of real (count_include_pad=0) or real-and-padded
 * (count_include_pad=1) elements; ceil_mode's extra cells never count. Zero padding and a `valid`
 * pool keep every backend's own padding rule out of it.
 */
function averagePool(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const { x, win, padding, restore } = poolSetup(inputs, ctx);
  const includePad = ctx.attrs.int('count_include_pad', 0) === 1;
  const sums = tf.avgPool(tf.pad(x, padding), win.kernel, win.strides, 'valid');
  const [, h, w] = x.shape;
  const counted = includePad
    ? tf.pad(tf.ones([1, h + win.pads[0][0] + win.pads[0][1], w + win.pads[1][0] + win.pads[1][1], 1]), [
        [0, 0],
        [0, padding[1][1] - win.pads[0][1]],
        [0, padding[2][1] - win.pads[1][1]],
        [0, 0],
      ])
    : tf.pad(tf.ones([1, h, w, 1]), padding);
  const share = tf.avgPool(counted as tf.Tensor4D, win.kernel, win.strides, 'valid');
  return restore(tf.div(sums, share));
}

const isRank5 = (inputs: OpInputs) => inputs[0]?.rank === 5;

export const CONV_OPS: OpTable = {
  Conv: (inputs, ctx) => (isRank5(inputs) ? conv3d(inputs, ctx) : conv(inputs, ctx)),
  MaxPool: (inputs, ctx) => (isRank5(inputs) ? maxPool3d(inputs, ctx) : maxPool(inputs, ctx)),
  AveragePool: (inputs, ctx) => (isRank5(inputs) ? averagePool3d(inputs, ctx) : averagePool(inputs, ctx)),
  GlobalAveragePool: (inputs, ctx) => {
    const x = required(inputs, 0, ctx);
    return tf.mean(
      x,
      [...Array(x.rank - 2).keys()].map((i) => i + 2),
      true,
    );
  },
  GlobalMaxPool: (inputs, ctx) => {
    const x = required(inputs, 0, ctx);
    return tf.max(
      x,
      [...Array(x.rank - 2).keys()].map((i) => i + 2),
      true,
    );
  },
};
