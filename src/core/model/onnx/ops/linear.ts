/** MatMul (numpy semantics, batched with broadcasting) and Gemm. */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastShape, required, type OpContext, type OpInputs, type OpTable } from './registry';

function matMul(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  let a = required(inputs, 0, ctx);
  let b = required(inputs, 1, ctx);
  const vectorA = a.rank === 1;
  const vectorB = b.rank === 1;
  if (vectorA) a = tf.expandDims(a, 0);
  if (vectorB) b = tf.expandDims(b, 1);
  let y: tf.Tensor = a.rank === 2 && b.rank === 2 ? tf.matMul(a, b) : batchedMatMul(a, b);
  if (vectorA) y = tf.squeeze(y, [y.rank - 2]);
  if (vectorB) y = tf.squeeze(y, [y.rank - 1]);
  return y;
}

/** Broadcast the batch dims of both operands, then one batched matMul. */
function batchedMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const dims = broadcastShape(batchA, batchB);
  if (batchB.every((d) => d === 1)) {
    // A weight shared by every batch entry (x @ W of Linear layers on [N, tokens, K] or [N, H, W, K]):
    // one 2-D product over all rows, instead of a copy of W per batch entry (ConvNeXt-Tiny: 5.8 GB).
    const [m, k] = a.shape.slice(-2) as [number, number];
    const rows = tf.reshape(tf.broadcastTo(a, [...dims, m, k]), [-1, k]) as tf.Tensor2D;
    const y = tf.matMul(rows, tf.reshape(b, [k, -1]) as tf.Tensor2D);
    return tf.reshape(y, [...dims, m, y.shape[1]!]);
  }
  const a3 = tf.reshape(tf.broadcastTo(a, [...dims, ...a.shape.slice(-2)]), [
    -1,
    ...a.shape.slice(-2),
  ] as number[]) as unknown as tf.Tensor3D;
  const b3 = tf.reshape(tf.broadcastTo(b, [...dims, ...b.shape.slice(-2)]), [
    -1,
    ...b.shape.slice(-2),
  ] as number[]) as unknown as tf.Tensor3D;
  const y = tf.matMul(a3, b3);
  return tf.reshape(y, [...dims, ...y.shape.slice(-2)]);
}

function gemm(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const a = required(inputs, 0, ctx);
  const b = required(inputs, 1, ctx);
  const alpha = ctx.attrs.float('alpha', 1);
  const beta = ctx.attrs.float('beta', 1);
  let y: tf.Tensor = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ctx.attrs.int('transA', 0) === 1, ctx.attrs.int('transB', 0) === 1);
  if (alpha !== 1) y = tf.mul(y, alpha);
  const c = inputs[2];
  if (c && c.size > 0) y = tf.add(y, beta === 1 ? c : tf.mul(c, beta));
  return y;
}

export const LINEAR_OPS: OpTable = { MatMul: matMul, Gemm: gemm };
