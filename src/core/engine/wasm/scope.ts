/**
 * What PathLens's wasm kernels share: the parts of the wasm backend they use, a scope that runs other
 * wasm kernels and frees their intermediates, the original kernels that speed-only replacements fall
 * back to, and the padding / upsampling helpers of the convolution gradients.
 */
import {
  backend_util,
  getKernel,
  util,
  type KernelBackend,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { composedKernelCall } from '../inputGradients';

export const BACKEND = 'wasm';

/** The parts of the wasm backend we use (it is not part of the public typings). */
export interface WasmBackendLike extends KernelBackend {
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: unknown): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  wasm: { HEAPU8: Uint8Array; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
}

export type Shape4 = [number, number, number, number];

/** Attributes of the convolution gradient kernels (tfjs-core's kernel attrs, typed for what they read). */
export interface ConvGradAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: WasmBackendLike, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/**
 * Tensors derived once from another tensor's data (a filter flipped and transposed for an input
 * gradient), kept until that tensor's data is freed. A persistent derived filter also lets XNNPACK
 * cache its operator (it packs the weights once per filter tensor; a filter derived per call is
 * packed anew every call). Tensor data is immutable (a Variable's assign gets new data), so the
 * source's dataId identifies its values.
 */
const derived = new WeakMap<object, Map<string, TensorInfo>>();
const releasing = new WeakSet<WasmBackendLike>();

/** Free the tensors derived from `dataId` when the backend frees its data (once per backend). */
function releaseDerivedOnDispose(backend: WasmBackendLike): void {
  if (releasing.has(backend)) return;
  releasing.add(backend);
  const dispose = backend.disposeData.bind(backend);
  backend.disposeData = (dataId: object, force?: boolean): boolean => {
    const freed = dispose(dataId, force);
    const mine = freed ? derived.get(dataId) : undefined;
    if (mine !== undefined) {
      derived.delete(dataId);
      for (const t of mine.values()) dispose(t.dataId, true);
    }
    return freed;
  };
}

/** The tensor `make` derives from `source` (under `key`), made on first use and kept with it. */
export function derivedTensor(backend: WasmBackendLike, source: TensorInfo, key: string, make: () => TensorInfo): TensorInfo {
  releaseDerivedOnDispose(backend);
  let mine = derived.get(source.dataId);
  const known = mine?.get(key);
  if (known !== undefined) return known;
  const t = make();
  if (mine === undefined) derived.set(source.dataId, (mine = new Map()));
  mine.set(key, t);
  return t;
}

const originals = new Map<string, KernelFunc>();

/** Remember the wasm backend's own kernel `name` (speed-only replacements fall back to it). */
export function keepOriginal(name: string, kernel: KernelFunc): void {
  if (!originals.has(name)) originals.set(name, kernel);
}

export function hasOriginal(name: string): boolean {
  return originals.has(name);
}

export function callOriginal(name: string, args: Parameters<KernelFunc>[0]): ReturnType<KernelFunc> {
  const k = originals.get(name);
  if (k == null) throw new Error(`PathLens wasm kernels: the original ${name} kernel is missing.`);
  return k(args);
}

/**
 * Runs wasm kernels and remembers every result so that all intermediates are released in
 * `dispose()`, except those handed out with `keep()`.
 */
export class KernelScope {
  private readonly temps: TensorInfo[] = [];
  constructor(readonly backend: WasmBackendLike) {}

  run(name: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown> = {}): TensorInfo {
    const out = this.runMulti(name, inputs, attrs);
    return out[0]!;
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
export function scoped(backend: unknown, f: (s: KernelScope) => TensorInfo): TensorInfo {
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
export function padSpatial(s: KernelScope, x: TensorInfo, top: number, bottom: number, left: number, right: number): TensorInfo {
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
export function tapSlice(
  s: KernelScope,
  xP: TensorInfo,
  r0: number,
  c0: number,
  outH: number,
  outW: number,
  sh: number,
  sw: number,
): TensorInfo {
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

/**
 * The input of the "full" correlation that computes a conv's input gradient: dy zero-upsampled by the
 * stride (PadV2 on a rank-6 view), then padded (or cropped) so that a VALID, stride-1 correlation
 * with the spatially flipped filter (same dilation) yields dx of the forward input's size.
 */
export function fullCorrelationInput(
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
    const six = s.reshape(dy, [n!, oh, 1, ow, 1, channels]);
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
    up = s.reshape(padded, [n!, lh, lw, channels]);
  }
  // 2. Pad/crop to the "full" correlation window.
  const totalH = h! + info.effectiveFilterHeight - 1;
  const totalW = w! + info.effectiveFilterWidth - 1;
  const beforeH = info.effectiveFilterHeight - 1 - info.padInfo.top;
  const beforeW = info.effectiveFilterWidth - 1 - info.padInfo.left;
  const afterH = totalH - beforeH - lh;
  const afterW = totalW - beforeW - lw;
  let dyP = padSpatial(s, up, Math.max(0, beforeH), Math.max(0, afterH), Math.max(0, beforeW), Math.max(0, afterW));
  if (beforeH < 0 || afterH < 0 || beforeW < 0 || afterW < 0) {
    dyP = s.run('Slice', { x: dyP }, { begin: [0, Math.max(0, -beforeH), Math.max(0, -beforeW), 0], size: [n, totalH, totalW, channels] });
  }
  return dyP;
}
