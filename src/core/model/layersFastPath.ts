/**
 * The fast path of a loaded TF.js layers model: its plan (layersPlan.ts, BatchNorm folded, activations
 * and padding fused) run as one wasm kernel with one gradient (engine/wasm/net.ts). Used for the
 * model's logits whenever it can run (wasm with SIMD, first-order gradients, no internal-layer hook);
 * otherwise, and for models the plan does not cover, the layers model runs as before.
 *
 * PATHLENS_LAYERS_PLAN=0 turns it off. PATHLENS_LAYERS_PLAN_CHECK=1 checks at load the plan's logits
 * for a seeded random input against the layers model's and drops the plan on a mismatch beyond float32
 * rounding (a debugging aid: it costs a layers forward pass and its XNNPACK operators, ~0.1–0.3 s per
 * load of tm-objects, which is why it is off; test/layers-plan.test.ts checks plans against layers).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { layersPlanEnabled, prepareWasmNet, type WasmNet } from '../engine/wasm/net';
import { compileLayersPlan } from './layersPlan';

/** Largest |plan − layers| / max|layers| accepted by the load-time check. */
const LOAD_CHECK_TOLERANCE = 1e-3;

export interface LayersFastPath {
  /** The logits model's output for x through the plan, or null (run the layers model). */
  logits(x: tf.Tensor): tf.Tensor2D | null;
  /** Run `f` with the plan off. */
  suspended<T>(f: () => T): T;
  dispose(): void;
}

/** Relative max difference of two equally shaped tensors (0 when both are all zero). */
export function relativeMaxDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => {
    const scale = tf.max(tf.abs(b)).dataSync()[0]!;
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
    return scale > 0 ? diff / scale : diff;
  });
}

function agrees(net: WasmNet, logitModel: tfl.LayersModel, inputShape: number[]): boolean {
  return tf.tidy(() => {
    const x = tf.randomUniform([1, ...inputShape], -1, 1, 'float32', 17);
    const fast = net.run(x);
    if (fast == null || fast.rank !== 2) return false;
    const slow = logitModel.predict(x) as tf.Tensor;
    return tf.util.arraysEqual(fast.shape, slow.shape) && relativeMaxDifference(fast, slow) <= LOAD_CHECK_TOLERANCE;
  });
}

/**
 * The fast path for `logitModel` (the model without its final softmax/sigmoid, or the model itself),
 * or null when the plan does not cover it or the backend cannot run it.
 */
export function layersFastPath(logitModel: tfl.LayersModel, inputShape: number[]): LayersFastPath | null {
  if (process.env.PATHLENS_LAYERS_PLAN === '0') return null;
  const compiled = compileLayersPlan(logitModel, inputShape);
  if (!('plan' in compiled)) return null;
  let net: WasmNet | null;
  try {
    net = prepareWasmNet(compiled.plan);
  } catch {
    return null; // (no plan is never an error: the layers model runs)
  }
  if (net == null) return null;
  if (process.env.PATHLENS_LAYERS_PLAN_CHECK === '1' && !agrees(net, logitModel, inputShape)) {
    net.dispose();
    return null;
  }
  return {
    logits: (x) => (layersPlanEnabled() ? (net.run(x) as tf.Tensor2D | null) : null),
    suspended: (f) => net.suspended(f),
    dispose: () => net.dispose(),
  };
}
