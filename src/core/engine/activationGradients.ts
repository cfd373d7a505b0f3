/**
 * One-pass input gradient of BatchNormalization → ReLU (→ clip to [lo, hi], lo ≤ 0 ≤ hi): the
 * Keras/Teachable-Machine MobileNetV2 block tail (`ReLU(max_value=6)` runs Relu then ClipByValue),
 * whose gradient TF.js computes in three full passes (clip mask, relu mask, per-channel BatchNorm
 * scale). On wasm, when the tape shows the chain is private (each intermediate has one consumer),
 * the BatchNorm parameters are constants and this is a first-order input gradient inside
 * `withInputGradientsOnly`, the first gradient of the chain (the clip's, or the ReLU's when there is
 * no clip) computes the whole chain with the SIMD kernel `activation_batchnorm_grad` (bit-identical
 * to the three passes) and tags its result; the later gradients of the chain pass a tagged dy
 * through unchanged. Anything else runs the unfused gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getKernel, registerKernel, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { inputGradientsOnly, leadsFromX, observeTape, type TapeInputs } from './inputGradients';
import { nativeKernels } from './wasm/native';
import { heapOffset, type WasmBackendLike } from './wasm/scope';

const KERNEL = 'PathLensActivationBatchNormGrad';

interface TapeRecord {
  kernelName: string;
  inputs: TapeInputs;
  saved: tf.Tensor[];
  attrs: Record<string, unknown>;
}

const RECORDED = new Set(['FusedBatchNorm', 'Reshape', 'Relu', 'ClipByValue']);
/** The recorded nodes by the id of their (single) output. */
let producers = new Map<number, TapeRecord>();
/** How many tape nodes take each tensor (by id) as input, not counting the clones kept for backprop. */
let consumers = new Map<number, number>();
/** Single-input nodes by output id: a node whose output another node saves was a clone for saving. */
let cloneSources = new Map<number, number>();
/** Saved clone id → id of the tensor it copies. */
let cloneOf = new Map<number, number>();

observeTape({
  node(kernelName, inputs, outputs, saved, attrs) {
    const ins = Object.values(inputs).filter((t) => t != null);
    for (const t of ins) consumers.set(t.id, (consumers.get(t.id) ?? 0) + 1);
    if (ins.length === 1 && outputs.length === 1) cloneSources.set(outputs[0]!.id, ins[0]!.id);
    // The engine records each saved tensor's clone as a tape node just before this one.
    for (const s of saved) {
      const source = cloneSources.get(s.id);
      if (source === undefined) continue;
      consumers.set(source, (consumers.get(source) ?? 1) - 1);
      cloneOf.set(s.id, source);
    }
    if (RECORDED.has(kernelName) && outputs.length === 1) {
      producers.set(outputs[0]!.id, { kernelName, inputs, saved, attrs: (attrs ?? {}) as Record<string, unknown> });
    }
  },
  reset() {
    producers = new Map();
    consumers = new Map();
    cloneSources = new Map();
    cloneOf = new Map();
  },
});

/** A fused result passes unchanged through the ReLU and BatchNorm gradients whose saved inputs are these. */
interface PassThrough {
  reluSaved?: tf.Tensor;
  batchNormSaved: tf.Tensor;
}
const passThrough = new WeakMap<tf.Tensor, PassThrough>();

/** The record of `kernelName` that produced tensor `id` for one consumer only, or null. */
function privateProducer(id: number | undefined, kernelName: string): TapeRecord | null {
  if (id === undefined || consumers.get(id) !== 1) return null;
  const r = producers.get(id);
  return r != null && r.kernelName === kernelName ? r : null;
}

interface BatchNormBelow {
  /** The BatchNorm output as the activation saw it (a saved clone, alive during backprop). */
  y: tf.Tensor;
  /** The BatchNorm's saved input. */
  x: tf.Tensor;
  variance: tf.Tensor;
  scale: tf.Tensor | undefined;
  epsilon: number;
}

/**
 * The inference BatchNorm privately feeding tensor `yId` (directly, or through the same-shape
 * Reshape that tf.batchNorm ends with), seen by the activation as its saved clone `y`; else null.
 */
function batchNormBelow(yId: number | undefined, y: tf.Tensor): BatchNormBelow | null {
  const reshape = privateProducer(yId, 'Reshape');
  const bnOut = reshape != null && tf.util.arraysEqual(reshape.inputs.x?.shape ?? [], y.shape) ? reshape.inputs.x!.id : yId;
  const r = privateProducer(bnOut, 'FusedBatchNorm');
  if (r == null) return null;
  const [x, mean, variance, scale] = r.saved;
  const channels = y.shape[y.rank - 1]!;
  const perChannel = (t: tf.Tensor | undefined) => t == null || (t.dtype === 'float32' && t.size === channels && leadsFromX(t) === false);
  if (x == null || mean == null || variance == null || !perChannel(mean) || !perChannel(variance) || !perChannel(scale)) return null;
  if (r.inputs.offset != null && leadsFromX(r.inputs.offset) !== false) return null;
  // (the same shapes batchNormGrad.ts takes its fast path for, so that it passes the result through)
  if (x.dtype !== 'float32' || x.rank !== 4 || mean.rank !== 1 || !tf.util.arraysEqual(x.shape, y.shape)) return null;
  return { y, x, variance, scale, epsilon: r.attrs.varianceEpsilon as number };
}

let fusionEnabled = true;

/** Tests and the bench: compute the chain's three gradients separately (same result, slower). */
export function setActivationFusionEnabled(on: boolean): void {
  fusionEnabled = on;
}

function fusable(g: tf.Tensor, y: tf.Tensor): boolean {
  if (!fusionEnabled) return false;
  const engine = tf.engine() as unknown as { backendName: string; backend: unknown; state: { gradientDepth: number } };
  return (
    engine.backendName === 'wasm' &&
    inputGradientsOnly() &&
    engine.state.gradientDepth === 0 &&
    getKernel(KERNEL, 'wasm') != null &&
    nativeKernels(engine.backend) != null &&
    g.dtype === 'float32' &&
    y.dtype === 'float32' &&
    tf.util.arraysEqual(g.shape, y.shape)
  );
}

function fused(g: tf.Tensor, bn: BatchNormBelow, hi: number, tag: PassThrough): tf.Tensor {
  const c = bn.y.shape[bn.y.rank - 1]!;
  const a = tf.rsqrt(tf.add(bn.variance, tf.scalar(bn.epsilon)));
  const out = tf.engine().runKernel(KERNEL, { g, y: bn.y, a, b: bn.scale ?? tf.ones([c]) }, { hi }) as tf.Tensor;
  passThrough.set(out, tag);
  return out;
}

/** ClipByValue's gradient: the whole chain's when it is BatchNorm → ReLU → this clip, else null. */
export function clipChainGradient(dy: tf.Tensor, savedX: tf.Tensor, attrs: Record<string, unknown>): tf.Tensor | null {
  const [lo, hi] = [attrs.clipValueMin as number, attrs.clipValueMax as number];
  if (!(lo <= 0 && hi >= 0)) return null;
  const relu = privateProducer(cloneOf.get(savedX.id), 'Relu');
  const y = relu?.saved[0];
  if (relu == null || y == null || !fusable(dy, y)) return null;
  const bn = batchNormBelow(relu.inputs.x?.id, y);
  return bn == null ? null : fused(dy, bn, hi, { reluSaved: y, batchNormSaved: bn.x });
}

/** Relu's gradient: dy itself when the clip above computed the chain; the chain's when BatchNorm → ReLU; else null. */
export function reluChainGradient(dy: tf.Tensor, savedX: tf.Tensor): tf.Tensor | null {
  if (passThrough.get(dy)?.reluSaved === savedX) return dy;
  if (!fusable(dy, savedX)) return null;
  const bn = batchNormBelow(cloneOf.get(savedX.id), savedX);
  return bn == null ? null : fused(dy, bn, Infinity, { batchNormSaved: bn.x });
}

/** FusedBatchNorm's input gradient: true when a fused chain above already applied it to dy. */
export function batchNormPassThrough(dy: tf.Tensor, savedX: tf.Tensor): boolean {
  return passThrough.get(dy)?.batchNormSaved === savedX;
}

/** Reshape's gradient keeps a fused result's pass-through (tf.batchNorm ends with a Reshape). */
export function keepPassThrough(from: tf.Tensor, to: tf.Tensor): tf.Tensor {
  const tag = passThrough.get(from);
  if (tag != null) passThrough.set(to, tag);
  return to;
}

const activationBatchNormGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { g, y, a, b } = inputs as Record<string, TensorInfo>;
  const bk = backend as unknown as WasmBackendLike;
  const native = nativeKernels(bk);
  if (native == null) throw new Error(`PathLens: ${KERNEL} needs WebAssembly SIMD.`);
  const out = bk.makeOutput([...g!.shape], 'float32');
  const channels = g!.shape[g!.shape.length - 1]!;
  const pixels = g!.shape.reduce((p, d) => p * d, 1) / channels;
  const at = (t: TensorInfo) => heapOffset(bk, t);
  native.activation_batchnorm_grad(at(g!), at(y!), at(a!), at(b!), at(out), pixels, channels, (attrs as { hi: number }).hi);
  return out;
};

export function registerActivationGradientKernel(): void {
  if (getKernel(KERNEL, 'wasm') == null) registerKernel({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: activationBatchNormGrad });
}
