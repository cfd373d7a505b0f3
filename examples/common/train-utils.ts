/**
 * Shared helpers for the example training scripts (`examples/<name>/train.ts`).
 *
 * - a seeded PRNG so data sets and initial weights are reproducible,
 * - faster CPU kernels for two training-only ops whose stock tfjs-backend-cpu implementations index
 *   through `TensorBuffer.get` and are 50-100x slower than a straight loop (training the shapes CNN
 *   with the stock kernels would take well over an hour on two cores),
 * - a save handler that writes the standard TF.js `model.json` + `weights.bin` layout.
 *
 * The kernel overrides only change speed, not results beyond float summation order, and they are
 * only installed by the training scripts, never by PathLens itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

/** mulberry32: tiny, fast, good-enough 32-bit PRNG. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;

export function randInt(rng: Rng, lo: number, hiExclusive: number): number {
  return lo + Math.floor(rng() * (hiExclusive - lo));
}

export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + rng() * (hi - lo);
}

/** Standard normal via Box-Muller. */
export function gaussian(rng: Rng): number {
  let u = rng();
  while (u <= 1e-12) u = rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Fisher-Yates permutation of 0..n-1. */
export function permutation(rng: Rng, n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

type CpuBackend = { data: { get(id: unknown): { values: unknown } } } & {
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
};

function values(backend: CpuBackend, t: tf.TensorInfo): Float32Array {
  return backend.data.get(t.dataId).values as Float32Array;
}

let kernelsInstalled = false;

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function isUnitDilation(d: number | [number, number] | undefined): boolean {
  return d === undefined || d === 1 || (Array.isArray(d) && d[0] === 1 && d[1] === 1);
}

/** Swap in a replacement kernel; `fast` returns null to defer to the stock implementation. */
function override(kernelName: string, fast: (args: Parameters<tf.KernelFunc>[0], backend: CpuBackend) => tf.TensorInfo | null): void {
  const stock = tf.getKernel(kernelName, 'cpu');
  tf.unregisterKernel(kernelName, 'cpu');
  tf.registerKernel({
    kernelName,
    backendName: 'cpu',
    kernelFunc: (args) => fast(args, args.backend as unknown as CpuBackend) ?? stock.kernelFunc(args),
  });
}

/**
 * Replace a few cpu-backend kernels used in training with loop-ordered versions for the common
 * cases (NHWC, no dilation; non-overlapping valid max pooling; sums over leading axes). Anything
 * else falls through to the stock kernels. Results equal the stock kernels up to float summation
 * order.
 */
export function installFastTrainingKernels(): void {
  if (kernelsInstalled) return;
  kernelsInstalled = true;
  override('Conv2D', fastConv2D);
  override('FusedConv2D', fastFusedConv2D);
  override('Conv2DBackpropInput', fastConv2DBackpropInput);
  override('Conv2DBackpropFilter', fastConv2DBackpropFilter);
  override('MaxPoolGrad', fastMaxPoolGrad);
  overrideBinary('Multiply', (p, q) => p * q);
  overrideBinary('Add', (p, q) => p + q);
  overrideBinary('Sub', (p, q) => p - q);
  overrideBinary('RealDiv', (p, q) => p / q);
  override('Sum', fastSum);
}

/** NHWC conv geometry for x and filter shapes (unit dilation, channels last). */
function convInfo(xShape: number[], filterShape: number[], a: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * Visits every (output position, filter tap) whose input pixel lies inside x, with the offsets of
 * y[b,yR,yC,0], x[b,xR,xC,0] and W[wR,wC,0,0] (x at yR*s+wR-top, yC*s+wC-left). The channel loops are
 * the caller's.
 */
function forEachConvTap(info: tf.backend_util.Conv2DInfo, visit: (yOff: number, xOff: number, wOff: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const yOff = ((b * outHeight + yR) * outWidth + yC) * outChannels;
        for (let wR = 0; wR < filterHeight; wR++) {
          const xR = yR * strideHeight + wR - top;
          if (xR < 0 || xR >= inHeight) continue;
          for (let wC = 0; wC < filterWidth; wC++) {
            const xC = yC * strideWidth + wC - left;
            if (xC < 0 || xC >= inWidth) continue;
            visit(yOff, ((b * inHeight + xR) * inWidth + xC) * inChannels, (wR * filterWidth + wC) * inChannels * outChannels);
          }
        }
      }
    }
  }
}

// y[b,yR,yC,:] = sum_{wR,wC,d1} x[b, yR*s+wR-top, yC*s+wC-left, d1] * W[wR,wC,d1,:]
function conv2dForward(backend: CpuBackend, x: tf.TensorInfo, w: tf.TensorInfo, a: ConvAttrs) {
  const info = convInfo(x.shape, w.shape, a);
  const { inChannels, outChannels } = info;
  const xv = values(backend, x);
  const wv = values(backend, w);
  const out = new Float32Array(info.batchSize * info.outHeight * info.outWidth * outChannels);
  forEachConvTap(info, (yOff, xOff, wOff) => {
    for (let d1 = 0; d1 < inChannels; d1++) {
      const v = xv[xOff + d1];
      if (v === 0) continue;
      const o = wOff + d1 * outChannels;
      for (let d2 = 0; d2 < outChannels; d2++) out[yOff + d2] += v * wv[o + d2];
    }
  });
  return { out, shape: info.outShape, outChannels };
}

function fastConv2D(args: Parameters<tf.KernelFunc>[0], backend: CpuBackend): tf.TensorInfo | null {
  const a = args.attrs as unknown as ConvAttrs;
  if (a.dataFormat === 'NCHW' || !isUnitDilation(a.dilations)) return null;
  const { out, shape } = conv2dForward(backend, args.inputs.x as tf.TensorInfo, args.inputs.filter as tf.TensorInfo, a);
  return backend.makeTensorInfo(shape, 'float32', out);
}

// Inference path of tfjs-layers' Conv2D: conv + per-channel bias + relu/linear.
function fastFusedConv2D(args: Parameters<tf.KernelFunc>[0], backend: CpuBackend): tf.TensorInfo | null {
  const a = args.attrs as unknown as ConvAttrs & { activation?: string };
  const act = a.activation ?? 'linear';
  if (a.dataFormat === 'NCHW' || !isUnitDilation(a.dilations) || (act !== 'linear' && act !== 'relu')) {
    return null;
  }
  const bias = args.inputs.bias as tf.TensorInfo | undefined;
  const { out, shape, outChannels } = conv2dForward(backend, args.inputs.x as tf.TensorInfo, args.inputs.filter as tf.TensorInfo, a);
  if (bias) {
    const bv = values(backend, bias);
    if (bv.length !== outChannels && bv.length !== 1) return null;
    for (let i = 0; i < out.length; i++) out[i] += bv.length === 1 ? bv[0] : bv[i % outChannels];
  }
  if (act === 'relu') for (let i = 0; i < out.length; i++) if (out[i] < 0) out[i] = 0;
  return backend.makeTensorInfo(shape, 'float32', out);
}

// dx[b, yR*s+wR-top, yC*s+wC-left, d1] += sum_d2 dy[b,yR,yC,d2] * W[wR,wC,d1,d2]
function fastConv2DBackpropInput(args: Parameters<tf.KernelFunc>[0], backend: CpuBackend): tf.TensorInfo | null {
  const a = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
  if (a.dataFormat === 'NCHW') return null;
  const dy = args.inputs.dy as tf.TensorInfo;
  const w = args.inputs.filter as tf.TensorInfo;
  const info = convInfo(a.inputShape, w.shape, a);
  const { inChannels, outChannels } = info;
  const dyv = values(backend, dy);
  const wv = values(backend, w);
  const dx = new Float32Array(info.batchSize * info.inHeight * info.inWidth * inChannels);
  forEachConvTap(info, (dyOff, xOff, wOff) => {
    for (let d1 = 0; d1 < inChannels; d1++) {
      const o = wOff + d1 * outChannels;
      let acc = 0;
      for (let d2 = 0; d2 < outChannels; d2++) acc += dyv[dyOff + d2] * wv[o + d2];
      dx[xOff + d1] += acc;
    }
  });
  return backend.makeTensorInfo(a.inputShape, 'float32', dx);
}

// dW[wR,wC,d1,d2] = sum_{b,yR,yC} x[b, yR*s+wR-top, yC*s+wC-left, d1] * dy[b,yR,yC,d2]
function fastConv2DBackpropFilter(args: Parameters<tf.KernelFunc>[0], backend: CpuBackend): tf.TensorInfo | null {
  const a = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
  if (a.dataFormat === 'NCHW') return null;
  const x = args.inputs.x as tf.TensorInfo;
  const dy = args.inputs.dy as tf.TensorInfo;
  const info = convInfo(x.shape, a.filterShape, a);
  const { inChannels, outChannels } = info;
  const xv = values(backend, x);
  const dyv = values(backend, dy);
  const acc = new Float64Array(info.filterHeight * info.filterWidth * inChannels * outChannels);
  forEachConvTap(info, (dyOff, xOff, wOff) => {
    for (let d1 = 0; d1 < inChannels; d1++) {
      const v = xv[xOff + d1];
      if (v === 0) continue;
      const o = wOff + d1 * outChannels;
      for (let d2 = 0; d2 < outChannels; d2++) acc[o + d2] += v * dyv[dyOff + d2];
    }
  });
  return backend.makeTensorInfo(a.filterShape, 'float32', Float32Array.from(acc));
}

// Non-overlapping valid max pooling: route each window's gradient to its first maximum.
function fastMaxPoolGrad(args: Parameters<tf.KernelFunc>[0], backend: CpuBackend): tf.TensorInfo | null {
  const a = args.attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'same' | 'valid' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const x = args.inputs.input as tf.TensorInfo;
  const dy = args.inputs.dy as tf.TensorInfo;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const fh = info.filterHeight;
  const fw = info.filterWidth;
  if (info.strideHeight !== fh || info.strideWidth !== fw || info.padInfo.top !== 0 || info.padInfo.left !== 0) {
    return null;
  }
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth } = info;
  const xv = values(backend, x);
  const dyv = values(backend, dy);
  const dx = new Float32Array(xv.length);
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < outHeight; r++) {
      for (let c = 0; c < outWidth; c++) {
        const dyOff = ((b * outHeight + r) * outWidth + c) * C;
        for (let d = 0; d < C; d++) {
          let best = -Infinity;
          let bestIdx = -1;
          for (let i = 0; i < fh; i++) {
            const xr = r * fh + i;
            if (xr >= inHeight) break;
            for (let j = 0; j < fw; j++) {
              const xc = c * fw + j;
              if (xc >= inWidth) break;
              const idx = ((b * inHeight + xr) * inWidth + xc) * C + d;
              if (xv[idx] > best) {
                best = xv[idx];
                bestIdx = idx;
              }
            }
          }
          if (bestIdx >= 0) dx[bestIdx] += dyv[dyOff + d];
        }
      }
    }
  }
  return backend.makeTensorInfo(x.shape, 'float32', dx);
}

// Elementwise float32 arithmetic on equal shapes or with a scalar operand (the relu/step
// gradients and optimiser updates); broadcasting of other shapes goes to the stock kernels.
function overrideBinary(name: string, op: (p: number, q: number) => number): void {
  override(name, (args, backend) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
    const av = values(backend, a);
    const bv = values(backend, b);
    const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    if (same) {
      const out = new Float32Array(av.length);
      for (let i = 0; i < out.length; i++) out[i] = op(av[i], bv[i]);
      return backend.makeTensorInfo(a.shape, 'float32', out);
    }
    if (bv.length === 1 && b.shape.length <= a.shape.length) {
      const q = bv[0];
      const out = new Float32Array(av.length);
      for (let i = 0; i < out.length; i++) out[i] = op(av[i], q);
      return backend.makeTensorInfo(a.shape, 'float32', out);
    }
    const lastA = a.shape[a.shape.length - 1];
    if (
      a.shape.length >= 2 &&
      b.shape.length >= 1 &&
      bv.length === lastA &&
      b.shape[b.shape.length - 1] === lastA &&
      b.shape.length <= a.shape.length
    ) {
      // Bias-style broadcast of a per-channel vector along the last axis.
      const out = new Float32Array(av.length);
      for (let i = 0; i < out.length; i += lastA) {
        for (let c = 0; c < lastA; c++) out[i + c] = op(av[i + c], bv[c]);
      }
      return backend.makeTensorInfo(a.shape, 'float32', out);
    }
    if (av.length === 1 && a.shape.length <= b.shape.length) {
      const p = av[0];
      const out = new Float32Array(bv.length);
      for (let i = 0; i < out.length; i++) out[i] = op(p, bv[i]);
      return backend.makeTensorInfo(b.shape, 'float32', out);
    }
    return null;
  });
}

// float32 sums over a run of leading axes (bias gradients) or trailing axes, without transposes.
function fastSum(args: Parameters<tf.KernelFunc>[0], backend: CpuBackend): tf.TensorInfo | null {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length === 0) return null;
  const a = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  const axes = tf.util
    .parseAxisParam(a.axis, x.shape)
    .slice()
    .sort((p, q) => p - q);
  const k = axes.length;
  const leading = axes.every((ax, i) => ax === i);
  const trailing = axes.every((ax, i) => ax === rank - k + i);
  if (!leading && !trailing) return null;
  const xv = values(backend, x);
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d)).filter((_, i) => a.keepDims || !axes.includes(i));
  const reduced = axes.reduce((n, ax) => n * x.shape[ax], 1);
  const kept = xv.length / Math.max(1, reduced);
  const out = new Float32Array(kept);
  if (leading) {
    const acc = new Float64Array(kept);
    for (let i = 0; i < reduced; i++) {
      const off = i * kept;
      for (let j = 0; j < kept; j++) acc[j] += xv[off + j];
    }
    out.set(acc);
  } else {
    for (let i = 0; i < kept; i++) {
      let acc = 0;
      const off = i * reduced;
      for (let j = 0; j < reduced; j++) acc += xv[off + j];
      out[i] = acc;
    }
  }
  return backend.makeTensorInfo(outShape, 'float32', out);
}

/** Join the weight buffers of a ModelArtifacts (TF.js 4.x may hand over one or several). */
function joinWeightData(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), off);
    off += p.byteLength;
  }
  return out;
}

/**
 * An IOHandler that writes `<dir>/model.json` (format `layers-model`, one weights group with path
 * `weights.bin`) and `<dir>/weights.bin`: the layout `tf.loadLayersModel('file://…/model.json')`
 * and browser/http loaders expect.
 */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    fs.mkdirSync(dir, { recursive: true });
    const weights = joinWeightData(artifacts.weightData);
    const modelJson: Record<string, unknown> = {
      format: 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
    };
    if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
    if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
    const json = JSON.stringify(modelJson);
    fs.writeFileSync(path.join(dir, 'model.json'), json);
    fs.writeFileSync(path.join(dir, 'weights.bin'), weights);
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: 'JSON',
        modelTopologyBytes: json.length,
        weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
        weightDataBytes: weights.byteLength,
      },
    };
  });
}

/**
 * A minimal IOHandler that reads the layout written by {@link fileSaveHandler}
 * (all weight paths are resolved relative to model.json).
 */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      const dir = path.dirname(modelJsonPath);
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: Uint8Array[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
        }
        const total = buffers.reduce((n, b) => n + b.byteLength, 0);
        const data = new Uint8Array(total);
        let off = 0;
        for (const b of buffers) {
          data.set(b, off);
          off += b.byteLength;
        }
        return [specs, data.buffer];
      });
    },
  };
}

/**
 * Change an optimiser's learning rate in place (step decay) without resetting its moment estimates.
 * TF.js declares the field protected but reads it on every update.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

/** Fraction of rows whose argmax of `probs` equals `labels[i]`. */
export function accuracy(probs: Float32Array, numClasses: number, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let k = 1; k < numClasses; k++) {
      if (probs[i * numClasses + k] > probs[i * numClasses + best]) best = k;
    }
    if (best === labels[i]) correct++;
  }
  return correct / labels.length;
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return best;
}
