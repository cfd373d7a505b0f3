/** Element-wise ONNX ops (broadcasting as numpy, which TF.js follows). */
import * as tf from '@tensorflow/tfjs-core';
import { required, valuesOf, type OpContext, type OpInputs, type OpTable } from './registry';

const unary =
  (f: (x: tf.Tensor) => tf.Tensor) =>
  (inputs: OpInputs, ctx: OpContext): tf.Tensor =>
    f(required(inputs, 0, ctx));

const binary =
  (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) =>
  (inputs: OpInputs, ctx: OpContext): tf.Tensor =>
    f(required(inputs, 0, ctx), required(inputs, 1, ctx));

const variadic = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) => (inputs: OpInputs) =>
  (inputs.filter(Boolean) as tf.Tensor[]).reduce((acc, t) => f(acc, t));

/** relu(x) + α(e^min(x,0) − 1): a `where` would send gradients into its comparison, which has none. */
function elu(x: tf.Tensor, alpha: number): tf.Tensor {
  return tf.add(tf.relu(x), tf.mul(tf.sub(tf.exp(tf.minimum(x, 0)), 1), alpha));
}

function hardSigmoid(x: tf.Tensor, alpha: number, beta: number): tf.Tensor {
  return tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);
}

/** Clip bounds: attributes before opset 11, optional inputs from then on. */
function clip(inputs: OpInputs, ctx: OpContext): tf.Tensor {
  const x = required(inputs, 0, ctx);
  const lo = ctx.opset >= 11 ? (valuesOf(inputs[1])?.[0] ?? -Infinity) : ctx.attrs.float('min', -Infinity);
  const hi = ctx.opset >= 11 ? (valuesOf(inputs[2])?.[0] ?? Infinity) : ctx.attrs.float('max', Infinity);
  // maximum/minimum rather than clipByValue: its gradient at the bounds matches ONNX runtimes and torch.
  let y = x;
  if (lo > -Infinity) y = tf.maximum(y, tf.scalar(lo, x.dtype));
  if (hi < Infinity) y = tf.minimum(y, tf.scalar(hi, x.dtype));
  return y;
}

function sameType(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return a.dtype === b.dtype ? b : tf.cast(b, a.dtype);
}

function divide(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.dtype !== 'int32') return tf.div(a, b);
  // ONNX integer division truncates toward zero.
  const q = tf.div(tf.cast(a, 'float32'), tf.cast(b, 'float32'));
  return tf.cast(tf.mul(tf.sign(q), tf.floor(tf.abs(q))), 'int32');
}

export const ELEMENTWISE_OPS: OpTable = {
  Add: binary((a, b) => tf.add(a, b)),
  Sub: binary((a, b) => tf.sub(a, b)),
  Mul: binary((a, b) => tf.mul(a, b)),
  Div: binary(divide),
  Pow: binary((a, b) => tf.pow(a, sameType(a, b))),
  Max: variadic((a, b) => tf.maximum(a, b)),
  Min: variadic((a, b) => tf.minimum(a, b)),
  Sum: variadic((a, b) => tf.add(a, b)),
  Mean: (inputs) => tf.div(variadic((a, b) => tf.add(a, b))(inputs), inputs.filter(Boolean).length),
  Equal: binary((a, b) => tf.equal(a, b)),
  Less: binary((a, b) => tf.less(a, b)),
  Greater: binary((a, b) => tf.greater(a, b)),
  LessOrEqual: binary((a, b) => tf.lessEqual(a, b)),
  GreaterOrEqual: binary((a, b) => tf.greaterEqual(a, b)),
  Not: unary((x) => tf.logicalNot(x)),
  Where: (inputs, ctx) => tf.where(required(inputs, 0, ctx), required(inputs, 1, ctx), required(inputs, 2, ctx)),
  Relu: unary((x) => tf.relu(x)),
  Sigmoid: unary((x) => tf.sigmoid(x)),
  Tanh: unary((x) => tf.tanh(x)),
  Erf: unary((x) => tf.erf(x)),
  Exp: unary((x) => tf.exp(x)),
  Log: unary((x) => tf.log(x)),
  Sqrt: unary((x) => tf.sqrt(x)),
  Neg: unary((x) => tf.neg(x)),
  Abs: unary((x) => tf.abs(x)),
  Reciprocal: unary((x) => tf.reciprocal(x)),
  Floor: unary((x) => tf.floor(x)),
  Ceil: unary((x) => tf.ceil(x)),
  Sin: unary((x) => tf.sin(x)),
  Cos: unary((x) => tf.cos(x)),
  Softplus: unary((x) => tf.softplus(x)),
  Softsign: unary((x) => tf.div(x, tf.add(tf.abs(x), 1))),
  Identity: unary((x) => x),
  Clip: clip,
  HardSigmoid: (inputs, ctx) => hardSigmoid(required(inputs, 0, ctx), ctx.attrs.float('alpha', 0.2), ctx.attrs.float('beta', 0.5)),
  HardSwish: unary((x) => tf.mul(x, hardSigmoid(x, 1 / 6, 0.5))),
  LeakyRelu: (inputs, ctx) => tf.leakyRelu(required(inputs, 0, ctx), ctx.attrs.float('alpha', 0.01)),
  Elu: (inputs, ctx) => elu(required(inputs, 0, ctx), ctx.attrs.float('alpha', 1)),
  Selu: (inputs, ctx) => {
    const x = required(inputs, 0, ctx);
    const alpha = ctx.attrs.float('alpha', 1.6732632423543772);
    const gamma = ctx.attrs.float('gamma', 1.0507009873554805);
    return tf.mul(elu(x, alpha), gamma);
  },
  PRelu: binary((x, slope) => tf.add(tf.relu(x), tf.mul(slope, tf.neg(tf.relu(tf.neg(x)))))),
  // Dropout at inference is the identity (its optional mask output is all true).
  Dropout: (inputs, ctx) => {
    const x = required(inputs, 0, ctx);
    const training = ctx.opset >= 12 ? valuesOf(inputs[2])?.[0] : ctx.opset < 7 ? ctx.attrs.int('is_test', 0) ^ 1 : 0;
    const ratio = ctx.opset >= 12 ? (valuesOf(inputs[1])?.[0] ?? 0.5) : ctx.attrs.float('ratio', 0.5);
    if (training && ratio !== 0) ctx.attrs.unsupported('training_mode=true (random dropout)');
    return [x, tf.onesLike(x).cast('bool')];
  },
};
