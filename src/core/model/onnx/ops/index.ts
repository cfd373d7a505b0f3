/** Every ONNX op PathLens maps to TF.js, by op type (domain ai.onnx). */
import { CONV_OPS } from './conv';
import { ELEMENTWISE_OPS } from './elementwise';
import { LINEAR_OPS } from './linear';
import { NORMALIZATION_OPS } from './normalization';
import { REDUCE_OPS } from './reduce';
import { RESIZE_OPS } from './resize';
import type { OpFn } from './registry';
import { SHAPE_OPS } from './shape';

export type { OpContext, OpFn } from './registry';

export const ONNX_OPS: ReadonlyMap<string, OpFn> = new Map(
  Object.entries({ ...ELEMENTWISE_OPS, ...CONV_OPS, ...LINEAR_OPS, ...NORMALIZATION_OPS, ...REDUCE_OPS, ...RESIZE_OPS, ...SHAPE_OPS }),
);

/** Ops whose output depends only on their input's shape, so they fold even on the model's input. */
export const SHAPE_ONLY_OPS = new Set(['Shape', 'Size']);
