/**
 * The sanity checks' weighted layers of an imported ONNX graph: every Conv / ConvTranspose / Gemm /
 * MatMul node (in the graph's topological order) whose weight is a float initializer, with its bias
 * (the node's third input, or the initializer an Add right after a MatMul adds). BatchNormalization
 * parameters are not randomized (as for layers models); a Conv's folded BatchNorm is folded again
 * into the randomized weights. Modified models are rebuilt from the same decoded file with replaced
 * initializers and presented as the explained model is (channels-last view, bound symbolic dims).
 */
import { PathLensError } from '../errors';
import type { LoadedModel } from '../model/load';
import { channelsLastView } from '../model/inputLayout';
import { readOnnx } from '../model/onnx/load';
import type { OnnxNodeInfo } from '../model/onnx/types';
import { DEFAULT_MEMORY_BUDGET_MB, MB } from '../safety';
import type { LayerWeight, ModelWeights, WeightedLayer, WeightTensor } from './weights';

const WEIGHTED_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** `/blocks/blocks.0/conv1/Conv` → `blocks.0/conv1`; names without the exporter's scopes stay as they are. */
export function shortOnnxNodeName(name: string, opType: string): string {
  const parts = name.split('/').filter((p) => p !== '');
  if (parts.length > 1 && parts[parts.length - 1]!.startsWith(opType)) parts.pop();
  if (parts.length > 1 && parts[1]!.startsWith(`${parts[0]}.`)) parts.shift();
  return parts.join('/') || name;
}

function weightedLayers(nodes: OnnxNodeInfo[], tensors: Map<string, WeightTensor>): WeightedLayer[] {
  const isFloat = (name: string | undefined) => name !== undefined && tensors.get(name)?.dtype === 'float32';
  const consumers = new Map<string, OnnxNodeInfo[]>();
  for (const n of nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const layers: WeightedLayer[] = [];
  for (const node of nodes) {
    if (!WEIGHTED_OPS.has(node.opType) || node.folded) continue;
    const kernel = node.opType === 'MatMul' && !isFloat(node.inputs[1]) ? node.inputs[0] : node.inputs[1];
    if (!isFloat(kernel)) continue;
    const weights: LayerWeight[] = [{ name: kernel!, param: 'kernel', initializer: null }];
    const ownBias = node.opType === 'MatMul' ? undefined : node.inputs[2];
    const add = node.opType === 'MatMul' ? (consumers.get(node.outputs[0]!) ?? []).find((c) => c.opType === 'Add') : undefined;
    const bias = ownBias ?? add?.inputs.find((i) => i !== node.outputs[0]);
    if (isFloat(bias) && bias !== kernel && tensors.get(bias!)!.shape.length === 1)
      weights.push({ name: bias!, param: 'bias', initializer: null });
    layers.push({
      name: node.name,
      label: shortOnnxNodeName(node.name, node.opType),
      className: node.opType,
      weights,
      params: weights.reduce((s, w) => s + tensors.get(w.name)!.data.length, 0),
    });
  }
  return layers;
}

/** The ONNX model's initializers and weighted layers, and how to rebuild it with replaced weights. */
export function readOnnxModelWeights(model: LoadedModel): ModelWeights {
  const access = model.onnx!;
  const source = readOnnx(model.summary.path, DEFAULT_MEMORY_BUDGET_MB * MB);
  const tensors = new Map<string, WeightTensor>();
  for (const [name, t] of source.initializers) tensors.set(name, { name, shape: [...t.dims], dtype: t.dtype, data: t.data });
  const layers = weightedLayers(access.details.nodes, tensors);
  if (layers.length === 0) {
    throw new PathLensError(
      'model-unsupported',
      `${model.summary.path}: no layer with weights to randomize (looked for Conv, ConvTranspose, Gemm and MatMul nodes with float initializers)`,
    );
  }
  return {
    format: 'onnx',
    json: {},
    tensors,
    order: [...tensors.keys()],
    layers,
    rebuild: async (overrides) => presentedLike(model, access.withInitializers(overrides)),
  };
}

/** A rebuilt graph presented as `model` is: the same summary, bound shape and channels-last view. */
function presentedLike(model: LoadedModel, runnable: ReturnType<NonNullable<LoadedModel['onnx']>['withInitializers']>): LoadedModel {
  const layout = model.tensorLayout;
  const [h, w, c] = model.inputShape;
  const ownShape = layout?.channelsFirst ? [c!, h!, w!] : [...model.inputShape];
  const rebuilt: LoadedModel = { ...runnable, summary: model.summary, inputShape: ownShape };
  return layout?.channelsFirst ? channelsLastView(rebuilt, layout) : rebuilt;
}
