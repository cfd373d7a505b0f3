/**
 * One streaming pass over a data set that fits a pattern for every kernel layer of a pattern network.
 * Each batch runs the ordinary forward pass; every kernel layer's input rows (Dense: the input; Conv2D:
 * input patches in kernel order, so the pattern has the kernel's shape; DepthwiseConv2D: per-channel
 * patches) are reduced on the backend to a few sums, which are added into float64 totals. Memory is
 * one batch of activations plus the sums (O(parameters)), whatever the data size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CancelledError, PathLensError } from '../errors';
import type { CancellationSignal, ProgressCallback } from '../types';
import { PatternStats, type EstimatorName, type GroupShape } from './estimators';
import type { KernelOp, PatternNetwork } from './network';

export interface FittedLayer {
  name: string;
  className: string;
  /** The kernel's shape; the pattern has the same shape and layout. */
  kernelShape: number[];
  estimator: EstimatorName;
  foldedBatchNorm: string | null;
  pattern: Float32Array;
}

export interface FittedPatterns {
  estimator: EstimatorName;
  samples: number;
  layers: FittedLayer[];
}

export interface FitOptions {
  estimator?: EstimatorName;
  signal?: CancellationSignal;
  onProgress?: ProgressCallback;
}

/** A batch of samples in model input space, with the best current estimate of the total. */
export interface SampleBatch {
  samples: Float32Array[];
  /** Samples expected in total (for progress; may grow as files are read). */
  total: number;
}

export function groupShape(op: KernelOp): GroupShape {
  const k = op.kernel.shape;
  if (op.kind === 'dense') return { groups: 1, n: k[0]!, m: k[1]! };
  if (op.kind === 'conv2d') return { groups: 1, n: k[0]! * k[1]! * k[2]!, m: k[3]! };
  return { groups: k[2]!, n: k[0]! * k[1]!, m: k[3]! };
}

/** The kernel in the estimator's [G, n, m] layout. */
function groupedKernel(op: KernelOp): tf.Tensor3D {
  const { groups, n, m } = groupShape(op);
  if (op.kind !== 'depthwise') return tf.reshape(op.kernel, [1, n, m]);
  return tf.transpose(tf.reshape(op.kernel, [n, groups, m]), [1, 0, 2]);
}

/** [G, n, m] layout back to the kernel's shape. */
function ungroup(op: KernelOp, grouped: Float64Array): Float32Array {
  const { groups, n, m } = groupShape(op);
  if (op.kind !== 'depthwise') return Float32Array.from(grouped);
  const out = new Float32Array(grouped.length);
  for (let g = 0; g < groups; g++)
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[(i * groups + g) * m + j] = grouped[(g * n + i) * m + j]!;
  return out;
}

/** One-hot kernel extracting patches in kernel order (i, j, c) with a regular convolution. */
function patchKernel(kh: number, kw: number, cin: number): tf.Tensor4D {
  const n = kh * kw * cin;
  const data = new Float32Array(kh * kw * cin * n);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < cin; c++) {
        const o = (i * kw + j) * cin + c;
        data[((i * kw + j) * cin + c) * n + o] = 1;
      }
  return tf.tensor4d(data, [kh, kw, cin, n]);
}

/** One-hot depthwise kernel: output channel c·(kh·kw) + (i·kw + j) is input channel c at offset (i, j). */
function depthwisePatchKernel(kh: number, kw: number, cin: number): tf.Tensor4D {
  const p = kh * kw;
  const data = new Float32Array(kh * kw * cin * p);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) for (let c = 0; c < cin; c++) data[((i * kw + j) * cin + c) * p + (i * kw + j)] = 1;
  return tf.tensor4d(data, [kh, kw, cin, p]);
}

/**
 * The rows of a kernel layer for one batch: X [G, R, n] (inputs or patches) and Y = XW [G, R, m]
 * (pre-activation without bias). Exported for tests (conv rows vs an unrolled dense layer).
 */
export function layerRows(op: KernelOp, input: tf.Tensor, extractor?: tf.Tensor4D): { x: tf.Tensor3D; y: tf.Tensor3D } {
  const { groups, n } = groupShape(op);
  const kernel = groupedKernel(op);
  if (op.kind === 'dense') {
    const x = tf.reshape(input, [1, -1, n]) as tf.Tensor3D;
    return { x, y: tf.matMul(x, kernel) };
  }
  const [kh, kw, cin] = op.kernel.shape as number[];
  if (op.kind === 'conv2d') {
    const e = extractor ?? patchKernel(kh!, kw!, cin!);
    const patches = tf.conv2d(input as tf.Tensor4D, e, op.strides, op.padding, 'NHWC', op.dilations);
    const x = tf.reshape(patches, [1, -1, n]) as tf.Tensor3D;
    return { x, y: tf.matMul(x, kernel) };
  }
  const e = extractor ?? depthwisePatchKernel(kh!, kw!, cin!);
  const patches = tf.depthwiseConv2d(input as tf.Tensor4D, e, op.strides, op.padding, 'NHWC', op.dilations);
  const x = tf.transpose(tf.reshape(patches, [-1, groups, n]), [1, 0, 2]) as tf.Tensor3D;
  return { x, y: tf.matMul(x, kernel) };
}

function extractorFor(op: KernelOp): tf.Tensor4D | undefined {
  if (op.kind === 'dense') return undefined;
  const [kh, kw, cin] = op.kernel.shape as number[];
  return op.kind === 'conv2d' ? patchKernel(kh!, kw!, cin!) : depthwisePatchKernel(kh!, kw!, cin!);
}

/** What one fit keeps across batches: per kernel op its statistics, patch extractor, bias and the first batch's shift. */
interface FitState {
  network: PatternNetwork;
  ops: readonly KernelOp[];
  stats: PatternStats[];
  extractors: (tf.Tensor4D | undefined)[];
  biases: tf.Tensor[];
  shifts: { x: tf.Tensor; y: tf.Tensor }[];
}

/** Fits patterns for every kernel layer of `network` in one pass over `batches`. */
export async function fitPatterns(
  network: PatternNetwork,
  batches: AsyncIterable<SampleBatch>,
  options: FitOptions = {},
): Promise<FittedPatterns> {
  const estimator = options.estimator ?? 'two-component';
  const ops = network.kernelOps;
  const state: FitState = {
    network,
    ops,
    stats: ops.map((op) => new PatternStats(groupShape(op), estimator === 'two-component' && op.reluFamily ? 'two-component' : 'linear')),
    extractors: ops.map(extractorFor),
    biases: ops.map((op) => {
      const { groups, m } = groupShape(op);
      return op.kind === 'depthwise' ? tf.reshape(op.bias, [groups, 1, m]) : tf.reshape(op.bias, [1, 1, m]);
    }),
    shifts: [],
  };
  const size = network.inputShape.reduce((a, b) => a * b, 1);
  let samples = 0;
  try {
    for await (const batch of batches) {
      if (options.signal?.cancelled) throw new CancelledError();
      const count = batch.samples.length;
      if (count === 0) continue;
      await addBatch(state, flattenSamples(batch.samples, size), count);
      samples += count;
      options.onProgress?.({ stage: 'fitting patterns', done: samples, total: Math.max(samples, batch.total) });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    const { shifts, biases, extractors } = state;
    tf.dispose([...shifts.flatMap((s) => [s.x, s.y]), ...biases, ...extractors.filter((e): e is tf.Tensor4D => e !== undefined)]);
  }
  if (samples === 0) throw new PathLensError('input', 'no data samples to fit patterns on');
  const layers = ops.map((op, k): FittedLayer => {
    const kernel = tf.tidy(() => groupedKernel(op).dataSync());
    return {
      name: op.name,
      className: op.className,
      kernelShape: [...op.kernel.shape],
      estimator: state.stats[k]!.estimator,
      foldedBatchNorm: op.foldedBatchNorm,
      pattern: ungroup(op, state.stats[k]!.pattern(kernel)),
    };
  });
  return { estimator, samples, layers };
}

function flattenSamples(samples: readonly Float32Array[], size: number): Float32Array {
  const flat = new Float32Array(samples.length * size);
  samples.forEach((s, i) => {
    if (s.length !== size) throw new PathLensError('input', `a data sample has ${s.length} values but the model input has ${size}`);
    flat.set(s, i * size);
  });
  return flat;
}

/** One batch through the network; each op's sums are added to its statistics (the first batch also fixes the shifts). */
async function addBatch(state: FitState, flat: Float32Array, count: number): Promise<void> {
  const { network, ops, stats, shifts } = state;
  const first = shifts.length === 0;
  const downloads = tf.tidy(() => {
    const cache = network.forward(tf.tensor(flat, [count, ...network.inputShape]));
    return ops.flatMap((op, k) => batchSums(state, k, cache.inputs[network.ops.indexOf(op)]!, first));
  });
  const arrays = await Promise.all(downloads.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(downloads);
  if (first) {
    for (let k = 0; k < ops.length; k++) {
      stats[k]!.shiftX = Float64Array.from(await shifts[k]!.x.data());
      stats[k]!.shiftY = Float64Array.from(await shifts[k]!.y.data());
    }
  }
  let at = 0;
  for (const s of stats) {
    if (s.estimator === 'linear') {
      const [sumX, sumY, sumXY, rows] = arrays.slice(at, at + 4);
      at += 4;
      s.add({ rows: rows![0]!, sumX, sumY: sumY!, sumXY });
    } else {
      const [sumY, activeCount, sumXActive, sumXYActive, sumYActive, rows] = arrays.slice(at, at + 6);
      at += 6;
      s.add({ rows: rows![0]!, sumY: sumY!, activeCount, sumXActive, sumXYActive, sumYActive });
    }
  }
  for (const a of arrays) assertFinite(a);
}

/** Op k's sums over the batch's rows (inside a tidy): linear 3 + rows, two-component 5 + rows. */
function batchSums(state: FitState, k: number, input: tf.Tensor, first: boolean): tf.Tensor[] {
  const { x, y } = layerRows(state.ops[k]!, input, state.extractors[k]);
  if (first) state.shifts.push({ x: tf.keep(tf.mean(x, 1, true)), y: tf.keep(tf.mean(y, 1, true)) });
  const xc = tf.sub(x, state.shifts[k]!.x);
  const yc = tf.sub(y, state.shifts[k]!.y);
  const rows = tf.scalar(x.shape[1]!);
  if (state.stats[k]!.estimator === 'linear') return [tf.sum(xc, 1), tf.sum(yc, 1), tf.matMul(xc, yc, true, false), rows];
  const active = tf.cast(tf.greater(tf.add(y, state.biases[k]!), 0), 'float32');
  const ya = tf.mul(yc, active);
  return [tf.sum(yc, 1), tf.sum(active, 1), tf.matMul(xc, active, true, false), tf.matMul(xc, ya, true, false), tf.sum(ya, 1), rows];
}

function assertFinite(values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!))
      throw new PathLensError('non-finite', 'the model produced NaN/Inf on the data while fitting patterns (check the preprocessing)');
  }
}
