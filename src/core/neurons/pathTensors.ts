/**
 * Tensor building blocks of the neuron attributions: the model split at one layer, F = g∘h, evaluated
 * at a batch of straight-path points with TF.js' reverse mode only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PathLensError } from '../errors';
import { scalarValues, type ExplainedScalar } from '../engine/scalar';
import type { InternalLayer, InternalLayers } from '../model/internalLayers';
import { registerSecondOrderGradients } from '../engine/secondOrderGradients';

/**
 * Step of the central difference giving dh/dα along the path, in units of the path length. Float32
 * rounding contributes ≈ 6e-8/STEP relative error; the truncation error is O(STEP²) for smooth layers,
 * and for piecewise-linear ones (ReLU) zero unless a kink lies within ±STEP of the point.
 */
export const JVP_STEP = 1e-3;

export interface SplitModel {
  fn: ExplainedScalar;
  internals: InternalLayers;
  layer: InternalLayer;
  /** How dh/dα is computed: exact double backward, or a central difference where the ops lack it. */
  jvp?: 'double-backward' | 'central-difference';
}

export function splitModel(fn: ExplainedScalar, layerName: string): SplitModel {
  const internals = fn.model.internals;
  if (!internals) throw new PathLensError('model-unsupported', 'this model format gives no access to its internal layers');
  return { fn, internals, layer: internals.find(layerName) };
}

/** Units of the layer: the product of its per-example shape. */
export function unitCount(split: SplitModel): number {
  return split.layer.shape.reduce((a, b) => a * b, 1);
}

/** Thrown by the capture hook to stop a forward pass once the layer's output is known. */
class CapturedActivation {
  constructor(readonly h: tf.Tensor) {}
}

/** h(points): the layer's output, [B, ...layer shape]; the forward pass stops at the layer. */
export function activations(split: SplitModel, points: tf.Tensor): tf.Tensor {
  try {
    split.internals.through(
      split.layer.name,
      (h) => {
        throw new CapturedActivation(tf.keep(h.clone()));
      },
      () => scalarValues(split.fn, points),
    );
  } catch (err) {
    if (err instanceof CapturedActivation) return err.h;
    throw err;
  }
  throw new PathLensError('internal', `layer '${split.layer.name}' was not reached by the forward pass`);
}

/**
 * At each point p_b: F(p_b), ∇ₓF(p_b) and ∂F/∂h at h(p_b) (the gradient of F with respect to an
 * additive ε on the layer's output, at ε = 0), from one backward pass.
 */
export function layerGradients(split: SplitModel, points: tf.Tensor): { value: tf.Tensor1D; gradX: tf.Tensor; gradH: tf.Tensor } {
  const epsilon = tf.zeros([points.shape[0], ...split.layer.shape]);
  const f = (x: tf.Tensor, e: tf.Tensor) =>
    split.internals.through(
      split.layer.name,
      (h) => tf.add(h, e),
      () => scalarValues(split.fn, x),
    );
  const { value, grads } = tf.valueAndGrads((x: tf.Tensor, e: tf.Tensor) => f(x, e))([points, epsilon], tf.ones([points.shape[0]]));
  return { value: value as tf.Tensor1D, gradX: grads[0]!, gradH: grads[1]! };
}

/**
 * dh(p_b + t·direction)/dt at t = 0, [B, ...layer shape]: exact by double backward,
 * J·d = ∇_v (d · Jᵀv), where the model's ops allow it; otherwise a central difference of step JVP_STEP
 * (then `split.jvp` says so, and the result carries that method).
 */
export function activationDerivative(split: SplitModel, points: tf.Tensor, direction: tf.Tensor): tf.Tensor {
  if (split.jvp !== 'central-difference') {
    try {
      const exact = exactJvp(split, points, direction);
      split.jvp = 'double-backward';
      return exact;
    } catch (err) {
      if (!/gradient function not found|not registered|Cannot compute gradient/i.test(String((err as Error).message))) throw err;
      split.jvp = 'central-difference';
    }
  }
  const step = tf.mul(direction, JVP_STEP);
  const ahead = activations(split, tf.add(points, step));
  const behind = activations(split, tf.sub(points, step));
  const derivative = tf.div(tf.sub(ahead, behind), 2 * JVP_STEP);
  tf.dispose([ahead, behind]);
  return derivative;
}

function exactJvp(split: SplitModel, points: tf.Tensor, direction: tf.Tensor): tf.Tensor {
  registerSecondOrderGradients();
  const kept: tf.Tensor[] = [];
  try {
    return tf.grad((v: tf.Tensor) => {
      const vjp = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(activationsOnTape(split, p, kept), v)))(points);
      return tf.sum(tf.mul(vjp, direction));
    })(tf.zeros([points.shape[0]!, ...split.layer.shape]));
  } finally {
    tf.dispose(kept);
  }
}

/** h(points) recorded on the gradient tape (the forward pass stops at the layer); kept tensors go to `kept`. */
function activationsOnTape(split: SplitModel, points: tf.Tensor, kept: tf.Tensor[]): tf.Tensor {
  try {
    split.internals.through(
      split.layer.name,
      (h) => {
        const held = tf.keep(h);
        kept.push(held);
        throw new CapturedActivation(held);
      },
      () => scalarValues(split.fn, points),
    );
  } catch (err) {
    if (err instanceof CapturedActivation) return err.h;
    throw err;
  }
  throw new PathLensError('internal', `layer '${split.layer.name}' was not reached by the forward pass`);
}

/** F with the layer's output replaced by `replacement` (g run on another activation; x feeds any skip paths). */
export function scoresFromActivation(split: SplitModel, inputs: tf.Tensor, replacement: tf.Tensor): tf.Tensor1D {
  return split.internals.through(
    split.layer.name,
    () => replacement,
    () => scalarValues(split.fn, inputs),
  );
}

/**
 * The unit's activation h_k at each point, [B], differentiable with respect to the points. The tensor
 * outlives the model's own tidy scopes: the caller disposes it (and what it kept) via `kept`.
 */
export function unitActivation(split: SplitModel, points: tf.Tensor, unit: number, kept: tf.Tensor[]): tf.Tensor1D {
  const units = unitCount(split);
  const mask = new Float32Array(units);
  mask[unit] = 1;
  const before = kept.length;
  split.internals.through(
    split.layer.name,
    (h) => {
      // One-hot product rather than gather: gather's gradient needs kernels the wasm backend lacks.
      kept.push(tf.keep(tf.sum(tf.mul(tf.reshape(h, [h.shape[0]!, units]), tf.tensor2d(mask, [1, units])), 1)));
      return h;
    },
    () => scalarValues(split.fn, points),
  );
  const selected = kept[before] as tf.Tensor1D | undefined;
  if (!selected) throw new PathLensError('internal', `layer '${split.layer.name}' was not reached by the forward pass`);
  return selected;
}

/** The channel of a spatial [H, W, C] layer holding `unit` (flat index), at one input; null for other layers. */
export function channelActivation(split: SplitModel, input: tf.Tensor, unit: number): { shape: [number, number]; data: number[] } | null {
  const shape = split.layer.shape;
  if (shape.length !== 3) return null;
  const [height, width, channels] = shape as [number, number, number];
  const channel = unit % channels;
  const h = activations(split, input);
  const slice = tf.tidy(() => tf.slice(tf.reshape(h, [height, width, channels]), [0, 0, channel], [height, width, 1]));
  const data = Array.from(slice.dataSync());
  tf.dispose([h, slice]);
  return { shape: [height, width], data };
}
