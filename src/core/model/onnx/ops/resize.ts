/**
 * Resize (opsets 10–19) and the deprecated Upsample, as one separable interpolation per resized axis:
 * the source taps and weights of every output position are computed on the host (they depend only on
 * shapes and attributes), then each axis is a few Gathers times constant weights. Gather's gradient
 * makes the op differentiable on every backend, for every coordinate transformation and nearest mode,
 * which TF.js's resizeBilinear / resizeNearestNeighbor (two modes, NHWC only) could not give.
 * Semantics follow ONNX's reference implementation: taps outside the input take the edge value
 * (or drop out and the rest renormalise with exclude_outside), tf_crop_and_resize writes the
 * extrapolation value where the source coordinate leaves the input, axes apply innermost first.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normAxis, required, valuesOf, type OpContext, type OpInputs, type OpTable } from './registry';

/** Taps of one axis: for each tap, the source index and weight of every output position. */
interface AxisTaps {
  indices: Int32Array[];
  weights: Float32Array[];
  /** 1 where the source coordinate lies inside the input (tf_crop_and_resize), else null. */
  inside: Float32Array | null;
}

interface AxisPlan {
  inSize: number;
  outSize: number;
  /** The scale the coordinate transformation divides by: given, or outSize / inSize from sizes. */
  scale: number;
  roi: [number, number];
}

interface ResizeAttrs {
  mode: string;
  transform: string;
  nearestMode: string;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
}

/** The source coordinate of output position x (ONNX's coordinate_transformation_mode). */
function sourceCoordinate(x: number, axis: AxisPlan, transform: string): number {
  const { inSize, scale, roi } = axis;
  // As ONNX's reference, align_corners and crop use the real-valued output length scale · in.
  const outLength = scale * inSize;
  switch (transform) {
    case 'half_pixel':
      return (x + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      return axis.outSize > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outLength === 1 ? 0 : (x * (inSize - 1)) / (outLength - 1);
    case 'asymmetric':
      return x / scale;
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / scale;
    case 'tf_crop_and_resize': {
      const span = (roi[1] - roi[0]) * (inSize - 1);
      return roi[0] * (inSize - 1) + (axis.outSize > 1 ? (x * span) / (outLength - 1) : span / 2);
    }
    case 'half_pixel_symmetric': {
      const adjustment = axis.outSize / outLength;
      const offset = (inSize / 2) * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    default:
      return NaN;
  }
}

/** Weights of the taps floor(x) + offset for the fractional part `ratio` (nearest modes, linear, cubic). */
function coefficients(ratio: number, attrs: ResizeAttrs): { offsets: number[]; weights: number[] } {
  if (attrs.mode === 'linear') return { offsets: [0, 1], weights: [1 - ratio, ratio] };
  if (attrs.mode === 'cubic') {
    const a = attrs.cubicA;
    const near = (t: number) => ((a + 2) * t - (a + 3)) * t * t + 1;
    const far = (t: number) => ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return { offsets: [-1, 0, 1, 2], weights: [far(ratio + 1), near(ratio), near(1 - ratio), far(2 - ratio)] };
  }
  const up =
    ratio === 0
      ? false
      : attrs.nearestMode === 'floor'
        ? false
        : attrs.nearestMode === 'ceil'
          ? true
          : attrs.nearestMode === 'round_prefer_ceil'
            ? ratio >= 0.5
            : ratio > 0.5;
  return { offsets: [up ? 1 : 0], weights: [1] };
}

function axisTaps(axis: AxisPlan, attrs: ResizeAttrs): AxisTaps {
  const crop = attrs.transform === 'tf_crop_and_resize';
  const taps = attrs.mode === 'cubic' ? 4 : attrs.mode === 'linear' ? 2 : 1;
  const indices = Array.from({ length: taps }, () => new Int32Array(axis.outSize));
  const weights = Array.from({ length: taps }, () => new Float32Array(axis.outSize));
  const inside = crop ? new Float32Array(axis.outSize) : null;
  const last = axis.inSize - 1;
  for (let x = 0; x < axis.outSize; x++) {
    const source = sourceCoordinate(x, axis, attrs.transform);
    const base = Math.floor(source);
    const { offsets, weights: w } = coefficients(source - base, attrs);
    if (attrs.excludeOutside) {
      offsets.forEach((o, t) => (base + o < 0 || base + o > last) && (w[t] = 0));
      const total = w.reduce((s, v) => s + v, 0);
      w.forEach((v, t) => (w[t] = v / total));
    }
    offsets.forEach((o, t) => {
      indices[t]![x] = Math.min(Math.max(base + o, 0), last);
      weights[t]![x] = w[t]!;
    });
    if (inside) inside[x] = source < 0 || source > last ? 0 : 1;
  }
  return { indices, weights, inside };
}

/** True when every output position copies the input position of the same index (a scale of 1). */
function isIdentity(taps: AxisTaps, inSize: number): boolean {
  if (taps.inside || taps.indices[0]!.length !== inSize) return false;
  for (let i = 0; i < inSize; i++) {
    let own = 0;
    for (let t = 0; t < taps.indices.length; t++) {
      const w = taps.weights[t]![i]!;
      if (taps.indices[t]![i] === i) own += w;
      else if (w !== 0) return false;
    }
    if (own !== 1) return false;
  }
  return true;
}

/** Interpolates `x` along `axis` with the taps (a weighted sum of gathers; the identity is skipped). */
function resizeAxis(x: tf.Tensor, axis: number, taps: AxisTaps, extrapolation: number): tf.Tensor {
  const out = taps.indices[0]!.length;
  if (isIdentity(taps, x.shape[axis]!)) return x;
  const along = x.shape.map((_, d) => (d === axis ? out : 1));
  let y: tf.Tensor | null = null;
  taps.indices.forEach((indices, t) => {
    const weights = taps.weights[t]!;
    if (weights.every((w) => w === 0)) return;
    const picked = tf.gather(x, tf.tensor1d(indices, 'int32'), axis);
    const term = weights.every((w) => w === 1) ? picked : tf.mul(picked, tf.tensor(weights, along));
    y = y ? tf.add(y, term) : term;
  });
  let result = y ?? tf.zeros(x.shape.map((d, k) => (k === axis ? out : d)));
  if (taps.inside) {
    const inside = tf.tensor(taps.inside, along);
    result = tf.add(tf.mul(result, inside), tf.mul(tf.sub(1, inside), extrapolation));
  }
  return result;
}

function resizeAttrs(ctx: OpContext): ResizeAttrs {
  const legacy = ctx.opset < 11 || ctx.attrs.node.opType === 'Upsample';
  const attrs: ResizeAttrs = {
    mode: ctx.attrs.string('mode', 'nearest'),
    // Before opset 11 (and Upsample): asymmetric coordinates, nearest takes the floor.
    transform: legacy ? 'asymmetric' : ctx.attrs.string('coordinate_transformation_mode', 'half_pixel'),
    nearestMode: legacy ? 'floor' : ctx.attrs.string('nearest_mode', 'round_prefer_floor'),
    cubicA: ctx.attrs.float('cubic_coeff_a', -0.75),
    excludeOutside: ctx.attrs.int('exclude_outside', 0) === 1,
    extrapolation: ctx.attrs.float('extrapolation_value', 0),
  };
  if (!['nearest', 'linear', 'cubic'].includes(attrs.mode)) ctx.attrs.unsupported(`Resize mode '${attrs.mode}'`);
  if (!['floor', 'ceil', 'round_prefer_floor', 'round_prefer_ceil'].includes(attrs.nearestMode)) {
    ctx.attrs.unsupported(`nearest_mode '${attrs.nearestMode}'`);
  }
  if (Number.isNaN(sourceCoordinate(0, { inSize: 2, outSize: 2, scale: 1, roi: [0, 1] }, attrs.transform))) {
    ctx.attrs.unsupported(`coordinate_transformation_mode '${attrs.transform}'`);
  }
  return attrs;
}

/** Per resized axis: input and output sizes, the scale and the crop region, from scales or sizes. */
function axisPlans(x: tf.Tensor, inputs: OpInputs, ctx: OpContext, attrs: ResizeAttrs): Map<number, AxisPlan> {
  const legacy = ctx.opset < 11 || ctx.attrs.node.opType === 'Upsample';
  const scales = legacy ? (valuesOf(inputs[1]) ?? ctx.attrs.floats('scales')) : valuesOf(inputs[2]);
  const sizes = legacy ? null : valuesOf(inputs[3]);
  const roi = legacy ? null : valuesOf(inputs[1]);
  const axes = (ctx.opset >= 18 ? ctx.attrs.ints('axes') : null)?.map((a) => normAxis(a, x.rank)) ?? [...Array(x.rank).keys()];
  const plans = new Map<number, AxisPlan>();
  const policy = ctx.opset >= 18 ? ctx.attrs.string('keep_aspect_ratio_policy', 'stretch') : 'stretch';
  const fromSizes = !!sizes && sizes.length > 0;
  if (!fromSizes && (!scales || scales.length !== axes.length)) ctx.attrs.unsupported('a Resize without scales or sizes for every axis');
  if (fromSizes && sizes.length !== axes.length) ctx.attrs.unsupported(`${sizes.length} sizes for ${axes.length} axes`);
  const ratios = axes.map((a, i) => (fromSizes ? sizes[i]! / x.shape[a]! : scales![i]!));
  const kept = policy === 'not_larger' ? Math.min(...ratios) : policy === 'not_smaller' ? Math.max(...ratios) : null;
  if (kept === null && policy !== 'stretch') ctx.attrs.unsupported(`keep_aspect_ratio_policy '${policy}'`);
  axes.forEach((a, i) => {
    const inSize = x.shape[a]!;
    const scale = kept ?? ratios[i]!;
    const outSize = kept !== null ? Math.round(inSize * kept) : fromSizes ? sizes[i]! : Math.floor(inSize * scale);
    const crop: [number, number] = roi && roi.length === 2 * axes.length ? [roi[i]!, roi[i + axes.length]!] : [0, 1];
    if (attrs.mode !== 'nearest' && scale < 1 && ctx.attrs.int('antialias', 0) === 1) ctx.attrs.unsupported('antialias=1 when downscaling');
    plans.set(a, { inSize, outSize, scale: fromSizes && kept === null ? outSize / inSize : scale, roi: crop });
  });
  return plans;
}

function resize(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx);
  const attrs = resizeAttrs(ctx);
  const plans = axisPlans(x, inputs, ctx, attrs);
  if (attrs.mode !== 'nearest' && x.dtype !== 'float32') ctx.attrs.unsupported(`${attrs.mode} Resize of ${x.dtype} values`);
  // Innermost axis first, as the reference recursion does (it matters only for the crop's extrapolation).
  return [...plans.keys()]
    .sort((a, b) => b - a)
    .reduce((y, axis) => resizeAxis(y, axis, axisTaps(plans.get(axis)!, attrs), attrs.extrapolation), x);
}

export const RESIZE_OPS: OpTable = { Resize: resize, Upsample: resize };
