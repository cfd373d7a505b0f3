/**
 * MaxPoolGrad and MaxPoolWithArgmax on wasm. The backend's own kernels compute wrong results (their
 * window maximum starts at FLT_MIN, so windows whose values are all ≤ 0 yield 1.18e-38 / index 0);
 * these typed-array versions follow the cpu backend (first maximum wins).
 */
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { Shape4, WasmBackendLike } from './scope';

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

export const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
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

export const maxPoolWithArgmax: KernelFunc = ({ inputs, backend, attrs }) => {
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
