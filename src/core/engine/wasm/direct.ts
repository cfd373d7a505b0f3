/**
 * Direct calls of the wasm backend's exported C functions and of PathLens's C kernels for the layers
 * plan's steps (netSteps.ts), without the kernel registry. A registered kernel recomputes the
 * convolution's geometry (computeConv2DInfo), looks itself up by name and unpacks its attributes on
 * every call: at batch 2 that JS cost about as much as a third of the forward pass's XNNPACK time.
 * Here the geometry of a step is computed once per input shape and the call passes plain numbers.
 *
 * The exported functions and their argument order are those of tfjs-backend-wasm 4.22's kernels
 * (FusedConv2D, FusedDepthwiseConv2D, Conv2D: test/layers-plan.test.ts compares the plan with TF.js
 * layers). A profiler (bench/kernelTimes.ts) sees each call under its kernel's name through
 * `observeDirectCalls`.
 */
import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeKernels } from './native';
import { heapOffset, type Shape4, type WasmBackendLike } from './scope';

type Conv2DFn = (...args: number[]) => void;

/** The C functions of the wasm backend that the plan calls. */
interface BackendExports {
  _FusedConv2D: Conv2DFn;
  _FusedDepthwiseConv2D: Conv2DFn;
  _Conv2D: Conv2DFn;
}

/** tfjs-backend-wasm's FusableActivation codes. */
const ACTIVATION_CODES: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };

export type DirectCallObserver = (kernelName: string, run: () => void) => void;
let observer: DirectCallObserver | null = null;

/** Profilers: see every direct call as `run` under its kernel's name (null: stop). */
export function observeDirectCalls(o: DirectCallObserver | null): void {
  observer = o;
}

function call(kernelName: string, run: () => void): void {
  if (observer == null) run();
  else observer(kernelName, run);
}

function exportsOf(b: WasmBackendLike): BackendExports {
  return (b as unknown as { wasm: BackendExports }).wasm;
}

/** The wasm backend's id of a tensor (what its C functions take). */
function tensorId(b: WasmBackendLike, t: TensorInfo): number {
  return (b.dataIdMap.get(t.dataId) as unknown as { id: number }).id;
}

/** A convolution's geometry for one input shape (batch included), computed once per shape. */
export class ConvGeometry {
  private readonly cache = new Map<string, backend_util.Conv2DInfo>();
  constructor(
    private readonly filterShape: Shape4,
    private readonly strides: [number, number],
    private readonly dilations: [number, number],
    private readonly pad: backend_util.Conv2DInfo['padInfo']['type'] | 'same' | 'valid' | backend_util.ExplicitPadding,
    private readonly depthwise: boolean,
  ) {}

  of(xShape: number[]): backend_util.Conv2DInfo {
    const key = xShape.join(',');
    let info = this.cache.get(key);
    if (info === undefined) {
      const pad = this.pad as 'same' | 'valid' | backend_util.ExplicitPadding;
      info = backend_util.computeConv2DInfo(
        xShape as Shape4,
        this.filterShape,
        this.strides,
        this.dilations,
        pad,
        undefined,
        this.depthwise,
      );
      this.cache.set(key, info);
    }
    return info;
  }
}

/** [filterHeight, filterWidth] and [padTop, padRight, padBottom, padLeft, isSamePad, dilations, strides, in, out]. */
const convArgs = new WeakMap<backend_util.Conv2DInfo, [number[], number[]]>();

function argsOf(info: backend_util.Conv2DInfo): [number[], number[]] {
  let args = convArgs.get(info);
  if (args === undefined) {
    const p = info.padInfo;
    const pads = [p.top, p.right, p.bottom, p.left, p.type === 'SAME' ? 1 : 0];
    const steps = [info.dilationHeight, info.dilationWidth, info.strideHeight, info.strideWidth];
    args = [
      [info.filterHeight, info.filterWidth],
      [...pads, ...steps, info.inChannels, info.outChannels],
    ];
    convArgs.set(info, args);
  }
  return args;
}

/** The wasm backend's (Fused)Conv2D / FusedDepthwiseConv2D on x: a new tensor of info.outShape. */
export function convCall(
  b: WasmBackendLike,
  kind: 'FusedConv2D' | 'FusedDepthwiseConv2D' | 'Conv2D',
  info: backend_util.Conv2DInfo,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | null,
  activation: string,
): TensorInfo {
  const out = b.makeOutput(info.outShape, 'float32');
  const [xId, fId, outId] = [tensorId(b, x), tensorId(b, filter), tensorId(b, out)];
  const [n, h, w] = x.shape as [number, number, number];
  const [taps, rest] = argsOf(info);
  const wasm = exportsOf(b);
  if (kind === 'Conv2D') {
    call(kind, () => wasm._Conv2D(xId, n, h, w, fId, ...taps, ...rest, outId));
    return out;
  }
  const biasId = bias == null ? 0 : tensorId(b, bias);
  const act = ACTIVATION_CODES[activation];
  if (act === undefined) throw new Error(`PathLens: activation '${activation}' cannot be fused on wasm.`);
  // (activation, then PReLU weights and leaky-ReLU alpha: none)
  const fused = [xId, n, h, w, fId, ...taps, biasId, ...rest, act, 0, 0, outId];
  if (kind === 'FusedConv2D') call(kind, () => wasm._FusedConv2D(...fused));
  else call(kind, () => wasm._FusedDepthwiseConv2D(...fused));
  return out;
}

/** The dimension arguments of the direct C convolution-gradient kernels (native/wasm-kernels/conv.c). */
export function directDims(info: backend_util.Conv2DInfo): number[] {
  return [
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

/** A C kernel of PathLens's module writing one new float32 tensor of `shape` (its offset passed to `run`). */
export function nativeCall(b: WasmBackendLike, kernelName: string, shape: number[], run: (out: number) => void): TensorInfo {
  const out = b.makeOutput(shape, 'float32');
  const at = heapOffset(b, out);
  call(kernelName, () => run(at));
  return out;
}

/** a + b, elementwise, same shapes (PathLens's `add`: the same float32 sums as the backend's Add). */
export function addSameShape(b: WasmBackendLike, native: NativeKernels, x: TensorInfo, y: TensorInfo): TensorInfo {
  const n = x.shape.reduce((p, d) => p * d, 1);
  const [xAt, yAt] = [heapOffset(b, x), heapOffset(b, y)];
  return nativeCall(b, 'PathLensAdd', [...x.shape], (out) => native.add(xAt, yAt, out, n));
}
