import * as tf from '@tensorflow/tfjs-core';
import type { LoadedModel } from '../model/load';
import type { OutputKind } from '../types';
import { withInputGradientsOnly } from './inputGradients';

/** F: the model's score for one class, as logit or probability. */
export interface ExplainedScalar {
  readonly model: LoadedModel;
  readonly target: number;
  readonly output: OutputKind;
}

/**
 * F for every example of a batch, [B]. The class is picked with a one-hot product rather than
 * `tf.gather`, whose gradient needs kernels some backends lack and which is no faster here.
 */
export function scalarValues(fn: ExplainedScalar, batch: tf.Tensor, rowTargets?: readonly number[]): tf.Tensor1D {
  const scores = fn.model.scores(batch, fn.output);
  const classes = fn.model.numClasses;
  const targets = rowTargets ?? [fn.target];
  const mask = new Float32Array(targets.length * classes);
  targets.forEach((target, row) => (mask[row * classes + target] = 1));
  return tf.sum(tf.mul(scores, tf.tensor2d(mask, [targets.length, classes])), 1) as tf.Tensor1D;
}

/**
 * F and ∇ₓF for every example of a batch (examples are independent, so one backward pass serves all).
 * Weight gradients that TF.js' fused convolutions would compute and discard are skipped. `rowTargets`:
 * the class of each example when they differ (chunks of several inputs in one batch).
 */
export function valueAndGradient(
  fn: ExplainedScalar,
  batch: tf.Tensor,
  rowTargets?: readonly number[],
): { value: tf.Tensor1D; grad: tf.Tensor } {
  return tf.tidy(() =>
    withInputGradientsOnly(() => {
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => scalarValues(fn, x, rowTargets))(batch, tf.ones([batch.shape[0]]));
      return { value: value as tf.Tensor1D, grad };
    }),
  );
}
