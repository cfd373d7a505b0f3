/**
 * Kernels the TF.js wasm backend (4.22) lacks or gets wrong for the *input gradients* of common
 * Keras layers / MobileNet-style graph models.
 *
 * Most are composed from kernels the wasm backend already runs in compiled wasm/XNNPACK
 * (PadV2, StridedSlice, Concat, Reverse, DepthwiseConv2dNative, BatchMatMul, Multiply, Sum, OneHot…):
 *
 * - Conv2DBackpropFilter: im2col by one DepthwiseConv2dNative with a one-hot filter (same strides,
 *   padding, dilations as the forward conv), Transpose, one BatchMatMul with dy, reorder taps.
 * - DepthwiseConv2dNativeBackpropInput: dy is zero-upsampled by the stride (pad on a rank-6 view),
 *   padded to a "full" correlation and run through DepthwiseConv2dNative (stride 1, same
 *   dilation) with the spatially flipped filter; depth multiplier > 1 sums over the multiplier.
 * - DepthwiseConv2dNativeBackpropFilter: per filter tap, strided slice of the padded input times dy
 *   (Multiply, broadcast over the depth multiplier) reduced over batch·space with a ones-row
 *   BatchMatMul; taps concatenated.
 * - UnsortedSegmentSum (float32): one-hot(segmentIds) ᵀ · x via BatchMatMul; int32 inputs (exact
 *   sums) and huge one-hot matrices use a typed-array loop.
 *
 * Replaced for speed only (the original handles what the replacement does not):
 * - Conv2DBackpropInput: wasm's is a scalar C++ loop (~10x slower than the forward conv); ours is one
 *   XNNPACK Conv2D over the zero-upsampled, padded dy with the flipped, channel-swapped filter
 *   (bit-identical in our tests). Strided convs with < 8 input channels (RGB stems) keep the loop.
 * - Identity shares the input's data (wasm copies it; customGrad clones every saved tensor).
 * - Slice of 4-byte dtypes copies runs inside the wasm heap (wasm's copies the whole input to JS).
 * - Tile when it is a pure broadcast.
 * Also registered from here: the SIMD ClipByValue/Relu6/Relu gradients (wasmSimd.ts) and the
 * input-only FusedBatchNorm gradient (batchNormGrad.ts). Weight-gradient skipping for attribution is
 * in inputGradients.ts (`withInputGradientsOnly`).
 *
 * Two wasm kernels compute wrong results (their window maximum starts at FLT_MIN, so windows whose
 * values are all ≤ 0 yield 1.18e-38 / index 0): MaxPoolGrad and MaxPoolWithArgmax. They are
 * replaced by typed-array implementations that follow the cpu backend (first maximum wins).
 */
import {
  backend_util,
  getKernel,
  slice_util,
  registerKernel,
  unregisterKernel,
  util,
  type KernelBackend,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { composedKernelCall } from './inputGradients';
import { registerSimdGradients } from './wasmSimd';
import { registerBatchNormGradient } from './batchNormGrad';

const BACKEND = 'wasm';

/** Kernel names PathLens (re)registers for the wasm backend. */
export const WASM_EXTRA_KERNELS = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'UnsortedSegmentSum',
  'MaxPoolGrad',
  'MaxPoolWithArgmax',
  'Tile',
  'Conv2DBackpropInput',
  'Identity',
  'Slice',
] as const;

/** Kernels replaced for speed only: the wasm backend's own version handles the cases we do not. */
const WRAPS_ORIGINAL = new Set<string>(['Tile', 'Conv2DBackpropInput', 'Identity', 'Slice']);
const originals = new Map<string, KernelFunc>();

function callOriginal(name: string, args: Parameters<KernelFunc>[0]): ReturnType<KernelFunc> {
  const k = originals.get(name);
  if (k == null) throw new Error(`PathLens wasm kernels: the original ${name} kernel is missing.`);
  return k(args);
}

/** Beyond this many one-hot entries UnsortedSegmentSum uses the loop instead of a matmul. */
const ONE_HOT_LIMIT = 1 << 24;

/** The parts of the wasm backend we use (it is not part of the public typings). */
interface WasmBackendLike extends KernelBackend {
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: unknown): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
}

type Shape4 = [number, number, number, number];

/** Attributes of the convolution gradient kernels (tfjs-core's kernel attrs, typed for what they read). */
interface ConvGradAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Runs wasm kernels and remembers every result so that all intermediates are released in
 * `dispose()`, except those handed out with `keep()`.
 */
class KernelScope {
  private readonly temps: TensorInfo[] = [];
  constructor(readonly backend: WasmBackendLike) {}

  run(name: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown> = {}): TensorInfo {
    const out = this.runMulti(name, inputs, attrs);
    return out[0];
  }

  runMulti(name: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: Record<string, unknown> = {}): TensorInfo[] {
    const k = getKernel(name, BACKEND);
    if (k == null) throw new Error(`PathLens wasm kernels: '${name}' is not available on the wasm backend.`);
    const res = composedKernelCall(() => k.kernelFunc({ inputs: inputs as never, backend: this.backend, attrs: attrs as NamedAttrMap }));
    const list = Array.isArray(res) ? res : [res];
    this.temps.push(...list);
    return list;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    if (util.arraysEqual(x.shape, shape)) return x;
    return this.run('Reshape', { x }, { shape });
  }

  fill(shape: number[], value: number): TensorInfo {
    return this.run('Fill', {}, { shape, value, dtype: 'float32' });
  }

  /** Track a tensor made outside `run` so that it is disposed with the scope. */
  keepTemp(t: TensorInfo): TensorInfo {
    this.temps.push(t);
    return t;
  }

  /** Exclude `t` from disposal (it becomes the kernel's output). */
  keep(t: TensorInfo): TensorInfo {
    const i = this.temps.lastIndexOf(t);
    if (i >= 0) this.temps.splice(i, 1);
    return t;
  }

  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

/** Run `f` in a scope; the tensor it returns is kept, all other intermediates are freed. */
function scoped(backend: unknown, f: (s: KernelScope) => TensorInfo): TensorInfo {
  const s = new KernelScope(backend as WasmBackendLike);
  try {
    const out = f(s);
    s.keep(out);
    return out;
  } finally {
    s.dispose();
  }
}

/** x padded with the forward conv's padding (top/bottom/left/right), or x itself. */
function padSpatial(s: KernelScope, x: TensorInfo, top: number, bottom: number, left: number, right: number): TensorInfo {
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return x;
  return s.run(
    'PadV2',
    { x },
    {
      paddings: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
}

/** xP[:, r0 : r0+(outH-1)*sh+1 : sh, c0 : … : sw, :] — the input rows/cols a filter tap sees. */
function tapSlice(s: KernelScope, xP: TensorInfo, r0: number, c0: number, outH: number, outW: number, sh: number, sw: number): TensorInfo {
  const [n, hp, wp, c] = xP.shape;
  const rEnd = r0 + (outH - 1) * sh + 1;
  const cEnd = c0 + (outW - 1) * sw + 1;
  if (r0 === 0 && c0 === 0 && rEnd === hp && cEnd === wp && sh === 1 && sw === 1) return xP;
  return s.run(
    'StridedSlice',
    { x: xP },
    {
      begin: [0, r0, c0, 0],
      end: [n, rEnd, cEnd, c],
      strides: [1, sh, sw, 1],
      beginMask: 0,
      endMask: 0,
      ellipsisMask: 0,
      newAxisMask: 0,
      shrinkAxisMask: 0,
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape, dilations } = attrs as unknown as ConvGradAttrs & { filterShape: Shape4 };
  if (dataFormat === 'NCHW') throw new Error('PathLens wasm Conv2DBackpropFilter supports only NHWC.');
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4,
    filterShape,
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const [fh, fw, cin, cout] = filterShape;
  const taps = fh * fw;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  return scoped(backend, (s) => {
    const dy3 = s.reshape(dy, [1, rows, cout]);
    const p = info.padInfo;
    const identity = taps === 1 && info.strideHeight === 1 && info.strideWidth === 1 && p.top + p.bottom + p.left + p.right === 0;
    // im2col in one XNNPACK call: a depthwise conv with a one-hot filter [fh,fw,cin,taps] yields
    // channel (c, tap) = x at that tap, with the forward conv's strides/padding/dilations.
    let cols = x;
    if (!identity) {
      const oneHot = new Float32Array(taps * cin * taps);
      for (let t = 0; t < taps; t++) for (let c = 0; c < cin; c++) oneHot[(t * cin + c) * taps + t] = 1;
      const f = s.keepTemp((backend as WasmBackendLike).makeOutput([fh, fw, cin, taps], 'float32', undefined, oneHot));
      cols = s.run(
        'DepthwiseConv2dNative',
        { x, filter: f },
        { strides, pad, dilations: dilations ?? 1, dimRoundingMode, dataFormat: 'NHWC' },
      );
    }
    const k = cin * taps;
    const a = s.reshape(cols, [1, rows, k]);
    // [k, rows] · [rows, cout]. (An explicit Transpose + plain BatchMatMul is ~10x faster on wasm
    // than BatchMatMul's transposeA.)
    const at = k === 1 ? s.reshape(a, [1, 1, rows]) : s.run('Transpose', { x: a }, { perm: [0, 2, 1] });
    const prod = s.run('BatchMatMul', { a: at, b: dy3 }, { transposeA: false, transposeB: false });
    if (taps === 1) return s.reshape(prod, filterShape);
    // rows of prod are ordered (c, tap); the filter wants (tap, c).
    const ct = s.reshape(prod, [cin, taps, cout]);
    const tc = s.run('Transpose', { x: ct }, { perm: [1, 0, 2] });
    return s.reshape(tc, filterShape);
  });
};

/**
 * The input of the "full" correlation that computes a conv's input gradient: dy zero-upsampled by the
 * stride (PadV2 on a rank-6 view), then padded (or cropped) so that a VALID, stride-1 correlation
 * with the spatially flipped filter (same dilation) yields dx of the forward input's size.
 */
function fullCorrelationInput(
  s: KernelScope,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
  [n, h, w]: number[],
  channels: number,
): TensorInfo {
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const [oh, ow] = [info.outHeight, info.outWidth];
  // 1. Zero-upsample dy by the stride: [n,oh,1,ow,1,c] padded to [n,oh,sh,ow,sw,c].
  let up = dy;
  let lh = oh;
  let lw = ow;
  if (sh > 1 || sw > 1) {
    const six = s.reshape(dy, [n, oh, 1, ow, 1, channels]);
    const padded = s.run(
      'PadV2',
      { x: six },
      {
        paddings: [
          [0, 0],
          [0, 0],
          [0, sh - 1],
          [0, 0],
          [0, sw - 1],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    lh = oh * sh;
    lw = ow * sw;
    up = s.reshape(padded, [n, lh, lw, channels]);
  }
  // 2. Pad/crop to the "full" correlation window.
  const effH = info.effectiveFilterHeight;
  const effW = info.effectiveFilterWidth;
  const totalH = h + effH - 1;
  const totalW = w + effW - 1;
  const beforeH = effH - 1 - info.padInfo.top;
  const beforeW = effW - 1 - info.padInfo.left;
  const afterH = totalH - beforeH - lh;
  const afterW = totalW - beforeW - lw;
  let dyP = padSpatial(s, up, Math.max(0, beforeH), Math.max(0, afterH), Math.max(0, beforeW), Math.max(0, afterW));
  if (beforeH < 0 || afterH < 0 || beforeW < 0 || afterW < 0) {
    dyP = s.run('Slice', { x: dyP }, { begin: [0, Math.max(0, -beforeH), Math.max(0, -beforeW), 0], size: [n, totalH, totalW, channels] });
  }
  return dyP;
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropInput (speed): wasm's own kernel is a scalar C++ loop (~10x slower than the forward
// conv). dx is the VALID stride-1 correlation of the zero-upsampled, padded dy with the spatially
// flipped filter whose in/out channels are swapped — one XNNPACK Conv2D. 1x1 stride-1 unpadded
// convs (most of a MobileNet) need no padding: dx = Conv2D(dy, filterᵀ).

const conv2DBackpropInput: KernelFunc = (args) => {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as ConvGradAttrs & { inputShape: Shape4 };
  if (dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    return callOriginal('Conv2DBackpropInput', args);
  }
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as Shape4, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  // Strided: the upsampled dy makes the conv do stride² the work; with very few input channels (an
  // RGB stem) XNNPACK cannot amortise that and the C++ loop is faster (measured: 3x3 s2 3←16).
  if (info.strideHeight * info.strideWidth > 1 && info.inChannels < 8) return callOriginal('Conv2DBackpropInput', args);
  const [fh, fw] = filter.shape;
  const [n, h, w] = inputShape;
  const cout = filter.shape[3];
  return scoped(args.backend, (s) => {
    const flipped = fh === 1 && fw === 1 ? filter : s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const ft = s.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
    const dyP = fullCorrelationInput(s, dy, info, [n, h, w], cout);
    return s.run('Conv2D', { x: dyP, filter: ft }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] });
  });
};

// ---------------------------------------------------------------------------------------------
// DepthwiseConv2dNativeBackpropInput

const depthwiseBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as ConvGradAttrs & { inputShape: Shape4 };
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as Shape4, strides, dilations ?? 1, pad, dimRoundingMode, true);
  const [fh, fw, c, m] = filter.shape;
  const [n, h, w] = inputShape;
  const cm = c * m;
  const [dh, dw] = [info.dilationHeight, info.dilationWidth];
  return scoped(backend, (s) => {
    const dyP = fullCorrelationInput(s, dy, info, [n, h, w], cm);
    // Spatially flipped filter, one output per (channel, multiplier).
    const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const f = s.reshape(flipped, [fh, fw, cm, 1]);
    const conv = s.run(
      'DepthwiseConv2dNative',
      { x: dyP, filter: f },
      { strides: [1, 1], pad: 'valid', dilations: [dh, dw], dataFormat: 'NHWC' },
    );
    if (m === 1) return conv;
    const five = s.reshape(conv, [n, h, w, c, m]);
    return s.run('Sum', { x: five }, { axis: [4], keepDims: false });
  });
};

// ---------------------------------------------------------------------------------------------
// DepthwiseConv2dNativeBackpropFilter

const depthwiseBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as ConvGradAttrs & { filterShape: Shape4 };
  const info = backend_util.computeConv2DInfo(x.shape as Shape4, filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true);
  const [fh, fw, c, m] = filterShape;
  return scoped(backend, (s) => {
    const p = info.padInfo;
    const xP = padSpatial(s, x, p.top, p.bottom, p.left, p.right);
    const rows = info.batchSize * info.outHeight * info.outWidth;
    const ones = s.fill([1, 1, rows], 1);
    const dyR = m === 1 ? s.reshape(dy, [rows, c]) : s.reshape(dy, [rows, c, m]);
    const taps: TensorInfo[] = [];
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        const patch = tapSlice(
          s,
          xP,
          i * info.dilationHeight,
          j * info.dilationWidth,
          info.outHeight,
          info.outWidth,
          info.strideHeight,
          info.strideWidth,
        );
        const pr = m === 1 ? s.reshape(patch, [rows, c]) : s.reshape(patch, [rows, c, 1]);
        const prod = s.run('Multiply', { a: pr, b: dyR });
        const prod3 = s.reshape(prod, [1, rows, c * m]);
        taps.push(s.run('BatchMatMul', { a: ones, b: prod3 }, { transposeA: false, transposeB: false }));
      }
    }
    const all = taps.length === 1 ? taps[0] : s.run('Concat', taps as unknown as Record<string, TensorInfo>, { axis: 1 });
    return s.reshape(all, filterShape);
  });
};

// ---------------------------------------------------------------------------------------------
// UnsortedSegmentSum

const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  const b = backend as WasmBackendLike;
  const idRank = segmentIds.shape.length;
  if (!util.arraysEqual(x.shape.slice(0, idRank), segmentIds.shape)) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}].`);
  }
  const k = util.sizeFromShape(segmentIds.shape);
  const rest = x.shape.slice(idRank);
  const r = util.sizeFromShape(rest);
  const outShape = [numSegments, ...rest];
  if (x.dtype === 'float32' && k * numSegments <= ONE_HOT_LIMIT && k > 0 && r > 0) {
    return scoped(backend, (s) => {
      const ids = s.reshape(segmentIds, [k]);
      // Out-of-range ids give an all-zero one-hot row, i.e. they are dropped (as in TF).
      // (wasm's OneHot always writes int32, whatever `dtype` says, hence the Cast.)
      const ohInt = s.run('OneHot', { indices: ids }, { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' });
      const oh = s.run('Cast', { x: ohInt }, { dtype: 'float32' });
      const a = s.run('Transpose', { x: s.reshape(oh, [1, k, numSegments]) }, { perm: [0, 2, 1] });
      const xb = s.reshape(x, [1, k, r]);
      const out = s.run('BatchMatMul', { a, b: xb }, { transposeA: false, transposeB: false });
      return s.reshape(out, outShape);
    });
  }
  const out = b.makeOutput(outShape, x.dtype);
  const ov = b.typedArrayFromHeap(out);
  const xv = b.typedArrayFromHeap(x);
  const iv = b.typedArrayFromHeap(segmentIds);
  ov.fill(0);
  for (let i = 0; i < k; i++) {
    const sid = iv[i];
    if (sid < 0 || sid >= numSegments) continue;
    const src = i * r;
    const dst = sid * r;
    for (let j = 0; j < r; j++) ov[dst + j] += xv[src + j];
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad / MaxPoolWithArgmax (wasm's own versions are wrong for windows with values <= 0)

interface PoolArgmax {
  info: backend_util.Conv2DInfo;
  /** For every pooled output: flat index (without batch) of its first maximum in x, or -1. */
  argmax: Int32Array;
  maxVals: Float32Array;
}

function poolArgmax(xv: ArrayLike<number>, info: backend_util.Conv2DInfo): PoolArgmax {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { dilationHeight, dilationWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const size = batchSize * outHeight * outWidth * inChannels;
  const argmax = new Int32Array(size);
  const maxVals = new Float32Array(size);
  const best = new Float64Array(inChannels);
  const bestPos = new Int32Array(inChannels);
  let o = 0;
  for (let bi = 0; bi < batchSize; bi++) {
    const xb = bi * inHeight * inWidth * inChannels;
    for (let yr = 0; yr < outHeight; yr++) {
      const r0 = yr * strideHeight - top;
      for (let yc = 0; yc < outWidth; yc++) {
        const c0 = yc * strideWidth - left;
        best.fill(Number.NEGATIVE_INFINITY);
        bestPos.fill(-1);
        for (let wr = 0; wr < effectiveFilterHeight; wr += dilationHeight) {
          const xr = r0 + wr;
          if (xr < 0 || xr >= inHeight) continue;
          for (let wc = 0; wc < effectiveFilterWidth; wc += dilationWidth) {
            const xc = c0 + wc;
            if (xc < 0 || xc >= inWidth) continue;
            const base = (xr * inWidth + xc) * inChannels;
            for (let d = 0; d < inChannels; d++) {
              const v = xv[xb + base + d];
              if (v > best[d]) {
                best[d] = v;
                bestPos[d] = base + d;
              }
            }
          }
        }
        for (let d = 0; d < inChannels; d++, o++) {
          argmax[o] = bestPos[d];
          maxVals[o] = bestPos[d] < 0 ? Number.NaN : best[d];
        }
      }
    }
  }
  return { info, argmax, maxVals };
}

const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'same' | 'valid' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const b = backend as WasmBackendLike;
  const info = backend_util.computePool2DInfo(input.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
  const dx = b.makeOutput(input.shape, 'float32');
  // Views only after the allocation (the wasm heap may grow and detach older views).
  const dxv = b.typedArrayFromHeap(dx) as Float32Array;
  const { argmax } = poolArgmax(b.typedArrayFromHeap(input), info);
  const dyv = b.typedArrayFromHeap(dy);
  dxv.fill(0);
  const perBatchOut = info.outHeight * info.outWidth * info.inChannels;
  const perBatchIn = info.inHeight * info.inWidth * info.inChannels;
  for (let i = 0; i < argmax.length; i++) {
    const pos = argmax[i];
    if (pos < 0) continue;
    dxv[Math.floor(i / perBatchOut) * perBatchIn + pos] += dyv[i];
  }
  return dx;
};

const maxPoolWithArgmax: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  const { filterSize, strides, pad, includeBatchInIndex } = attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'same' | 'valid' | number;
    includeBatchInIndex: boolean;
  };
  const b = backend as WasmBackendLike;
  const info = backend_util.computePool2DInfo(x.shape as Shape4, filterSize, strides, [1, 1], pad);
  const pooled = b.makeOutput(info.outShape, x.dtype);
  const indexes = b.makeOutput(info.outShape, 'int32');
  const { argmax, maxVals } = poolArgmax(b.typedArrayFromHeap(x), info);
  const pv = b.typedArrayFromHeap(pooled);
  const iv = b.typedArrayFromHeap(indexes);
  const perBatchOut = info.outHeight * info.outWidth * info.inChannels;
  const perBatchIn = info.inHeight * info.inWidth * info.inChannels;
  for (let i = 0; i < argmax.length; i++) {
    pv[i] = maxVals[i];
    const pos = argmax[i];
    iv[i] = pos < 0 ? -1 : includeBatchInIndex ? Math.floor(i / perBatchOut) * perBatchIn + pos : pos;
  }
  return [pooled, indexes];
};

// ---------------------------------------------------------------------------------------------
// Tile (speed only): wasm's Tile is a slow generic loop; BatchNormalization's input gradient tiles
// [1,1,1,C] to the activation shape. When tiling only repeats size-1 axes it is a broadcast, done
// as Multiply(x, ones) (≈4x faster). Other cases use wasm's own Tile.

const tile: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { reps } = args.attrs as unknown as { reps: number[] };
  const broadcastOnly = x.dtype === 'float32' && reps.length === x.shape.length && reps.every((r, i) => r === 1 || x.shape[i] === 1);
  if (!broadcastOnly || reps.every((r) => r === 1)) {
    return callOriginal('Tile', args);
  }
  const outShape = x.shape.map((d, i) => d * reps[i]);
  return scoped(args.backend, (s) => s.run('Multiply', { a: x, b: s.fill(outShape, 1) }));
};

// ---------------------------------------------------------------------------------------------
// Identity (speed): wasm copies the data; tensors are immutable, so share it (as the cpu backend
// does). customGrad clones every saved tensor, and the converter runs Identity nodes.

const identity: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') return callOriginal('Identity', args);
  (args.backend as WasmBackendLike).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

// ---------------------------------------------------------------------------------------------
// Slice (speed): wasm's Slice copies the whole input out of the wasm heap (readSync) and then copies
// row by row through fresh subarrays. Here non-contiguous slices of 4-byte dtypes are copied inside
// the heap with copyWithin, one call per contiguous run (the gradient of ZeroPadding2D / PadV2 is
// such a slice: a spatial crop with whole channel rows).

const slice: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [b, sz] = slice_util.parseSliceParams(x as never, begin, size);
  const rank = x.shape.length;
  if (
    (x.dtype !== 'float32' && x.dtype !== 'int32') ||
    rank === 0 ||
    slice_util.isSliceContinous(x.shape, b, sz) ||
    sz.some((d) => d <= 0)
  ) {
    return callOriginal('Slice', args);
  }
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput(sz, x.dtype);
  // After the allocation (the heap may have grown).
  const heap = new Int32Array(backend.wasm.HEAPU8.buffer);
  const xBase = backend.dataIdMap.get(x.dataId).memoryOffset / 4;
  let o = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
  // Innermost contiguous run: trailing dims taken whole, plus the last partially taken dim.
  let last = rank - 1;
  let run = 1;
  while (last > 0 && b[last] === 0 && sz[last] === x.shape[last]) run *= x.shape[last--]!;
  run *= sz[last]!;
  const strides = util.computeStrides(x.shape);
  strides.push(1);
  const idx = new Array<number>(last).fill(0);
  for (;;) {
    let off = xBase + b[last]! * strides[last]!;
    for (let d = 0; d < last; d++) off += (b[d]! + idx[d]!) * strides[d]!;
    heap.copyWithin(o, off, off + run);
    o += run;
    let d = last - 1;
    while (d >= 0 && ++idx[d]! === sz[d]) idx[d--] = 0;
    if (d < 0) break;
  }
  return out;
};

// ---------------------------------------------------------------------------------------------

const KERNELS: Record<(typeof WASM_EXTRA_KERNELS)[number], KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  UnsortedSegmentSum: unsortedSegmentSum,
  MaxPoolGrad: maxPoolGrad,
  MaxPoolWithArgmax: maxPoolWithArgmax,
  Tile: tile,
  Conv2DBackpropInput: conv2DBackpropInput,
  Identity: identity,
  Slice: slice,
};

/**
 * Register (or replace) PathLens's wasm kernels. Idempotent; call once the wasm backend exists
 * (kernels it already has are replaced only where listed above).
 */
export function registerWasmKernels(): void {
  for (const name of WASM_EXTRA_KERNELS) {
    const existing = getKernel(name, BACKEND);
    if (existing != null && existing.kernelFunc === KERNELS[name]) continue;
    if (existing != null) {
      if (WRAPS_ORIGINAL.has(name) && !originals.has(name)) originals.set(name, existing.kernelFunc);
      unregisterKernel(name, BACKEND);
    }
    if (WRAPS_ORIGINAL.has(name) && !originals.has(name)) continue; // nothing to delegate to: keep none
    // Keep the original's setupFunc (wasm kernels bind their C++ functions there).
    registerKernel({ ...(existing ?? {}), kernelName: name, backendName: BACKEND, kernelFunc: KERNELS[name] });
  }
  registerSimdGradients();
  registerBatchNormGradient();
}
