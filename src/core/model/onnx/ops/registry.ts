/** The op table: ONNX op type → function on TF.js tensors, its attributes and the node's opset. */
import type * as tf from '@tensorflow/tfjs-core';
import { PathLensError } from '../../../errors';
import type { Attributes } from '../proto';

export interface OpContext {
  attrs: Attributes;
  /** ai.onnx opset version in force for this node. */
  opset: number;
  name: string;
  /**
   * A tensor derived from `sources` (weights in TF.js layout), made once and kept for the life of the
   * current execution plan when every source is a constant; made afresh on each call otherwise.
   */
  cached(key: string, sources: readonly tf.Tensor[], make: () => tf.Tensor): tf.Tensor;
  /** A tensor-valued attribute (Constant's `value`, ConstantOfShape's `value`) as a TF.js tensor. */
  tensorAttr(name: string): tf.Tensor | null;
}

export type OpInputs = readonly (tf.Tensor | undefined)[];
export type OpFn = (inputs: OpInputs, ctx: OpContext) => tf.Tensor | tf.Tensor[];

export type OpTable = Record<string, OpFn>;

/** Input `i`, which the op requires. */
export function required(inputs: OpInputs, i: number, ctx: OpContext): tf.Tensor {
  const t = inputs[i];
  if (!t) throw new PathLensError('model-load', `ONNX node '${ctx.name}' (${ctx.attrs.node.opType}) lacks its input ${i}`);
  return t;
}

/** The values of a small constant input (shapes, axes, pads …) as numbers, or null when absent. */
export function valuesOf(t: tf.Tensor | undefined): number[] | null {
  return t && t.size > 0 ? Array.from(t.dataSync()) : t ? [] : null;
}

/** Negative axes count from the end. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Axes given as an attribute before `inputSince`, as input `index` from then on. */
export function axesOf(inputs: OpInputs, ctx: OpContext, inputSince: number, index = 1): number[] | null {
  return ctx.opset >= inputSince ? valuesOf(inputs[index]) : ctx.attrs.ints('axes');
}

/** Numpy broadcasting of two shapes. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    out.push(da === 1 ? db : da);
  }
  return out;
}
