/** Normalisations and softmax: BatchNormalization (inference), LayerNormalization, InstanceNormalization. */
import * as tf from '@tensorflow/tfjs-core';
import { normAxis, required, type OpContext, type OpInputs, type OpTable } from './registry';

/** [C] → [1, C, 1, …] to broadcast over NC… tensors. */
function perChannel(t: tf.Tensor, rank: number): tf.Tensor {
  return tf.reshape(t, [1, t.size, ...new Array(Math.max(0, rank - 2)).fill(1)]);
}

function batchNorm(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  if (ctx.attrs.int('training_mode', 0) === 1) ctx.attrs.unsupported('training_mode=1');
  const x = required(inputs, 0, ctx);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => perChannel(required(inputs, i, ctx), x.rank));
  const eps = ctx.attrs.float('epsilon', 1e-5);
  const factor = tf.mul(scale!, tf.rsqrt(tf.add(variance!, eps)));
  return tf.add(tf.mul(tf.sub(x, mean!), factor), bias!);
}

function layerNorm(inputs: OpInputs, ctx: OpContext): tf.Tensor[] {
  const x = required(inputs, 0, ctx);
  const axis = normAxis(ctx.attrs.int('axis', -1), x.rank);
  const axes = [...Array(x.rank - axis).keys()].map((i) => i + axis);
  const eps = ctx.attrs.float('epsilon', 1e-5);
  const mean = tf.mean(x, axes, true);
  const centred = tf.sub(x, mean);
  const invStd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), axes, true), eps));
  let y = tf.mul(tf.mul(centred, invStd), required(inputs, 1, ctx));
  if (inputs[2]) y = tf.add(y, inputs[2]);
  return [y, mean, invStd];
}

function instanceNorm(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx);
  const axes = [...Array(x.rank - 2).keys()].map((i) => i + 2);
  const eps = ctx.attrs.float('epsilon', 1e-5);
  const { mean, variance } = tf.moments(x, axes, true);
  const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(y, perChannel(required(inputs, 1, ctx), x.rank)), perChannel(required(inputs, 2, ctx), x.rank));
}

/**
 * Softmax family: from opset 13 over one axis (default -1); before, over the input flattened to 2-D at
 * `axis` (default 1).
 */
function softmaxLike(f: (x: tf.Tensor) => tf.Tensor) {
  return (inputs: OpInputs, ctx: OpContext): tf.Tensor => {
    const x = required(inputs, 0, ctx);
    const axis = normAxis(ctx.attrs.int('axis', ctx.opset >= 13 ? -1 : 1), x.rank);
    if (ctx.opset < 13) {
      const rows = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
      return tf.reshape(f(tf.reshape(x, [rows, -1])), x.shape);
    }
    if (axis === x.rank - 1) return f(x);
    const perm = [...Array(x.rank).keys()];
    perm[axis] = x.rank - 1;
    perm[x.rank - 1] = axis;
    return tf.transpose(f(tf.transpose(x, perm)), perm);
  };
}

export const NORMALIZATION_OPS: OpTable = {
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  InstanceNormalization: instanceNorm,
  Softmax: softmaxLike((x) => tf.softmax(x)),
  LogSoftmax: softmaxLike((x) => tf.logSoftmax(x)),
};
