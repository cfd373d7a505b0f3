/**
 * Element-wise gradient masks that TF.js composes from 4–5 slow generic kernels (broadcasting
 * comparisons, LogicalAnd, Select, ZerosLike each make a full pass, and the comparisons with a
 * scalar take the scalar broadcast path of wasm's binary op), as one SIMD pass on the wasm heap
 * (C: native/wasm-kernels/elementwise.c):
 *
 *   PathLensMaskGrad  dx = mask(x) ? dy : +0                 (mode 'select': ClipByValue's gradient,
 *                                                             mask = lo ≤ x ≤ hi — exactly
 *                                                             where(logicalAnd(x ≥ lo, x ≤ hi), dy, 0))
 *                     dx = dy · (lo < x ≤ hi ? 1 : 0)        (mode 'multiply': Relu6 / Relu gradients,
 *                                                             exactly dy · cast(x ≤ 6) · step(x) and
 *                                                             dy · step(x) of the wasm backend, whose
 *                                                             step(NaN) is NaN)
 *   PathLensChannelScale  dx[…, c] = (dy[…, c] · a[c]) · b[c]  (BatchNorm's input gradient)
 *
 * The gradients of ClipByValue, Relu6 and Relu are re-registered to use the mask kernel when the
 * current backend has it (wasm), and the unchanged TF.js formulas otherwise. Results are
 * bit-identical to the wasm backend's own composition (tests in test/wasm-gradients.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  getGradient,
  getKernel,
  registerGradient,
  registerKernel,
  type GradConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { nativeKernels } from './wasm/native';
import { heapOffset, type WasmBackendLike } from './wasm/scope';
import { clipChainGradient, keepPassThrough, registerActivationGradientKernel, reluChainGradient } from './activationGradients';

export const MASK_GRAD_KERNEL = 'PathLensMaskGrad';
export const CHANNEL_SCALE_KERNEL = 'PathLensChannelScale';

/** Is the SIMD module usable on this backend (wasm with SIMD in this runtime)? */
export function simdAvailable(backend: unknown): boolean {
  return nativeKernels(backend) != null;
}

const maskGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { lo, hi, mode } = attrs as unknown as { lo: number; hi: number; mode: 'select' | 'multiply' };
  const b = backend as unknown as WasmBackendLike;
  const native = nativeKernels(b);
  if (native == null) throw new Error(`PathLens: ${MASK_GRAD_KERNEL} needs WebAssembly SIMD.`);
  const out = b.makeOutput([...dy.shape], 'float32');
  const n = dy.shape.reduce((a, d) => a * d, 1);
  const kernel = mode === 'select' ? native.mask_select : native.mask_multiply;
  kernel(heapOffset(b, x), heapOffset(b, dy), heapOffset(b, out), n, lo, hi);
  return out;
};

const channelScale: KernelFunc = ({ inputs, backend }) => {
  const { x, a, b: s } = inputs as { x: TensorInfo; a: TensorInfo; b: TensorInfo };
  const b = backend as unknown as WasmBackendLike;
  const native = nativeKernels(b);
  if (native == null) throw new Error(`PathLens: ${CHANNEL_SCALE_KERNEL} needs WebAssembly SIMD.`);
  const out = b.makeOutput([...x.shape], 'float32');
  const channels = x.shape[x.shape.length - 1]!;
  const pixels = x.shape.reduce((p, d) => p * d, 1) / channels;
  native.channel_scale2(heapOffset(b, x), heapOffset(b, a), heapOffset(b, s), heapOffset(b, out), pixels, channels);
  return out;
};

/**
 * (x · a) · b with a, b per channel of x's last axis, in one pass on wasm (null when this backend
 * cannot: the caller computes it with two multiplications, same result).
 */
export function channelScale2(x: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor | null {
  const engine = tf.engine();
  const channels = x.shape[x.rank - 1];
  if (engine.backendName !== 'wasm' || getKernel(CHANNEL_SCALE_KERNEL, 'wasm') == null || !simdAvailable(engine.backend)) return null;
  if ([x, a, b].some((t) => t.dtype !== 'float32') || a.size !== channels || b.size !== channels) return null;
  return engine.runKernel(CHANNEL_SCALE_KERNEL, { x, a, b }, {}) as tf.Tensor;
}

// ---------------------------------------------------------------------------------------------
// gradients

const ours = new WeakSet<GradConfig['gradFunc']>();

function fastPath(x: tf.Tensor, dy: tf.Tensor): boolean {
  const engine = tf.engine();
  if (engine.backendName !== 'wasm' || getKernel(MASK_GRAD_KERNEL, 'wasm') == null) return false;
  return (
    x.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    x.size === dy.size &&
    tf.util.arraysEqual(x.shape, dy.shape) &&
    simdAvailable(engine.backend)
  );
}

function maskGradOf(x: tf.Tensor, dy: tf.Tensor, lo: number, hi: number, mode: 'select' | 'multiply'): tf.Tensor {
  return tf.engine().runKernel(MASK_GRAD_KERNEL, { x, dy }, { lo, hi, mode }) as tf.Tensor;
}

const FAST_GRADS: Record<string, (dy: tf.Tensor, x: tf.Tensor, attrs: Record<string, unknown>) => tf.Tensor> = {
  ClipByValue: (dy, x, attrs) => maskGradOf(x, dy, attrs.clipValueMin as number, attrs.clipValueMax as number, 'select'),
  Relu6: (dy, x) => maskGradOf(x, dy, 0, 6, 'multiply'),
  Relu: (dy, x) => maskGradOf(x, dy, 0, Infinity, 'multiply'),
};

/** Gradients that may compute (or pass through) a whole BatchNorm → ReLU → clip chain at once. */
const CHAIN_GRADS: Record<string, (dy: tf.Tensor, x: tf.Tensor, attrs: Record<string, unknown>) => tf.Tensor | null> = {
  ClipByValue: clipChainGradient,
  Relu: (dy, x) => reluChainGradient(dy, x),
};

let reshapeGrad: GradConfig['gradFunc'] | null = null;

/** Reshape's gradient, carrying a fused activation gradient's pass-through (activationGradients.ts). */
function registerReshapeGradient(): void {
  const original = getGradient('Reshape');
  if (original == null || original.gradFunc === reshapeGrad) return;
  reshapeGrad = (dy, saved, attrs) => {
    const grads = original.gradFunc(dy, saved, attrs) as Record<string, () => tf.Tensor>;
    if (Array.isArray(dy)) return grads;
    return { ...grads, x: () => keepPassThrough(dy, grads.x!()) };
  };
  registerGradient({ ...original, gradFunc: reshapeGrad });
}

/**
 * Register the SIMD kernel for wasm and the ClipByValue / Relu6 / Relu gradients that use it there
 * (elsewhere, and for non-float inputs, they call TF.js' own gradient). Idempotent.
 */
export function registerSimdGradients(): void {
  if (getKernel(MASK_GRAD_KERNEL, 'wasm') == null) {
    registerKernel({ kernelName: MASK_GRAD_KERNEL, backendName: 'wasm', kernelFunc: maskGrad });
  }
  if (getKernel(CHANNEL_SCALE_KERNEL, 'wasm') == null) {
    registerKernel({ kernelName: CHANNEL_SCALE_KERNEL, backendName: 'wasm', kernelFunc: channelScale });
  }
  registerActivationGradientKernel();
  registerReshapeGradient();
  for (const [name, fast] of Object.entries(FAST_GRADS)) {
    const original = getGradient(name);
    if (original == null || ours.has(original.gradFunc)) continue;
    const chain = CHAIN_GRADS[name];
    const gradFunc: GradConfig['gradFunc'] = (dy, saved, attrs) => {
      const x = saved[0]!;
      const a = attrs as Record<string, unknown>;
      const fusedChain = chain != null && !Array.isArray(dy) ? chain(dy, x, a) : null;
      if (fusedChain != null) return { x: () => fusedChain };
      if (!Array.isArray(dy) && fastPath(x, dy)) return { x: () => fast(dy, x, a) };
      return original.gradFunc(dy, saved, attrs);
    };
    ours.add(gradFunc);
    registerGradient({
      kernelName: name,
      inputsToSave: original.inputsToSave,
      outputsToSave: original.outputsToSave,
      saveAllInputs: original.saveAllInputs,
      gradFunc,
    });
  }
}
