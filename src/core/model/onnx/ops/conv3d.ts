/**
 * 3-D Conv, MaxPool and AveragePool on rank-5 NCDHW inputs (torchvision's video models: r3d_18, mc3_18,
 * r2plus1d_18, s3d). TF.js runs them NDHWC with `valid` padding after an explicit pad (its 3-D ops
 * know only `same` / `valid`); grouped convolutions run per group; dilations are refused (TF.js has
 * no 3-D gradient for them, and no torchvision model uses them).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ceilExtra, spatialWindow, type WindowN } from './conv';
import { required, type OpContext, type OpInputs } from './registry';

type Pads5 = [[number, number], [number, number], [number, number], [number, number], [number, number]];
type Triple = [number, number, number];

const toNdhwc = (x: tf.Tensor5D) => tf.transpose(x, [0, 2, 3, 4, 1]) as tf.Tensor5D;
const toNcdhw = (x: tf.Tensor5D) => tf.transpose(x, [0, 4, 1, 2, 3]);

function window3(ctx: OpContext, x: tf.Tensor, kernel: number[]): WindowN {
  const win = spatialWindow(ctx, x.shape.slice(2), kernel);
  if (win.dilations.some((d) => d !== 1)) ctx.attrs.unsupported('3-D convolution or pooling with dilations');
  return win;
}

const padding5 = (pads: [number, number][], extra: number[] = [0, 0, 0]): Pads5 =>
  [[0, 0], ...pads.map(([b, e], d): [number, number] => [b, e + extra[d]!]), [0, 0]] as Pads5;

/**
 * Conv over three spatial axes as a sum over the depth taps of 2-D convolutions of the depth slices
 * each tap reads: the wasm Conv3DBackpropInputV2 kernel returns zeros, while the 2-D path's gradients
 * are PathLens' own and tested. Filter [O, I/g, kd, kh, kw] → per tap TF.js [kh, kw, I/g, O].
 */
export function conv3d(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx) as tf.Tensor5D;
  const w = required(inputs, 1, ctx);
  const group = ctx.attrs.int('group', 1);
  const win = window3(ctx, x, w.shape.slice(2));
  const padded = tf.pad(toNdhwc(x), padding5(win.pads));
  const [n, depth, , , channels] = padded.shape;
  const outDepth = Math.floor((depth - win.kernel[0]!) / win.strides[0]!) + 1;
  let sum: tf.Tensor4D | null = null;
  for (let t = 0; t < win.kernel[0]!; t++) {
    const filter = ctx.cached(`filter3d-${t}`, [w], () => tf.transpose(tf.squeeze(tf.gather(w, [t], 2), [2]), [2, 3, 1, 0])) as tf.Tensor4D;
    const indices = Array.from({ length: outDepth }, (_, o) => o * win.strides[0]! + t);
    const slices = tf.gather(padded, tf.tensor1d(indices, 'int32'), 1);
    const [h, wd] = padded.shape.slice(2, 4) as [number, number];
    const planes = tf.reshape(slices, [n * outDepth, h, wd, channels]) as tf.Tensor4D;
    const y = groupedConv2d(planes, filter, group, channels, [win.strides[1]!, win.strides[2]!]);
    sum = sum ? (tf.add(sum, y) as tf.Tensor4D) : y;
  }
  const [, outH, outW, outC] = sum!.shape;
  let y = tf.reshape(sum!, [n, outDepth, outH, outW, outC]) as tf.Tensor5D;
  if (inputs[2]) y = tf.add(y, inputs[2]);
  return toNcdhw(y);
}

function groupedConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, group: number, channels: number, strides: [number, number]): tf.Tensor4D {
  if (group === 1) return tf.conv2d(x, filter, strides, 'valid');
  if (group === channels && filter.shape[2] === 1) {
    // Depthwise: [kh, kw, 1, C·m] → [kh, kw, C, m].
    const depthwise = tf.reshape(filter, [filter.shape[0], filter.shape[1], channels, -1]) as tf.Tensor4D;
    return tf.depthwiseConv2d(x, depthwise, strides, 'valid');
  }
  const xs = tf.split(x, group, 3) as tf.Tensor4D[];
  const fs = tf.split(filter, group, 3) as tf.Tensor4D[];
  return tf.concat(
    xs.map((xg, g) => tf.conv2d(xg, fs[g]!, strides, 'valid')),
    3,
  );
}

function poolWindow(inputs: OpInputs, ctx: OpContext): { x: tf.Tensor5D; win: WindowN; padding: Pads5 } {
  const x = required(inputs, 0, ctx) as tf.Tensor5D;
  const win = window3(ctx, x, ctx.attrs.ints('kernel_shape') ?? [1, 1, 1]);
  const ceil = ctx.attrs.int('ceil_mode', 0) === 1;
  const extra = [0, 1, 2].map((d) => (ceil ? ceilExtra(x.shape[d + 2]!, win, d) : 0));
  return { x: toNdhwc(x), win, padding: padding5(win.pads, extra) };
}

/**
 * Max over 3-D windows as a 2-D max pool per depth slice, then the maximum over each depth window's
 * slices: the wasm MaxPool3D kernel starts its maximum at FLT_MIN (windows of values ≤ 0 give 1e-38).
 * Pads never win (padded with the lowest float).
 */
export function maxPool3d(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const { x, win, padding } = poolWindow(inputs, ctx);
  const padded = tf.pad(x, padding, -3.4e38);
  const [n, depth, h, w, c] = padded.shape;
  const planes = tf.maxPool(
    tf.reshape(padded, [n * depth, h, w, c]) as tf.Tensor4D,
    [win.kernel[1]!, win.kernel[2]!],
    [win.strides[1]!, win.strides[2]!],
    'valid',
  );
  const slices = tf.reshape(planes, [n, depth, ...planes.shape.slice(1)]);
  const outDepth = Math.floor((depth - win.kernel[0]!) / win.strides[0]!) + 1;
  const taps = Array.from({ length: win.kernel[0]! }, (_, t) => {
    const indices = Array.from({ length: outDepth }, (_, o) => o * win.strides[0]! + t);
    return tf.gather(slices, tf.tensor1d(indices, 'int32'), 1);
  });
  return toNcdhw(taps.reduce((a, b) => tf.maximum(a, b)) as tf.Tensor5D);
}

/** Average over 3-D windows, counting padded cells only with count_include_pad (never ceil_mode's). */
export function averagePool3d(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const { x, win, padding } = poolWindow(inputs, ctx);
  const [kernel, strides] = [win.kernel as Triple, win.strides as Triple];
  const sums = tf.avgPool3d(tf.pad(x, padding), kernel, strides, 'valid');
  const [, d, h, w] = x.shape;
  const includePad = ctx.attrs.int('count_include_pad', 0) === 1;
  const real = includePad
    ? tf.pad(
        tf.ones([
          1,
          d + win.pads[0]![0] + win.pads[0]![1],
          h + win.pads[1]![0] + win.pads[1]![1],
          w + win.pads[2]![0] + win.pads[2]![1],
          1,
        ]),
        padding.map(([, e], k) => [0, k === 0 || k === 4 ? 0 : e - win.pads[k - 1]![1]]) as Pads5,
      )
    : tf.pad(tf.ones([1, d, h, w, 1]), padding);
  const share = tf.avgPool3d(real as tf.Tensor5D, kernel, strides, 'valid');
  return toNcdhw(tf.div(sums, share) as tf.Tensor5D);
}
