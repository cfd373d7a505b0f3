/**
 * Forward and input-gradient of one step of a layers plan (src/core/model/layersPlan.ts) on the wasm
 * heap, called by net.ts inside its two kernels. Every function returns tensors the caller owns (one
 * reference each) and never frees its arguments.
 *
 * Backward of a convolution: the activation mask (0 < y, and y < 6 for relu6, from the saved output y,
 * one SIMD pass, or fused into the depthwise kernel that reads the activation), then the input
 * gradient: depthwise convs by the direct C kernel (wasm/conv.ts); strided or few-input-channel convs
 * as an XNNPACK product dy · filter[out, taps·in] summed per input pixel (col2im); others as one
 * XNNPACK Conv2D of the "full" correlation input with the flipped, transposed filter. Those filters are
 * made at load — persistent tensors, so XNNPACK packs them once and caches the operator (a filter
 * transposed per call, as in wasm/conv.ts, is packed anew every call).
 */
import { getKernel, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { ConvStep, PlanActivation, PlanStep } from '../../model/layersPlan';
import { composedKernelCall } from '../inputGradients';
import { MASK_GRAD_KERNEL } from '../wasmSimd';
import { addSameShape, convCall, directDims, nativeCall, type ConvGeometry } from './direct';
import { nativeKernels, type NativeKernels } from './native';
import { fullCorrelationInput, heapOffset, scoped, type Shape4, type WasmBackendLike } from './scope';

/** The largest float32 below 6: relu6's gradient passes where 0 < y < 6, i.e. 0 < y ≤ this. */
const BELOW_SIX = Math.fround(6 - 2 ** -21);

/** Weights of a step as wasm tensors (made at load; `backFilter`: see PreparedConv). */
export interface PreparedConv {
  filter: TensorInfo;
  bias: TensorInfo | null;
  /** xnnpack: the flipped filter [fh, fw, out, in]; col2im: [1, 1, out, fh·fw·in]; depthwise: the filter. */
  backFilter: TensorInfo;
  backward: 'depthwise' | 'col2im' | 'xnnpack';
  /** Geometry of the forward conv, and of the backward's XNNPACK Conv2D with backFilter (not depthwise). */
  forward: ConvGeometry;
  back: ConvGeometry | null;
}
export interface PreparedDense {
  /** [1, K, M] and its transpose [1, M, K]. */
  kernel: TensorInfo;
  kernelT: TensorInfo;
  bias: TensorInfo | null;
}
export type Prepared = PreparedConv | PreparedDense | null;

export function runWasmKernel(b: WasmBackendLike, name: string, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo {
  const k = getKernel(name, 'wasm');
  if (k == null) throw new Error(`PathLens: wasm kernel '${name}' is missing.`);
  return composedKernelCall(() => k.kernelFunc({ inputs: inputs as never, backend: b, attrs: attrs as NamedAttrMap })) as TensorInfo;
}

/** A new reference to t's data, with `shape`. */
export function share(b: WasmBackendLike, t: TensorInfo, shape: number[] = t.shape): TensorInfo {
  b.incRef(t.dataId);
  return { dataId: t.dataId, shape: [...shape], dtype: t.dtype };
}

/** PathLens's C kernels on this backend (a plan runs only where they exist). */
function nativeOf(b: WasmBackendLike): NativeKernels {
  const native = nativeKernels(b);
  if (native == null) throw new Error('PathLens: the layers plan needs WebAssembly SIMD.');
  return native;
}

/** Same data, another shape, no new reference (for arguments only; never free it). */
function view(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** The output of step `s` for inputs `xs` (their values in step order). */
export function stepForward(b: WasmBackendLike, s: PlanStep, p: Prepared, xs: TensorInfo[]): TensorInfo {
  const x = xs[0]!;
  switch (s.kind) {
    case 'conv': {
      const w = p as PreparedConv;
      return convCall(b, s.depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D', w.forward.of(x.shape), x, w.filter, w.bias, s.activation);
    }
    case 'dense': {
      const w = p as PreparedDense;
      const [n, k] = x.shape as [number, number];
      const inputs: Record<string, TensorInfo> = { a: view(x, [1, n, k]), b: w.kernel, ...(w.bias ? { bias: w.bias } : {}) };
      const out = runWasmKernel(b, '_FusedMatMul', inputs, { transposeA: false, transposeB: false, activation: s.activation });
      return view(out, [n, out.shape[2]!]);
    }
    case 'add':
      return addAll(b, xs);
    case 'pad': {
      const [[t, bottom], [l, r]] = s.pads;
      const paddings = [
        [0, 0],
        [t, bottom],
        [l, r],
        [0, 0],
      ];
      return runWasmKernel(b, 'PadV2', { x }, { paddings, constantValue: 0 });
    }
    case 'mean': {
      const [n, h, w, c] = x.shape as Shape4;
      const xAt = heapOffset(b, x);
      return nativeCall(b, 'PathLensMean', [n, c], (out) => nativeOf(b).spatial_mean(xAt, out, n, h * w, c));
    }
    case 'reshape':
      return share(b, x, [x.shape[0]!, ...s.shape]);
    case 'activation':
      if (s.activation === 'linear') return share(b, x);
      return runWasmKernel(b, s.activation === 'relu6' ? 'Relu6' : 'Relu', { x });
    case 'batchnorm':
      throw new Error('PathLens: an unfolded BatchNormalization in a layers plan.');
  }
}

function addAll(b: WasmBackendLike, xs: TensorInfo[]): TensorInfo {
  const native = nativeOf(b);
  let sum = addSameShape(b, native, xs[0]!, xs[1]!);
  for (const x of xs.slice(2)) {
    const next = addSameShape(b, native, sum, x);
    b.disposeData(sum.dataId);
    sum = next;
  }
  return sum;
}

/** Does the backward of `s` need its output (the activation mask)? */
export function savesOutput(s: PlanStep): boolean {
  return (s.kind === 'conv' || s.kind === 'dense' || s.kind === 'activation') && s.activation !== 'linear';
}

/** g masked by the activation's derivative at its output y (a new reference; g itself for linear). */
function masked(b: WasmBackendLike, g: TensorInfo, y: TensorInfo | undefined, activation: PlanActivation): TensorInfo {
  if (activation === 'linear') return share(b, g);
  if (y == null) throw new Error('PathLens: the layers plan gradient is missing a saved output.');
  const hi = activation === 'relu6' ? BELOW_SIX : Infinity;
  const native = nativeOf(b);
  const n = g.shape.reduce((a, d) => a * d, 1);
  const [yAt, gAt] = [heapOffset(b, y), heapOffset(b, g)];
  return nativeCall(b, MASK_GRAD_KERNEL, [...g.shape], (out) => native.mask_multiply(yAt, gAt, out, n, 0, hi));
}

/**
 * How a step's backward shares masks with its neighbours: `maskDone` — the step reading this output
 * already applied this step's activation mask; `inputMask` — apply the mask of the (activated) step
 * producing this step's input while storing dx (depthwise convs, netMasks.ts decides).
 */
export interface MaskFusion {
  maskDone: boolean;
  inputMask: PlanActivation | null;
}

/** What a step's backward reads: its saved output y, its input's saved output (fused mask), input shapes. */
export interface BackwardInputs {
  y: TensorInfo | undefined;
  inputY: TensorInfo | undefined;
  xShapes: number[][];
}

/** Gradients of the step's inputs (in step input order) from g, the gradient of its output. */
export function stepBackward(
  b: WasmBackendLike,
  s: PlanStep,
  p: Prepared,
  g: TensorInfo,
  fusion: MaskFusion,
  io: BackwardInputs,
): TensorInfo[] {
  const xShape = io.xShapes[0]!;
  const own = fusion.maskDone ? 'linear' : null;
  switch (s.kind) {
    case 'conv': {
      const gm = masked(b, g, io.y, own ?? s.activation);
      try {
        return [
          convBackward(
            b,
            s,
            p as PreparedConv,
            gm,
            xShape as Shape4,
            fusion.inputMask ? { y: io.inputY, activation: fusion.inputMask } : null,
          ),
        ];
      } finally {
        b.disposeData(gm.dataId);
      }
    }
    case 'dense': {
      const gm = masked(b, g, io.y, own ?? s.activation);
      const [n, m] = gm.shape as [number, number];
      const dx = runWasmKernel(
        b,
        'BatchMatMul',
        { a: view(gm, [1, n, m]), b: (p as PreparedDense).kernelT },
        { transposeA: false, transposeB: false },
      );
      b.disposeData(gm.dataId);
      return [view(dx, xShape)];
    }
    case 'add':
      return s.xs.map(() => share(b, g));
    case 'pad':
      return [runWasmKernel(b, 'Slice', { x: g }, { begin: [0, s.pads[0][0], s.pads[1][0], 0], size: xShape })];
    case 'mean':
      return [meanBackward(b, g, xShape)];
    case 'reshape':
      return [share(b, g, xShape)];
    case 'activation':
      return [masked(b, g, io.y, own ?? s.activation)];
    case 'batchnorm':
      throw new Error('PathLens: an unfolded BatchNormalization in a layers plan.');
  }
}

/** dx[n, h, w, c] = g[n, c] / (H·W). */
function meanBackward(b: WasmBackendLike, g: TensorInfo, [n, h, w, c]: number[]): TensorInfo {
  const scale = b.makeOutput([1, h!, w!, 1], 'float32', undefined, new Float32Array(h! * w!).fill(1 / (h! * w!)));
  try {
    return runWasmKernel(b, 'Multiply', { a: view(g, [n!, 1, 1, c!]), b: scale });
  } finally {
    b.disposeData(scale.dataId);
  }
}

function convBackward(
  b: WasmBackendLike,
  s: ConvStep,
  p: PreparedConv,
  gm: TensorInfo,
  xShape: Shape4,
  inputMask: { y: TensorInfo | undefined; activation: PlanActivation } | null,
): TensorInfo {
  const info = p.forward.of(xShape);
  const native = nativeOf(b);
  const [n, h, w, c] = xShape;
  const [oh, ow, fh, fw, sh, sw, dh, dw, pt, pl] = directDims(info) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (p.backward === 'depthwise') {
    const [dyAt, fAt] = [heapOffset(b, gm), heapOffset(b, p.filter)];
    if (inputMask == null) {
      const m = s.filterShape[3];
      return nativeCall(b, 'DepthwiseConv2dNativeBackpropInput', xShape, (dx) =>
        native.depthwise_backprop_input(dyAt, fAt, dx, n, h, w, c, m, oh, ow, fh, fw, sh, sw, dh, dw, pt, pl),
      );
    }
    if (inputMask.y == null) throw new Error('PathLens: the layers plan gradient is missing a saved output.');
    const hi = inputMask.activation === 'relu6' ? BELOW_SIX : Infinity;
    const yAt = heapOffset(b, inputMask.y);
    return nativeCall(b, DEPTHWISE_MASKED_KERNEL, xShape, (dx) =>
      native.depthwise_backprop_input_masked(dyAt, fAt, dx, yAt, hi, n, h, w, c, oh, ow, fh, fw, sh, sw, dh, dw, pt, pl),
    );
  }
  if (p.backward === 'col2im') {
    const cols = convCall(b, 'Conv2D', p.back!.of(gm.shape), gm, p.backFilter, null, 'linear');
    try {
      const colsAt = heapOffset(b, cols);
      return nativeCall(b, COL2IM_KERNEL, xShape, (dx) => native.col2im(colsAt, dx, n, h, w, c, oh, ow, fh, fw, sh, sw, dh, dw, pt, pl));
    } finally {
      b.disposeData(cols.dataId);
    }
  }
  return scoped(b, (sc) => {
    const dyP = fullCorrelationInput(sc, gm, info, xShape, info.outChannels);
    return convCall(b, 'Conv2D', p.back!.of(dyP.shape), dyP, p.backFilter, null, 'linear');
  });
}

export const DEPTHWISE_MASKED_KERNEL = 'PathLensDepthwiseGradMasked';
export const COL2IM_KERNEL = 'PathLensCol2Im';

/**
 * Which steps fuse the activation mask of their input's producer (a depth-multiplier-1 depthwise conv
 * reading, as its only reader, the output of a ReLU/ReLU6-activated step) and which producers then
 * skip their own mask.
 */
export function maskFusions(steps: PlanStep[], readers: number[]): MaskFusion[] {
  const producer = new Map(steps.map((s, i) => [s.out, i]));
  const fusions: MaskFusion[] = steps.map(() => ({ maskDone: false, inputMask: null }));
  steps.forEach((s, i) => {
    if (s.kind !== 'conv' || !s.depthwise || s.filterShape[3] !== 1 || readers[s.x] !== 1) return;
    const j = producer.get(s.x);
    const p = j === undefined ? null : steps[j]!;
    if (p == null || !savesOutput(p) || !('activation' in p)) return;
    fusions[i]!.inputMask = p.activation;
    fusions[j!]!.maskDone = true;
  });
  return fusions;
}
