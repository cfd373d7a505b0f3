/**
 * Kernels the TF.js wasm backend (4.22) lacks, gets wrong or runs slowly for the *input gradients*
 * of common Keras layers / MobileNet-style graph models, registered by `registerWasmKernels`.
 * Each family lives in src/core/engine/wasm/: conv.ts (convolution gradients), batchNorm.ts
 * (FusedBatchNorm), pool.ts (max-pool gradients), data.ts (UnsortedSegmentSum, Tile, Identity,
 * Slice, PadV2); the SIMD kernels they call are C (native/wasm-kernels/, loaded by wasm/native.ts).
 * Also registered from here: the SIMD ClipByValue/Relu6/Relu gradients (wasmSimd.ts), the one-pass
 * BatchNorm → ReLU → clip gradient (activationGradients.ts) and the input-only FusedBatchNorm
 * gradient (batchNormGrad.ts). Weight-gradient skipping for attribution is
 * in inputGradients.ts (`withInputGradientsOnly`).
 */
import { getKernel, registerKernel, unregisterKernel, type KernelFunc } from '@tensorflow/tfjs-core';
import { registerSimdGradients } from './wasmSimd';
import { registerBatchNormGradient } from './batchNormGrad';
import { fusedBatchNorm } from './wasm/batchNorm';
import { conv2DBackpropFilter, conv2DBackpropInput, depthwiseBackpropFilter, depthwiseBackpropInput } from './wasm/conv';
import { identity, padV2, slice, tile, unsortedSegmentSum } from './wasm/data';
import { maxPoolGrad, maxPoolWithArgmax } from './wasm/pool';
import { BACKEND, hasOriginal, keepOriginal } from './wasm/scope';

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
  'FusedBatchNorm',
  'PadV2',
] as const;

/** How each PathLens kernel computes (for the bench's per-kernel profile). */
export const PATHLENS_KERNEL_SOURCES: Record<string, string> = {
  Conv2DBackpropFilter: 'composed (XNNPACK depthwise im2col + BatchMatMul)',
  DepthwiseConv2dNativeBackpropInput: 'C SIMD (direct)',
  DepthwiseConv2dNativeBackpropFilter: 'composed (StridedSlice + Multiply + BatchMatMul)',
  UnsortedSegmentSum: 'composed (OneHot + BatchMatMul)',
  MaxPoolGrad: 'JS loop',
  MaxPoolWithArgmax: 'JS loop',
  Tile: 'composed (Multiply broadcast)',
  Conv2DBackpropInput: 'C SIMD (< 8 in-channels) / PadV2 + XNNPACK Conv2D',
  Identity: 'shares data',
  Slice: 'JS copyWithin (whole: shares data)',
  FusedBatchNorm: 'C SIMD',
  PadV2: 'JS copyWithin (zero padding: shares data)',
  PathLensMaskGrad: 'C SIMD',
  PathLensChannelScale: 'C SIMD',
  PathLensActivationBatchNormGrad: 'C SIMD (BatchNorm → ReLU → clip gradient in one pass)',
  PathLensDepthwiseGradMasked: 'C SIMD (depthwise dx × the ReLU mask of its input)',
  PathLensCol2Im: 'C SIMD (conv dx from the XNNPACK product dy · filter, summed per input pixel)',
  PathLensMean: 'C SIMD (global average pooling in one pass)',
  PathLensAdd: 'C SIMD (same-shape sums of the layers plan)',
  PathLensNet: 'layers plan forward (own JS + output allocation)',
  PathLensNetGrad: 'layers plan backward (own JS + output allocation)',
};

/** Kernels replaced for speed only: the wasm backend's own version handles the cases we do not. */
const WRAPS_ORIGINAL = new Set<string>(['Tile', 'Conv2DBackpropInput', 'Identity', 'Slice', 'FusedBatchNorm', 'PadV2']);

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
  FusedBatchNorm: fusedBatchNorm,
  PadV2: padV2,
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
      if (WRAPS_ORIGINAL.has(name)) keepOriginal(name, existing.kernelFunc);
      unregisterKernel(name, BACKEND);
    }
    if (WRAPS_ORIGINAL.has(name) && !hasOriginal(name)) continue; // nothing to delegate to: keep none
    // Keep the original's setupFunc (wasm kernels bind their C++ functions there).
    registerKernel({ ...(existing ?? {}), kernelName: name, backendName: BACKEND, kernelFunc: KERNELS[name] });
  }
  registerSimdGradients();
  registerBatchNormGradient();
}
