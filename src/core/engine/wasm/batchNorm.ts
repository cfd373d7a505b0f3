/**
 * FusedBatchNorm on wasm (speed): the backend's own kernel takes a square root and a division per
 * element in a scalar loop (a quarter of a MobileNetV2 evaluation with unfolded BatchNormalization).
 * Here the per-channel sqrt(variance + ε) is taken once and the SIMD kernel computes
 * offset + ((x − mean) · scale) / sd per element in float32 (the original's formula; it rounds a
 * few results differently in the last bit).
 * Parameters must be per channel of x's last axis (or scalars); anything else runs the original.
 */
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { nativeKernels } from './native';
import { callOriginal, heapOffset, type WasmBackendLike } from './scope';

/** `values` of a per-channel (or scalar) parameter expanded to `channels` entries, else null. */
function perChannel(backend: WasmBackendLike, t: TensorInfo | undefined, channels: number, dflt: number): Float32Array | null {
  if (t == null) return new Float32Array(channels).fill(dflt);
  if (t.dtype !== 'float32') return null;
  const size = util.sizeFromShape(t.shape);
  const v = backend.typedArrayFromHeap(t) as Float32Array;
  if (size === channels) return Float32Array.from(v);
  if (size === 1) return new Float32Array(channels).fill(v[0]!);
  return null;
}

export const fusedBatchNorm: KernelFunc = (args) => {
  const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
  const { varianceEpsilon } = args.attrs as unknown as { varianceEpsilon: number };
  const backend = args.backend as WasmBackendLike;
  const native = nativeKernels(backend);
  const channels = x?.shape[x.shape.length - 1] ?? 0;
  if (native == null || x == null || x.dtype !== 'float32' || channels === 0 || mean == null || variance == null) {
    return callOriginal('FusedBatchNorm', args);
  }
  const params = [perChannel(backend, mean, channels, 0), perChannel(backend, variance, channels, 0)];
  params.push(perChannel(backend, offset, channels, 0), perChannel(backend, scale, channels, 1));
  if (params.some((p) => p == null)) return callOriginal('FusedBatchNorm', args);
  const [m, v, o, s] = params as Float32Array[];
  const eps = Math.fround(varianceEpsilon);
  const sd = v!.map((vi) => Math.fround(Math.sqrt(Math.fround(vi + eps))));
  const packed = new Float32Array(4 * channels);
  [m!, sd, o!, s!].forEach((p, k) => packed.set(p, k * channels));
  const out = backend.makeOutput([...x.shape], 'float32');
  const temp = backend.makeOutput([4 * channels], 'float32', undefined, packed);
  try {
    const base = heapOffset(backend, temp);
    const at = (k: number) => base + 4 * k * channels;
    const pixels = util.sizeFromShape(x.shape) / channels;
    native.batchnorm(heapOffset(backend, x), heapOffset(backend, out), pixels, channels, at(0), at(1), at(2), at(3));
  } finally {
    backend.disposeData(temp.dataId);
  }
  return out;
};
