/**
 * Shape and data-movement ops. Their shape arguments are constants once the graph is specialised to
 * an input shape, so Shape → Gather → Concat → Reshape chains are folded at load.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PathLensError } from '../../../errors';
import { axesOf, broadcastShape, normAxis, required, valuesOf, type OpContext, type OpInputs, type OpTable } from './registry';

const ONNX_TO_TF: Record<number, tf.DataType> = { 1: 'float32', 6: 'int32', 7: 'int32', 9: 'bool', 10: 'float32', 11: 'float32' };

function shapeOf(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const dims = required(inputs, 0, ctx).shape;
  const rank = dims.length;
  const start = normAxis(ctx.attrs.int('start', 0), rank);
  const end = ctx.attrs.has('end') ? normAxis(ctx.attrs.int('end', rank), rank) : rank;
  return tf.tensor1d(dims.slice(Math.max(0, start), Math.min(rank, end)), 'int32');
}

function gather(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx);
  const indices = required(inputs, 1, ctx);
  const axis = normAxis(ctx.attrs.int('axis', 0), x.rank);
  const index = tf.cast(indices, 'int32');
  // Negative indices count from the end. Both branches of `where` must be int32: adding a JS number
  // would promote to float32, and the wasm Select kernel copies raw bytes (an int32 2 read as 3e-45).
  const wrapped = tf.where(tf.less(index, 0), tf.add(index, tf.scalar(x.shape[axis]!, 'int32')), index);
  const picked = tf.gather(x, tf.reshape(wrapped, [-1]), axis);
  return tf.reshape(picked, [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)]);
}

function reshape(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx);
  const target = valuesOf(inputs[1]) ?? ctx.attrs.ints('shape') ?? [];
  const allowZero = ctx.attrs.int('allowzero', 0) === 1;
  return tf.reshape(
    x,
    target.map((d, i) => (d === 0 && !allowZero ? x.shape[i]! : d)),
  );
}

function flatten(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx);
  const axis = normAxis(ctx.attrs.int('axis', 1), x.rank);
  const rows = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  return tf.reshape(x, [rows, -1]);
}

function squeeze(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx);
  const axes = axesOf(inputs, ctx, 13);
  return axes && axes.length
    ? tf.squeeze(
        x,
        axes.map((a) => normAxis(a, x.rank)),
      )
    : tf.squeeze(x);
}

function unsqueeze(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx);
  const axes = axesOf(inputs, ctx, 13) ?? [];
  const rank = x.rank + axes.length;
  const inserted = new Set(axes.map((a) => normAxis(a, rank)));
  const dims: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) dims.push(inserted.has(i) ? 1 : x.shape[next++]!);
  return tf.reshape(x, dims);
}

function slice(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx);
  const fromInputs = ctx.opset >= 10;
  const starts = (fromInputs ? valuesOf(inputs[1]) : ctx.attrs.ints('starts')) ?? [];
  const ends = (fromInputs ? valuesOf(inputs[2]) : ctx.attrs.ints('ends')) ?? [];
  const axes = (fromInputs ? valuesOf(inputs[3]) : ctx.attrs.ints('axes')) ?? starts.map((_, i) => i);
  const steps = (fromInputs ? valuesOf(inputs[4]) : null) ?? starts.map(() => 1);
  const begin = new Array(x.rank).fill(0);
  const end = [...x.shape];
  const stride = new Array(x.rank).fill(1);
  axes.forEach((a, i) => {
    const axis = normAxis(a, x.rank);
    const size = x.shape[axis]!;
    const step = steps[i]!;
    const clampIndex = (v: number) => {
      const w = v < 0 ? v + size : v;
      return step > 0 ? Math.min(Math.max(w, 0), size) : Math.min(Math.max(w, -1), size - 1);
    };
    begin[axis] = clampIndex(starts[i]!);
    end[axis] = clampIndex(ends[i]!);
    stride[axis] = step;
  });
  if (stride.every((s) => s === 1)) {
    return tf.slice(
      x,
      begin,
      end.map((e, i) => Math.max(0, e - begin[i])),
    );
  }
  // Strided slices as gathers: TF.js's StridedSlice has no gradient.
  return axes.reduce((t, a) => {
    const axis = normAxis(a, x.rank);
    const picks: number[] = [];
    for (let i = begin[axis]; stride[axis] > 0 ? i < end[axis] : i > end[axis]; i += stride[axis]) picks.push(i);
    return gatherAxis(t, picks, axis);
  }, x);
}

/** x's entries at `indices` along `axis` (differentiable: Gather's gradient). */
function gatherAxis(x: tf.Tensor, indices: number[], axis: number): tf.Tensor {
  return tf.gather(x, tf.tensor1d(indices, 'int32'), axis);
}

function split(inputs: OpInputs, ctx: OpContext): tf.Tensor[] {
  const x = required(inputs, 0, ctx);
  const axis = normAxis(ctx.attrs.int('axis', 0), x.rank);
  const sizes = (ctx.opset >= 13 ? valuesOf(inputs[1]) : ctx.attrs.ints('split')) ?? null;
  if (sizes && sizes.length) return tf.split(x, sizes, axis);
  const parts = ctx.attrs.int('num_outputs', ctx.attrs.node.output?.length ?? 1);
  const size = x.shape[axis]!;
  const chunk = Math.ceil(size / parts);
  const even = new Array(parts).fill(chunk).map((c, i) => Math.min(c, size - i * chunk));
  return tf.split(x, even, axis);
}

function expand(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx);
  const shape = broadcastShape(x.shape, valuesOf(inputs[1]) ?? []);
  return tf.broadcastTo(x, shape);
}

function constantOfShape(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const dims = valuesOf(inputs[0]) ?? [];
  const value = ctx.tensorAttr('value');
  const scalar = value ? tf.reshape(value, []) : tf.scalar(0);
  return tf.fill(dims, scalar.dataSync()[0]!, scalar.dtype);
}

function cast(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const to = ctx.attrs.int('to', 1);
  const dtype = ONNX_TO_TF[to];
  if (!dtype) ctx.attrs.unsupported(`Cast to element type ${to}`);
  return tf.cast(required(inputs, 0, ctx), dtype);
}

function pad(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx);
  const pads = (ctx.opset >= 11 ? valuesOf(inputs[1]) : ctx.attrs.ints('pads')) ?? [];
  const value = ctx.opset >= 11 ? (valuesOf(inputs[2])?.[0] ?? 0) : ctx.attrs.float('value', 0);
  const axes = (ctx.opset >= 18 ? valuesOf(inputs[3]) : null)?.map((a) => normAxis(a, x.rank)) ?? [...Array(x.rank).keys()];
  const paddings = x.shape.map((): [number, number] => [0, 0]);
  axes.forEach((a, i) => (paddings[a] = [pads[i]!, pads[i + axes.length]!]));
  if (paddings.some(([b, e]) => b < 0 || e < 0)) ctx.attrs.unsupported('negative pads');
  const mode = ctx.attrs.string('mode', 'constant');
  if (mode === 'constant') return tf.pad(x, paddings, value);
  if (mode === 'reflect' || mode === 'edge') return indexPad(x, paddings, mode);
  return ctx.attrs.unsupported(`Pad mode '${mode}'`);
}

/**
 * Reflect / edge padding as one gather per padded axis (differentiable; TF.js's MirrorPad gradient
 * disagrees with finite differences and it has no edge mode).
 */
function indexPad(x: tf.Tensor, paddings: [number, number][], mode: 'reflect' | 'edge'): tf.Tensor {
  return paddings.reduce((t, [before, after], axis) => {
    if (before === 0 && after === 0) return t;
    const size = t.shape[axis]!;
    const source = (i: number): number => {
      if (mode === 'edge') return Math.min(Math.max(i, 0), size - 1);
      const period = 2 * (size - 1);
      const m = (((i % period) + period) % period) | 0;
      return m < size ? m : period - m;
    };
    const indices = Array.from({ length: before + size + after }, (_, k) => source(k - before));
    return gatherAxis(t, indices, axis);
  }, x);
}

function range(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const [start, limit, delta] = [0, 1, 2].map((i) => valuesOf(required(inputs, i, ctx))![0]!);
  return tf.range(start!, limit!, delta!, required(inputs, 0, ctx).dtype as 'float32' | 'int32');
}

function concat(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const parts = inputs.filter((t): t is tf.Tensor => !!t);
  const axis = normAxis(ctx.attrs.int('axis', 0), parts[0]!.rank);
  const nonEmpty = parts.filter((t) => t.size > 0);
  if (nonEmpty.length === 0) return parts[0]!;
  return tf.concat(nonEmpty, axis);
}

export const SHAPE_OPS: OpTable = {
  Shape: shapeOf,
  Size: (inputs, ctx) => tf.scalar(required(inputs, 0, ctx).size, 'int32'),
  Gather: gather,
  Concat: concat,
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: (inputs, ctx) => {
    const x = required(inputs, 0, ctx);
    return tf.transpose(x, ctx.attrs.ints('perm') ?? undefined);
  },
  Slice: slice,
  Split: split,
  Expand: expand,
  Tile: (inputs, ctx) => tf.tile(required(inputs, 0, ctx), valuesOf(inputs[1]) ?? []),
  ConstantOfShape: constantOfShape,
  Constant: (_inputs, ctx) => {
    const value = ctx.tensorAttr('value');
    if (value) return value;
    if (ctx.attrs.has('value_float')) return tf.scalar(ctx.attrs.float('value_float', 0));
    if (ctx.attrs.has('value_floats')) return tf.tensor1d(ctx.attrs.floats('value_floats')!);
    if (ctx.attrs.has('value_int')) return tf.scalar(ctx.attrs.int('value_int', 0), 'int32');
    if (ctx.attrs.has('value_ints')) return tf.tensor1d(ctx.attrs.ints('value_ints')!, 'int32');
    throw new PathLensError('model-unsupported', `ONNX Constant '${ctx.name}' has no value PathLens can read (sparse or string)`);
  },
  Cast: cast,
  Pad: pad,
  Range: range,
};
