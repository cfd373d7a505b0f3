/**
 * How files map to a model's input when the model's own layout is not PathLens' [H, W, C]:
 * channels-first (NCHW) ONNX image models are presented channels-last, transposing inside the model,
 * so images, blur baselines, overlays, patch metrics and sanity similarities work on H×W×C unchanged;
 * `.json` tensors are read in the model's own layout and transposed once. Symbolic (dynamic) dims are
 * bound from the inputs: a view of the same graph with another per-example shape.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PathLensError } from '../errors';
import type { PreparedInput } from '../types';
import type { LoadedModel } from './load';

/** How `.json` tensors are written for a model whose input is not read as given (ONNX). */
export interface TensorLayout {
  /** Per-example shape of a `.json` tensor, in the model's own layout (e.g. [3, 224, 224]). */
  fileShape: number[];
  /** Per file dim: symbolic in the model file, so a `.json` tensor may choose its size. */
  free: boolean[];
  /** The model is channels-first and presented channels-last: tensors are transposed [C, H, W] → [H, W, C]. */
  channelsFirst: boolean;
}

/** [C, H, W] → [H, W, C] (per example). */
export const CHW_TO_HWC = [1, 2, 0];

/** The per-example shape presented for a channels-first shape (or the shape itself). */
export function presentedShape(fileShape: readonly number[], channelsFirst: boolean): number[] {
  return channelsFirst ? CHW_TO_HWC.map((d) => fileShape[d]!) : [...fileShape];
}

/**
 * A channels-first image model presented as channels-last: x [B, H, W, C] is transposed to the
 * model's [B, C, H, W] inside predict and scores (so gradients come back as H×W×C maps).
 */
export function channelsLastView(model: LoadedModel, layout: TensorLayout): LoadedModel {
  const toModel = (x: tf.Tensor) => tf.transpose(x, [0, 3, 1, 2]);
  return {
    ...model,
    inputShape: presentedShape(model.inputShape, true),
    tensorLayout: layout,
    predict: (x) => model.predict(toModel(x)),
    scores: (x, output) => model.scores(toModel(x), output),
    ...(model.withInputShape
      ? { withInputShape: (shape: number[]) => channelsLastView(model.withInputShape!(presentedShapeInverse(shape)), layout) }
      : {}),
    dispose: () => model.dispose(),
  };
}

/** [H, W, C] → [C, H, W]. */
function presentedShapeInverse(shape: readonly number[]): number[] {
  return [shape[2]!, shape[0]!, shape[1]!];
}

/**
 * The model to explain `inputs` with: the model itself when every input has its input shape, else a
 * view bound to the inputs' shared shape where the model's dims are symbolic. Inputs of several sizes
 * (for symbolic dims) are refused: explain them one size at a time.
 */
export function bindInputShape(model: LoadedModel, inputs: readonly Pick<PreparedInput, 'path' | 'shape'>[]): LoadedModel {
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  const shapes = inputs.map((i) => i.shape).filter((s) => !same(s, model.inputShape));
  if (shapes.length === 0) return model;
  const first = shapes[0]!;
  const odd = inputs.find((i) => !same(i.shape, first));
  if (odd || !model.withInputShape) {
    const other = odd ?? inputs.find((i) => same(i.shape, first))!;
    throw new PathLensError(
      'input',
      `${other.path} has shape [${other.shape.join(', ')}] but ${odd ? `another input has [${first.join(', ')}]` : `the model needs [${model.inputShape.join(', ')}]`}; inputs of one run share the model's symbolic sizes, so explain them separately`,
    );
  }
  return model.withInputShape(first);
}

/** Row-major [C, H, W] values reordered as [H, W, C]. */
export function chwToHwc(data: Float32Array, [c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  const plane = h! * w!;
  for (let k = 0; k < c!; k++) for (let i = 0; i < plane; i++) out[i * c! + k] = data[k * plane + i]!;
  return out;
}
