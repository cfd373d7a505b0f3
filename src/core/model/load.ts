import * as tf from '@tensorflow/tfjs-core';
// Some gradient functions (e.g. Prod's) call chained tensor methods; the tfjs umbrella package registers these.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfc from '@tensorflow/tfjs-converter';
import * as path from 'node:path';
import { PathLensError } from '../errors';
import type { LayerInfo, ModelSummary, OutputKind, TensorInfo } from '../types';
import { readModelArtifacts, type ReadArtifacts } from './artifacts';
import { describeKerasSource } from './keras/read';
import { inputPreprocessingLayer } from './keras/preprocessingLayers';
import { readLabels } from './labels';
import { checkGraphTopology, checkLayersTopology } from './topologyChecks';
import { checkDeclaredBytes, DEFAULT_MEMORY_BUDGET_MB, elementCount, MB, validate, z } from '../safety';
import { finalActivationOf, findFinalLayer, withoutFinalActivation } from './logitTopology';
import { graphModelInternals, layersModelInternals, type InternalLayers } from './internalLayers';
import { layersFastPath } from './layersFastPath';
import { buildOnnxModel, isOnnxModelPath, readOnnx, type OnnxModelAccess } from './onnx/load';
import { channelsLastView, type TensorLayout } from './inputLayout';
import { onnxSummaryOf, suggestedPreprocessingOf, tensorLayoutOf } from './onnxSummary';

/**
 * A loaded model reduced to what attribution needs: one input, one [batch, classes] output, and the
 * explained scores (logits or probabilities) for every class.
 */
export interface LoadedModel {
  readonly summary: ModelSummary;
  /** Per-example input shape (no batch dimension). */
  readonly inputShape: number[];
  readonly numClasses: number;
  /** How `scores(x, 'logit')` and `scores(x, 'probability')` are obtained, for reports. */
  readonly outputNotes: Record<OutputKind, string>;
  /** The model's own output, [B, K]. */
  predict(x: tf.Tensor): tf.Tensor2D;
  /** The explained scores for all classes, [B, K]. Differentiable with respect to x. */
  scores(x: tf.Tensor, output: OutputKind): tf.Tensor2D;
  /** Read/replace an internal layer's output during forward passes (neuron attributions). */
  readonly internals?: InternalLayers;
  /** Set for ONNX models: the imported graph's nodes, opsets and initializers (info, sanity). */
  readonly onnx?: OnnxModelAccess;
  /** Set when `.json` inputs are written in the model's own layout (NCHW) or may bind symbolic dims. */
  readonly tensorLayout?: TensorLayout;
  /** A view of the same graph for another per-example shape (symbolic dims); disposing it is a no-op. */
  withInputShape?(shape: number[]): LoadedModel;
  dispose(): void;
}

export interface LoadModelOptions {
  /** Budget for one path point's tensors (MB); declared input and layer sizes are checked against it. */
  memoryBudgetMB?: number;
  /**
   * Present a channels-first (NCHW) ONNX image model as [H, W, C], transposing inside predict and
   * scores, as the worker jobs do (images, overlays, blur and patches all work on H×W×C). Default:
   * the model's own layout.
   */
  channelsLast?: boolean;
  /**
   * The model's files as `readModelArtifacts` read and validated them (in this thread or another one
   * of this process): used instead of reading model.json and its shards again.
   */
  artifacts?: ReadArtifacts;
  /**
   * The same artifacts already built and ran once in this process (the coordinator's load): skip the
   * load-time forward pass on zeros. Every declared-size check still runs.
   */
  verified?: boolean;
}

export async function loadModel(modelJsonPath: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  // Declared sizes are checked before the load probe allocates one example; a smaller path-point
  // budget is the evaluator's to enforce (per input, with its measured activations).
  const budget = Math.max(options.memoryBudgetMB ?? 0, DEFAULT_MEMORY_BUDGET_MB) * MB;
  if (isOnnxModelPath(modelJsonPath)) return loadOnnxModel(modelJsonPath, budget, options.channelsLast === true);
  const read = options.artifacts ?? readModelArtifacts(modelJsonPath);
  const labels = readLabels(modelJsonPath);
  const model =
    read.format === 'graph-model' ? await loadGraph(read, modelJsonPath, budget) : await loadLayers(read, modelJsonPath, budget);
  const summary: ModelSummary = {
    ...model.partialSummary,
    path: path.resolve(modelJsonPath),
    labels: labels?.labels ?? null,
    labelsSource: labels?.source ?? null,
    weightBytes: read.weightBytes,
    ...(read.keras ? { source: describeKerasSource(read.keras) } : {}),
  };
  const loaded = { ...model, summary };
  checkLayerOutputs(summary, budget);
  if (!options.verified) checkRuns(loaded);
  if (summary.labels && summary.labels.length !== loaded.numClasses) {
    summary.labels = null;
    summary.labelsSource = `ignored ${labels?.source}: it has ${labels?.labels.length} labels but the model has ${loaded.numClasses} outputs`;
  }
  return loaded;
}

/** An ONNX graph imported into TF.js ops (src/core/model/onnx/). */
function loadOnnxModel(file: string, budget: number, channelsLast: boolean): LoadedModel {
  const source = readOnnx(file, budget);
  const labels = readLabels(file);
  checkDeclaredBytes(
    elementCount(source.input.shape) * 4,
    budget,
    `${file}: input '${source.input.name}' [${source.input.shape}]`,
    'raise --memory-budget-mb',
  );
  const { layers, totalParams, finalActivation, ...model } = buildOnnxModel(source, { budget });
  const d = model.onnx.details;
  const tensorLayout = tensorLayoutOf(d, channelsLast);
  const onnx = onnxSummaryOf(source, d, tensorLayout);
  const suggested = suggestedPreprocessingOf(onnx);
  const summary: ModelSummary = {
    path: path.resolve(file),
    format: 'onnx',
    inputs: [{ name: d.input.name, shape: d.input.declaredDims.map((v) => (typeof v === 'number' ? v : null)), dtype: 'float32' }],
    outputs: [{ name: d.outputName, shape: [null, model.numClasses], dtype: 'float32' }],
    layers,
    totalParams,
    finalActivation,
    labels: labels?.labels ?? null,
    labelsSource: labels?.source ?? null,
    weightBytes: totalParams * 4,
    source: `ONNX (IR ${d.irVersion}, ${Object.entries(d.opsets)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}${d.producer ? `, from ${d.producer}` : ''})`,
    onnx,
    ...(suggested ? { suggestedPreprocessing: suggested } : {}),
  };
  const base: LoadedModel = { ...model, summary, ...(tensorLayout ? { tensorLayout } : {}) };
  const free = d.input.declaredDims.slice(1).some((v) => typeof v !== 'number');
  const loaded: LoadedModel = free ? { ...base, withInputShape: (shape) => boundTo(base, shape, budget) } : base;
  checkLayerOutputs(summary, budget);
  checkRuns(loaded);
  if (summary.labels && summary.labels.length !== loaded.numClasses) {
    summary.labels = null;
    summary.labelsSource = `ignored ${labels?.source}: it has ${labels?.labels.length} labels but the model has ${loaded.numClasses} outputs`;
  }
  return tensorLayout?.channelsFirst ? channelsLastView(loaded, tensorLayout) : loaded;
}

/** The model's graph with its symbolic dims bound to `shape` (checked against the budget, run once). */
function boundTo(model: LoadedModel, shape: number[], budget: number): LoadedModel {
  checkDeclaredBytes(elementCount(shape) * 4, budget, `${model.summary.path}: input bound to [${shape}]`, 'raise --memory-budget-mb');
  const view: LoadedModel = { ...model, inputShape: [...shape], dispose: () => {} };
  checkRuns(view);
  return view;
}

type PartialModel = Omit<LoadedModel, 'summary'> & {
  partialSummary: Omit<ModelSummary, 'path' | 'labels' | 'labelsSource' | 'weightBytes'>;
};

function ioFrom(artifacts: tf.io.ModelArtifacts): tf.io.IOHandler {
  return { load: async () => artifacts };
}

function wrapLoadError(err: unknown, file: string, specs?: tf.io.WeightsManifestEntry[]): PathLensError {
  if (err instanceof PathLensError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const mismatch = /^Shape mismatch: (\[[\d,]*\]) vs\. (\[[\d,]*\])/.exec(message);
  if (mismatch && specs) {
    const culprit = specs.find((s) => JSON.stringify(s.shape) === mismatch[2]);
    return new PathLensError(
      'model-load',
      `${file}: weight${culprit ? ` '${culprit.name}'` : ''} has shape ${mismatch[2]} but the model's layer needs ${mismatch[1]}`,
    );
  }
  const unknownLayer = /Unknown layer: (\w+)/.exec(message);
  if (unknownLayer) {
    return new PathLensError(
      'model-unsupported',
      `${file} uses layer class '${unknownLayer[1]}', which TF.js layers cannot build (custom or unsupported layer)`,
    );
  }
  const unknownOp = /(?:Op is not supported|is not supported): ?(\w+)/.exec(message);
  if (unknownOp) {
    return new PathLensError('model-unsupported', `${file} uses the op '${unknownOp[1]}', which TF.js cannot execute`);
  }
  return new PathLensError('model-load', `cannot build the model in ${file}: ${message}`);
}

function perExampleShape(shape: readonly (number | null)[] | undefined, file: string): number[] {
  if (!shape || shape.length < 2) {
    throw new PathLensError(
      'model-unsupported',
      `${file}: the input shape ${JSON.stringify(shape)} has no batch dimension; PathLens needs [batch, ...features]`,
    );
  }
  const rest = shape.slice(1);
  if (rest.some((d) => d === null || d < 0)) {
    throw new PathLensError(
      'model-unsupported',
      `${file}: the input shape ${JSON.stringify(shape)} has unknown sizes; PathLens needs a fixed input size`,
    );
  }
  return rest as number[];
}

function softmaxNote(kind: string): Record<OutputKind, string> {
  return { logit: `pre-${kind} logit`, probability: `${kind} output` };
}

async function loadLayers(read: ReadArtifacts, file: string, budget: number): Promise<PartialModel> {
  const weightElements = read.artifacts.weightSpecs!.reduce((sum, w) => sum + elementCount(w.shape), 0);
  checkLayersTopology(read.artifacts.modelTopology, file, weightElements, budget);
  let model: tfl.LayersModel;
  let logitModel: tfl.LayersModel | null = null;
  try {
    model = await tfl.loadLayersModel(ioFrom(read.artifacts));
    const stripped = withoutFinalActivation(read.artifacts.modelTopology as Record<string, unknown>);
    if (stripped) logitModel = await tfl.loadLayersModel(ioFrom({ ...read.artifacts, modelTopology: stripped }));
  } catch (err) {
    throw wrapLoadError(err, file, read.artifacts.weightSpecs);
  }
  requireSingleInputOutput(model, file);
  const inputShape = perExampleShape(model.inputs[0]!.shape, file);
  const outShape = model.outputs[0]!.shape;
  if (outShape.length !== 2 || outShape[1] === null) {
    throw new PathLensError('model-unsupported', `${file}: output shape ${JSON.stringify(outShape)} is not [batch, classes]`);
  }
  const finalActivation = finalActivationOf(findFinalLayer(read.artifacts.modelTopology as Record<string, unknown>));
  const layers = flattenLayers(model.layers);
  const io = (t: tfl.SymbolicTensor): TensorInfo => ({ name: t.name, shape: t.shape, dtype: t.dtype });
  const predict = (x: tf.Tensor) => model.predict(x) as tf.Tensor2D;
  // The logits (or the whole model) through its folded plan when it can run (layersFastPath.ts).
  const fast = layersFastPath(logitModel ?? model, inputShape);
  const logits = (x: tf.Tensor) => fast?.logits(x) ?? ((logitModel ?? model).predict(x) as tf.Tensor2D);
  const internals = layersModelInternals(logitModel ? [model, logitModel] : [model]);
  return {
    inputShape,
    numClasses: outShape[1],
    outputNotes: outputNotes(finalActivation, logitModel !== null),
    predict,
    scores: (x, output) => {
      if (output === 'logit' || !logitModel) return output === 'logit' ? logits(x) : squash(logits(x));
      const z = finalActivation === 'softmax' || finalActivation === 'sigmoid' ? fast?.logits(x) : null;
      if (z == null) return predict(x);
      return finalActivation === 'softmax' ? tf.softmax(z) : tf.sigmoid(z);
    },
    // Hooks patch layers that the plan bypasses: the layers model runs while one is active.
    internals: fast
      ? { ...internals, through: (layer, transform, run) => fast.suspended(() => internals.through(layer, transform, run)) }
      : internals,
    dispose: () => {
      fast?.dispose();
      model.dispose();
      logitModel?.dispose();
    },
    partialSummary: {
      format: 'layers-model',
      inputs: model.inputs.map(io),
      outputs: model.outputs.map(io),
      layers,
      totalParams: model.countParams(),
      finalActivation,
      ...withInputPreprocessingLayer(read.artifacts.modelTopology),
    },
  };
}

function withInputPreprocessingLayer(topology: unknown): { inputPreprocessingLayer?: string } {
  const layer = inputPreprocessingLayer(topology);
  return layer ? { inputPreprocessingLayer: layer } : {};
}

/** Probabilities from raw logits: sigmoid for a single output unit, softmax otherwise. */
function squash(logits: tf.Tensor2D): tf.Tensor2D {
  return logits.shape[1] === 1 ? tf.sigmoid(logits) : tf.softmax(logits);
}

function outputNotes(finalActivation: string | null, stripped: boolean): Record<OutputKind, string> {
  if (finalActivation && stripped) return softmaxNote(finalActivation);
  if (finalActivation) return { logit: `${finalActivation} output (no separable logit)`, probability: `${finalActivation} output` };
  return { logit: 'model output (raw logits)', probability: 'softmax (sigmoid for one unit) of the model output' };
}

function flattenLayers(layers: tfl.layers.Layer[], prefix = ''): LayerInfo[] {
  const out: LayerInfo[] = [];
  for (const layer of layers) {
    const nested = (layer as unknown as { layers?: tfl.layers.Layer[] }).layers;
    if (Array.isArray(nested)) {
      out.push(...flattenLayers(nested, `${prefix}${layer.name}/`));
      continue;
    }
    if (layer.getClassName() === 'InputLayer') continue;
    let outputShape: (number | null)[] | null;
    try {
      const shape = layer.outputShape;
      outputShape = Array.isArray(shape[0]) || shape[0] === undefined ? null : (shape as (number | null)[]);
    } catch {
      outputShape = null; // layers applied at several nodes have no single output shape
    }
    out.push({ name: prefix + layer.name, className: layer.getClassName(), outputShape, params: layer.countParams() });
  }
  return out;
}

const PASS_THROUGH_OPS = new Set(['Identity', 'Squeeze', 'Reshape']);

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

const graphTopologySchema = z.looseObject({
  node: z.array(z.looseObject({ name: z.string(), op: z.string(), input: z.array(z.string()).optional() })),
});

async function loadGraph(read: ReadArtifacts, file: string, budget: number): Promise<PartialModel> {
  checkGraphTopology(validate(graphTopologySchema, read.artifacts.modelTopology, file, 'model-json', 'modelTopology').node, file);
  let model: tfc.GraphModel;
  try {
    model = await tfc.loadGraphModel(ioFrom(read.artifacts));
  } catch (err) {
    throw wrapLoadError(err, file);
  }
  requireSingleInputOutput(model, file);
  const nodes = ((read.artifacts.modelTopology as { node?: GraphNode[] }).node ?? []) as GraphNode[];
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const inputName = model.inputs[0]!.name;
  const outputName = model.outputs[0]!.name;
  const inputShape = perExampleShape(model.inputs[0]!.shape, file);
  checkDeclaredBytes(elementCount(inputShape) * 4, budget, `${file}: input '${inputName}' [${inputShape}]`, 'raise --memory-budget-mb');

  // Walk back through pass-through ops to the op that produces the output.
  const nodeName = (ref: string) => ref.replace(/^\^/, '').replace(/:\d+$/, '');
  let producer = byName.get(nodeName(outputName));
  while (producer && PASS_THROUGH_OPS.has(producer.op) && producer.input?.[0]) producer = byName.get(nodeName(producer.input[0]));
  const finalActivation = producer?.op === 'Softmax' ? 'softmax' : producer?.op === 'Sigmoid' ? 'sigmoid' : null;
  const logitNode = finalActivation && producer?.input?.[0] ? producer.input[0] : null;

  const weightSizes = new Map(read.artifacts.weightSpecs!.map((w) => [w.name, w.shape.reduce((a, b) => a * b, 1)]));
  const skipOps = new Set(['Const', 'Placeholder', 'Identity', 'NoOp']);
  const layers: LayerInfo[] = nodes
    .filter((n) => !skipOps.has(n.op))
    .map((n) => ({
      name: n.name,
      className: n.op,
      outputShape: null,
      params: (n.input ?? []).reduce((sum, i) => sum + (weightSizes.get(i) ?? 0), 0),
    }));
  const totalParams = read.artifacts.weightSpecs!.filter((w) => w.dtype === 'float32').reduce((s, w) => s + weightSizes.get(w.name)!, 0);

  let feed: ((x: tf.Tensor) => tf.NamedTensorMap) | null = null;
  const run = (x: tf.Tensor, node: string) => {
    try {
      return model.execute(feed ? feed(x) : { [inputName]: x }, node) as tf.Tensor;
    } catch (err) {
      // Non-Error throws are control flow of an internal-layer hook (it stops a pass at its layer).
      if (!(err instanceof Error)) throw err;
      throw wrapLoadError(err, file);
    }
  };
  const predict = (x: tf.Tensor) => tf.reshape(run(x, outputName), [x.shape[0], -1]) as tf.Tensor2D;
  const probe = tf.tidy(() => predict(tf.zeros([1, ...inputShape])).shape[1]);
  return {
    inputShape,
    numClasses: probe,
    outputNotes: outputNotes(finalActivation, logitNode !== null),
    predict,
    scores: (x, output) => {
      if (output === 'logit') return logitNode ? (tf.reshape(run(x, logitNode), [x.shape[0], -1]) as tf.Tensor2D) : predict(x);
      return finalActivation ? predict(x) : squash(predict(x));
    },
    internals: graphModelInternals(model, nodes, inputName, inputShape, (f) => (feed = f)),
    dispose: () => model.dispose(),
    partialSummary: {
      format: 'graph-model',
      inputs: model.inputs.map((t) => ({ name: t.name, shape: (t.shape ?? []).map((d) => (d < 0 ? null : d)), dtype: t.dtype })),
      outputs: [{ name: outputName, shape: [null, probe], dtype: 'float32' }],
      layers,
      totalParams,
      finalActivation,
    },
  };
}

/** Declared per-example output sizes of every layer, before the first forward pass allocates them. */
function checkLayerOutputs(summary: ModelSummary, budget: number): void {
  for (const layer of summary.layers) {
    if (!layer.outputShape) continue;
    const count = elementCount(layer.outputShape.map((d) => d ?? 1));
    checkDeclaredBytes(
      count * 4,
      budget,
      `${summary.path}: the output of layer '${layer.name}' [${layer.outputShape.join(', ')}]`,
      'raise --memory-budget-mb',
    );
  }
}

/** One forward pass on zeros: surfaces unsupported ops and non-[batch, classes] outputs at load time. */
function checkRuns(model: LoadedModel): void {
  const file = model.summary.path;
  tf.tidy(() => {
    let out: tf.Tensor;
    try {
      out = model.scores(tf.zeros([1, ...model.inputShape]), 'logit');
    } catch (err) {
      throw wrapLoadError(err, file);
    }
    if (out.rank !== 2 || out.shape[1] !== model.numClasses) {
      throw new PathLensError('model-unsupported', `${file}: output shape [${out.shape}] is not [batch, classes]`);
    }
  });
}

function requireSingleInputOutput(model: { inputs: unknown[]; outputs: unknown[] }, file: string): void {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new PathLensError(
      'model-unsupported',
      `${file} has ${model.inputs.length} inputs and ${model.outputs.length} outputs; PathLens explains single-input, single-output models`,
    );
  }
}
