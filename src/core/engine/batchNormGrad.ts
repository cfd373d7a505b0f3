/**
 * FusedBatchNorm gradient without the eager waste. TF.js' gradient computes `x − mean` and
 * `dy · scale` (full activation-sized passes) before knowing which derivatives are wanted, and the
 * input derivative tiles 1/√(var+ε) to the activation's shape before multiplying. For an inference
 * BatchNormalization (tm-objects has 52) only ∂/∂x is needed: dx = (dy · r) · scale with r
 * broadcast per channel — the same products in the same order, so bit-identical (on wasm in one
 * SIMD pass, `channelScale2`).
 *
 * The fast form is used only when the tape tracking of `inputGradients.ts` shows that mean,
 * variance and scale do not lead from the xs being differentiated; otherwise (training, or unknown)
 * TF.js' own gradient runs unchanged. The offset derivative is TF.js' (lazy) formula.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getGradient, registerGradient, type GradConfig } from '@tensorflow/tfjs-core';
import { installTapeHooks, leadsFromX } from './inputGradients';
import { channelScale2 } from './wasmSimd';
import { batchNormPassThrough } from './activationGradients';

let ours: GradConfig['gradFunc'] | null = null;

/** The chain is fused only when no BatchNorm parameter needs a gradient: reaching here is a bug. */
function notFused(): never {
  throw new Error('PathLens: a BatchNorm parameter gradient was asked for after its input gradient was fused.');
}

export function registerBatchNormGradient(): void {
  installTapeHooks();
  const original = getGradient('FusedBatchNorm');
  if (original == null || original.gradFunc === ours) return;
  const gradFunc: GradConfig['gradFunc'] = (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as tf.Tensor[];
    const weightsFree = [mean, variance, scale].every((t) => t == null || leadsFromX(t) === false);
    if (Array.isArray(dy) || !weightsFree || mean!.rank !== 1 || x!.rank !== 4) return original.gradFunc(dy, saved, attrs);
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const c = mean!.shape[0]!;
    // A fused activation gradient above has applied this BatchNorm already (activationGradients.ts).
    const applied = batchNormPassThrough(dy, x!);
    return {
      x: () => {
        if (applied) return dy;
        const r = tf.rsqrt(tf.add(variance!, tf.scalar(varianceEpsilon)));
        // On wasm one SIMD pass computes both products (same order, same result).
        const fused = channelScale2(dy, r, scale ?? tf.ones([c]));
        if (fused != null) return fused;
        const scaled = tf.mul(dy, tf.reshape(r, [1, 1, 1, c]));
        return tf.reshape(tf.mul(scaled, scale == null ? tf.scalar(1) : scale), x!.shape);
      },
      offset: () => (applied ? notFused() : tf.reshape(tf.sum(dy, [0, 1, 2]), mean!.shape)),
      mean: () => (applied ? notFused() : (original.gradFunc(dy, saved, attrs) as Record<string, () => tf.Tensor>).mean!()),
      variance: () => (applied ? notFused() : (original.gradFunc(dy, saved, attrs) as Record<string, () => tf.Tensor>).variance!()),
      scale: () => (applied ? notFused() : (original.gradFunc(dy, saved, attrs) as Record<string, () => tf.Tensor>).scale!()),
    };
  };
  ours = gradFunc;
  registerGradient({ ...original, gradFunc });
}
