/**
 * Convolution gradients on wasm.
 *
 * - Conv2DBackpropInput (speed: wasm's own is a scalar C++ loop, ~10x slower than the forward conv).
 *   Few input channels (< 8, an RGB stem): the direct SIMD kernel (native/wasm-kernels/conv.c).
 *   Otherwise one XNNPACK Conv2D: dx is the VALID stride-1 correlation of the zero-upsampled, padded
 *   dy with the spatially flipped filter whose in/out channels are swapped (1x1 stride-1 unpadded
 *   convs, most of a MobileNet, need no padding: dx = Conv2D(dy, filterᵀ)).
 * - DepthwiseConv2dNativeBackpropInput (missing on wasm): the direct SIMD kernel; without SIMD, dy is
 *   zero-upsampled and padded to a "full" correlation run through DepthwiseConv2dNative with the
 *   flipped filter (depth multiplier > 1 sums over the multiplier).
 * - Conv2DBackpropFilter (missing): im2col by one DepthwiseConv2dNative with a one-hot filter (same
 *   strides, padding, dilations), Transpose, one BatchMatMul with dy, taps reordered.
 * - DepthwiseConv2dNativeBackpropFilter (missing): per tap, the strided slice of the padded input
 *   times dy, reduced over batch·space with a ones-row BatchMatMul; taps concatenated.
 * Attribution never runs the two filter gradients (see inputGradients.ts); they serve other callers.
 */
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { directDims } from './direct';
import { nativeKernels } from './native';
import {
  callOriginal,
  derivedTensor,
  fullCorrelationInput,
  heapOffset,
  padSpatial,
  scoped,
  tapSlice,
  type ConvGradAttrs,
  type Shape4,
  type WasmBackendLike,
} from './scope';

/** Below this many input channels Conv2DBackpropInput uses the direct kernel instead of XNNPACK. */
export const DIRECT_CONV_MAX_IN_CHANNELS = 8;

/**
 * A [fh, fw, in, out] filter as [fh, fw, out, in4] (in4 = in rounded up to 4, zero-filled): the
 * layout in which the direct Conv2DBackpropInput kernel accumulates four input channels per vector.
 */
function channelsLastFilter(backend: WasmBackendLike, filter: TensorInfo): Float32Array {
  const [fh, fw, cin, cout] = filter.shape as Shape4;
  const in4 = (cin + 3) & ~3;
  const f = backend.typedArrayFromHeap(filter);
  const out = new Float32Array(fh * fw * cout * in4);
  for (let t = 0; t < fh * fw; t++)
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out[(t * cout + o) * in4 + i] = f[(t * cin + i) * cout + o]!;
  return out;
}

export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
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

/** [fh, fw, in, out] → spatially flipped [fh, fw, out, in] (dx is the full correlation of dy with it). */
function flippedTransposedFilter(backend: WasmBackendLike, filter: TensorInfo): TensorInfo {
  const [fh, fw] = filter.shape;
  return scoped(backend, (s) => {
    const flipped = fh === 1 && fw === 1 ? filter : s.run('Reverse', { x: filter }, { dims: [0, 1] });
    return s.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
  });
}

/**
 * Conv2DBackpropInput (speed). The flipped, transposed filter is derived once per filter tensor
 * (scope.ts derivedTensor) rather than per call, so XNNPACK also packs it once.
 */
export const conv2DBackpropInput: KernelFunc = (args) => {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as ConvGradAttrs & { inputShape: Shape4 };
  if (dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    return callOriginal('Conv2DBackpropInput', args);
  }
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as Shape4, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const backend = args.backend as WasmBackendLike;
  const native = nativeKernels(backend);
  if (native != null && info.inChannels < DIRECT_CONV_MAX_IN_CHANNELS) {
    const wt = derivedTensor(backend, filter, 'channels last', () => {
      const values = channelsLastFilter(backend, filter);
      return backend.makeOutput([values.length], 'float32', undefined, values);
    });
    const dx = backend.makeOutput([...inputShape], 'float32');
    const [n, h, w, c] = inputShape;
    const [oh, ow, ...rest] = directDims(info);
    const [offDy, offW, offDx] = [heapOffset(backend, dy), heapOffset(backend, wt), heapOffset(backend, dx)];
    native.conv2d_backprop_input(offDy, offW, offDx, n, h, w, c, oh!, ow!, info.outChannels, ...rest);
    return dx;
  }
  // Strided with very few input channels and no SIMD: the upsampled dy makes the conv do stride² the
  // work, which XNNPACK cannot amortise; the C++ loop is faster (measured: 3x3 s2 3←16).
  if (info.strideHeight * info.strideWidth > 1 && info.inChannels < DIRECT_CONV_MAX_IN_CHANNELS)
    return callOriginal('Conv2DBackpropInput', args);
  const cout = filter.shape[3]!;
  const ft = derivedTensor(backend, filter, 'flipped transposed', () => flippedTransposedFilter(backend, filter));
  return scoped(backend, (s) => {
    const dyP = fullCorrelationInput(s, dy, info, inputShape, cout);
    return s.run('Conv2D', { x: dyP, filter: ft }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] });
  });
};

export const depthwiseBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as ConvGradAttrs & { inputShape: Shape4 };
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as Shape4, strides, dilations ?? 1, pad, dimRoundingMode, true);
  const [fh, fw, c, m] = filter.shape as Shape4;
  const [n, h, w] = inputShape;
  const b = backend as WasmBackendLike;
  const native = nativeKernels(b);
  // (the kernel assumes what TF.js enforces for depthwise convolutions: stride 1 or dilation 1)
  const strideOrDilationOne =
    (info.strideHeight === 1 || info.dilationHeight === 1) && (info.strideWidth === 1 || info.dilationWidth === 1);
  if (native != null && strideOrDilationOne && dy.dtype === 'float32' && filter.dtype === 'float32') {
    const dx = b.makeOutput([...inputShape], 'float32');
    const [oh, ow, ...rest] = directDims(info);
    native.depthwise_backprop_input(heapOffset(b, dy), heapOffset(b, filter), heapOffset(b, dx), n, h, w, c, m, oh!, ow!, ...rest);
    return dx;
  }
  const cm = c * m;
  return scoped(backend, (s) => {
    const dyP = fullCorrelationInput(s, dy, info, [n, h, w], cm);
    // Spatially flipped filter, one output per (channel, multiplier).
    const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const f = s.reshape(flipped, [fh, fw, cm, 1]);
    const conv = s.run(
      'DepthwiseConv2dNative',
      { x: dyP, filter: f },
      { strides: [1, 1], pad: 'valid', dilations: [info.dilationHeight, info.dilationWidth], dataFormat: 'NHWC' },
    );
    if (m === 1) return conv;
    const five = s.reshape(conv, [n, h, w, c, m]);
    return s.run('Sum', { x: five }, { axis: [4], keepDims: false });
  });
};

/**
 * PathLensDepthwiseGradMasked: dx of a depth-multiplier-1 DepthwiseConv2dNative times the ReLU mask
 * of its forward input ym (1 where 0 < ym ≤ hi, as PathLensMaskGrad's 'multiply' mode) — the
 * gradient of a ReLU/ReLU6 that only this conv reads, applied as dx is stored (layers plans, net.ts).
 */
export const depthwiseBackpropInputMasked: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter, ym } = inputs as { dy: TensorInfo; filter: TensorInfo; ym: TensorInfo };
  const { strides, dilations, pad, inputShape, hi } = attrs as unknown as ConvGradAttrs & { inputShape: Shape4; hi: number };
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as Shape4, strides, dilations ?? 1, pad, undefined, true);
  const b = backend as WasmBackendLike;
  const native = nativeKernels(b);
  if (native == null || filter.shape[3] !== 1) throw new Error('PathLens: PathLensDepthwiseGradMasked needs SIMD and depth multiplier 1.');
  const dx = b.makeOutput([...inputShape], 'float32');
  const [n, h, w, c] = inputShape;
  const [oh, ow, ...rest] = directDims(info);
  const [offDy, offF, offDx, offY] = [dy, filter, dx, ym].map((t) => heapOffset(b, t)) as [number, number, number, number];
  native.depthwise_backprop_input_masked(offDy, offF, offDx, offY, hi, n, h, w, c, oh!, ow!, ...rest);
  return dx;
};

/**
 * PathLensCol2Im: dx of a Conv2D from cols = dy · (the filter as [out, fh·fw·in]), summing for every
 * input pixel the cols entries of the taps that reach it (native col2im). Attrs: the forward conv's
 * strides, pad, dilations and inputShape, and filterShape.
 */
export const col2Im: KernelFunc = ({ inputs, backend, attrs }) => {
  const { cols } = inputs as { cols: TensorInfo };
  const { strides, dilations, pad, inputShape, filterShape } = attrs as unknown as ConvGradAttrs & {
    inputShape: Shape4;
    filterShape: Shape4;
  };
  const info = backend_util.computeConv2DInfo(inputShape, filterShape, strides, dilations ?? 1, pad, undefined, false);
  const b = backend as WasmBackendLike;
  const native = nativeKernels(b);
  if (native == null) throw new Error('PathLens: PathLensCol2Im needs WebAssembly SIMD.');
  const dx = b.makeOutput([...inputShape], 'float32');
  const [n, h, w, c] = inputShape;
  const [oh, ow, ...rest] = directDims(info);
  native.col2im(heapOffset(b, cols), heapOffset(b, dx), n, h, w, c, oh!, ow!, ...rest);
  return dx;
};

export const depthwiseBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
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
        const r0 = i * info.dilationHeight;
        const c0 = j * info.dilationWidth;
        const patch = tapSlice(s, xP, r0, c0, info.outHeight, info.outWidth, info.strideHeight, info.strideWidth);
        const pr = m === 1 ? s.reshape(patch, [rows, c]) : s.reshape(patch, [rows, c, 1]);
        const prod = s.run('Multiply', { a: pr, b: dyR });
        const prod3 = s.reshape(prod, [1, rows, c * m]);
        taps.push(s.run('BatchMatMul', { a: ones, b: prod3 }, { transposeA: false, transposeB: false }));
      }
    }
    const all = taps.length === 1 ? taps[0]! : s.run('Concat', taps as unknown as Record<string, TensorInfo>, { axis: 1 });
    return s.reshape(all, filterShape);
  });
};
