/** Reductions. Axes are an attribute until ReduceSum-13 / the others-18, then an optional input. */
import * as tf from '@tensorflow/tfjs-core';
import { axesOf, normAxis, required, type OpContext, type OpInputs, type OpTable } from './registry';

function reduce(f: (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor, inputSince: number) {
  return (inputs: OpInputs, ctx: OpContext): tf.Tensor => {
    const x = required(inputs, 0, ctx);
    const keep = ctx.attrs.int('keepdims', 1) === 1;
    const given = axesOf(inputs, ctx, inputSince);
    if (!given || given.length === 0) {
      if (ctx.attrs.int('noop_with_empty_axes', 0) === 1) return x;
      return f(x, [...Array(x.rank).keys()], keep);
    }
    return f(
      x,
      given.map((a) => normAxis(a, x.rank)),
      keep,
    );
  };
}

function argReduce(f: (x: tf.Tensor, axis: number) => tf.Tensor) {
  return (inputs: OpInputs, ctx: OpContext): tf.Tensor => {
    const x = required(inputs, 0, ctx);
    if (ctx.attrs.int('select_last_index', 0) === 1) ctx.attrs.unsupported('select_last_index=1');
    const axis = normAxis(ctx.attrs.int('axis', 0), x.rank);
    const y = f(x, axis);
    return ctx.attrs.int('keepdims', 1) === 1 ? tf.expandDims(y, axis) : y;
  };
}

export const REDUCE_OPS: OpTable = {
  ReduceMean: reduce((x, a, k) => tf.mean(x, a, k), 18),
  ReduceSum: reduce((x, a, k) => tf.sum(x, a, k), 13),
  ReduceMax: reduce((x, a, k) => tf.max(x, a, k), 18),
  ReduceMin: reduce((x, a, k) => tf.min(x, a, k), 18),
  ReduceProd: reduce((x, a, k) => tf.prod(x, a, k), 18),
  ReduceSumSquare: reduce((x, a, k) => tf.sum(tf.square(x), a, k), 18),
  ReduceL1: reduce((x, a, k) => tf.sum(tf.abs(x), a, k), 18),
  ReduceL2: reduce((x, a, k) => tf.sqrt(tf.sum(tf.square(x), a, k)), 18),
  ReduceLogSumExp: reduce((x, a, k) => tf.logSumExp(x, a, k), 18),
  ArgMax: argReduce((x, axis) => tf.argMax(x, axis)),
  ArgMin: argReduce((x, axis) => tf.argMin(x, axis)),
};
