/**
 * Loading an ONNX model as a PathLens model: decode, read initializers (inline and external), fold
 * BatchNormalization into Conv, specialise the graph per input shape (folding shape arithmetic) and run
 * the remaining nodes as TF.js ops, so `tf.grad` gives input gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'node:path';
import { PathLensError } from '../../errors';
import { MAX_WEIGHT_BYTES, readRegularFile } from '../../safety';
import type { LayerInfo, OutputKind } from '../../types';
import { foldBatchNorms } from './fold';
import { buildNodes, ExecutionPlan, type GraphNode, type GraphSpec } from './graph';
import { decodeModel, toNumber, type ModelProto } from './proto';
import { describeInitializer, readTensor, type HostTensor, type TensorReadContext } from './tensor';
import type { InitializerValues, OnnxInputInfo, OnnxLayout, OnnxModelDetails, OnnxNodeInfo } from './types';

export function isOnnxModelPath(file: string): boolean {
  return /\.onnx$/i.test(file);
}

export interface OnnxLoadOptions {
  budget: number;
  /** Fold BatchNormalization into the preceding Conv (default true; the bench compares both). */
  foldBatchNorm?: boolean;
}

/** A decoded file: everything needed to (re)build the runnable model, e.g. with replaced initializers. */
export interface OnnxSource {
  file: string;
  proto: ModelProto;
  opsets: Record<string, number>;
  initializers: Map<string, HostTensor>;
  input: OnnxInputInfo;
  outputName: string;
  readContext: TensorReadContext;
}

const PLAN_CACHE_SIZE = 4;
/** Spatial size bound to symbolic H/W of an image input (torchvision's classification size). */
const DEFAULT_IMAGE_SIZE = 224;

export function readOnnx(file: string, budget: number): OnnxSource {
  const bytes = readRegularFile(file, `ONNX model ${file}`, MAX_WEIGHT_BYTES, 'model-load');
  const proto = decodeModel(bytes, file);
  const graph = proto.graph!;
  const opsets: Record<string, number> = {};
  for (const o of proto.opsetImport ?? []) opsets[o.domain && o.domain !== '' ? o.domain : 'ai.onnx'] = toNumber(o.version);
  const readContext: TensorReadContext = { folder: path.dirname(path.resolve(file)), file, budget };
  const initializers = new Map<string, HostTensor>();
  for (const t of graph.initializer ?? []) {
    initializers.set(t.name ?? '', readTensor(t, `initializer '${t.name}'`, readContext));
  }
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name ?? ''));
  const outputs = graph.output ?? [];
  if (inputs.length !== 1 || outputs.length !== 1) {
    throw new PathLensError(
      'model-unsupported',
      `${file} has ${inputs.length} inputs and ${outputs.length} outputs; PathLens explains single-input, single-output models`,
    );
  }
  return { file, proto, opsets, initializers, input: inputInfo(inputs[0]!, file), outputName: outputs[0]!.name ?? '', readContext };
}

type ValueInfo = NonNullable<ModelProto['graph']>['input'] extends (infer V)[] | null | undefined ? V : never;

function inputInfo(value: ValueInfo, file: string): OnnxInputInfo {
  const dims = value.type?.tensorType?.shape?.dim ?? [];
  const declared = dims.map((d) =>
    d.dimValue !== null && d.dimValue !== undefined && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : d.dimParam || null,
  );
  if (declared.length < 2) {
    throw new PathLensError(
      'model-unsupported',
      `${file}: input '${value.name}' has shape [${declared}]; PathLens needs [batch, ...features]`,
    );
  }
  const layout = layoutOf(declared);
  const shape = declared.slice(1).map((d, i) => {
    if (typeof d === 'number') return d;
    if (layout !== 'other' && (layout === 'NCHW' ? i >= 1 : i <= 1)) return DEFAULT_IMAGE_SIZE;
    throw new PathLensError(
      'model-unsupported',
      `${file}: input '${value.name}' has a symbolic size '${d}' at dim ${i + 1}; PathLens needs it fixed`,
    );
  });
  return { name: value.name ?? '', declaredDims: declared, shape, layout };
}

function layoutOf(dims: (number | string | null)[]): OnnxLayout {
  if (dims.length !== 4) return 'other';
  const channels = (d: number | string | null) => typeof d === 'number' && [1, 2, 3, 4].includes(d);
  const spatial = (d: number | string | null) => typeof d !== 'number' || d > 4;
  if (channels(dims[1]!) && spatial(dims[2]!) && spatial(dims[3]!)) return 'NCHW';
  if (channels(dims[3]!) && spatial(dims[1]!) && spatial(dims[2]!)) return 'NHWC';
  return 'other';
}

/** What the ONNX branch adds to a LoadedModel (src/core/model/load.ts `onnx`). */
export interface OnnxModelAccess {
  readonly details: OnnxModelDetails;
  /** The same model with some initializers replaced (sanity randomization); BatchNorm is folded afterwards. */
  withInitializers(values: InitializerValues): OnnxRunnable;
}

/** A runnable imported graph: the LoadedModel members that do not depend on the file's labels. */
export interface OnnxRunnable {
  inputShape: number[];
  numClasses: number;
  outputNotes: Record<OutputKind, string>;
  finalActivation: string | null;
  layers: LayerInfo[];
  totalParams: number;
  onnx: OnnxModelAccess;
  predict(x: tf.Tensor): tf.Tensor2D;
  scores(x: tf.Tensor, output: OutputKind): tf.Tensor2D;
  dispose(): void;
}

const PASS_THROUGH = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Dropout']);

/** The final Softmax/Sigmoid (through pass-through ops) and the value it squashes, if any. */
function finalActivationOf(nodes: GraphNode[], outputName: string): { activation: string | null; logit: string | null } {
  const producer = new Map<string, GraphNode>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  let node = producer.get(outputName);
  while (node && PASS_THROUGH.has(node.opType)) node = producer.get(node.inputs[0] ?? '');
  if (node?.opType === 'Softmax') return { activation: 'softmax', logit: node.inputs[0]! };
  if (node?.opType === 'Sigmoid') return { activation: 'sigmoid', logit: node.inputs[0]! };
  return { activation: null, logit: null };
}

function replaceInitializers(source: OnnxSource, values: InitializerValues): Map<string, HostTensor> {
  const inits = new Map(source.initializers);
  for (const [name, data] of values) {
    const old = inits.get(name);
    if (!old || old.data.length !== data.length) {
      throw new PathLensError(
        'internal',
        `initializer '${name}' ${old ? `has ${old.data.length} values, not ${data.length}` : 'does not exist'}`,
      );
    }
    inits.set(name, { ...old, data });
  }
  return inits;
}

export function buildOnnxModel(source: OnnxSource, options: OnnxLoadOptions, values: InitializerValues = new Map()): OnnxRunnable {
  const nodes = buildNodes(source.proto.graph!.node ?? [], source.opsets, source.file);
  const inits = replaceInitializers(source, values);
  const folded = options.foldBatchNorm === false ? 0 : foldBatchNorms(nodes, inits, new Set([source.outputName]));
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const weights = new Map<string, tf.Tensor>();
  for (const [name, t] of inits) if (used.has(name)) weights.set(name, tf.tensor(t.data, t.dims, t.dtype));
  const spec: GraphSpec = { nodes, inputName: source.input.name, outputName: source.outputName, readContext: source.readContext };
  const plans = new Map<string, ExecutionPlan>();
  const planFor = (shape: number[]): ExecutionPlan => {
    const key = shape.join(',');
    let plan = plans.get(key);
    if (!plan) {
      plan = new ExecutionPlan(spec, weights, shape);
      if (plans.size >= PLAN_CACHE_SIZE) {
        const [oldest, stale] = plans.entries().next().value!;
        stale.dispose();
        plans.delete(oldest);
      }
      plans.set(key, plan);
    }
    return plan;
  };
  const disposeAll = () => {
    for (const p of plans.values()) p.dispose();
    plans.clear();
    for (const t of weights.values()) t.dispose();
  };
  try {
    return assemble(source, options, nodes, inits, folded, planFor, disposeAll);
  } catch (err) {
    disposeAll();
    throw err;
  }
}

function assemble(
  source: OnnxSource,
  options: OnnxLoadOptions,
  nodes: GraphNode[],
  inits: Map<string, HostTensor>,
  foldedBatchNorms: number,
  planFor: (shape: number[]) => ExecutionPlan,
  dispose: () => void,
): OnnxRunnable {
  const first = planFor([1, ...source.input.shape]);
  const outShape = first.outputShapes.get(source.outputName) ?? [];
  const numClasses = outShape.slice(1).reduce((p, d) => p * d, 1);
  const { activation, logit } = finalActivationOf(nodes, source.outputName);
  const flat = (x: tf.Tensor, y: tf.Tensor) => tf.reshape(y, [x.shape[0]!, -1]) as tf.Tensor2D;
  const predict = (x: tf.Tensor) => flat(x, planFor(x.shape).run(x, source.outputName));
  const details = detailsOf(source, nodes, inits, first, foldedBatchNorms);
  const paramsOf = (n: GraphNode) => n.inputs.reduce((s, i) => s + (inits.get(i)?.dtype === 'float32' ? inits.get(i)!.data.length : 0), 0);
  return {
    inputShape: source.input.shape,
    numClasses,
    finalActivation: activation,
    outputNotes: activation
      ? { logit: `pre-${activation} logit`, probability: `${activation} output` }
      : { logit: 'model output (raw logits)', probability: 'softmax (sigmoid for one unit) of the model output' },
    predict,
    scores: (x, output) => {
      if (output === 'logit') return logit ? flat(x, planFor(x.shape).run(x, logit)) : predict(x);
      if (activation) return predict(x);
      const y = predict(x);
      return y.shape[1] === 1 ? tf.sigmoid(y) : tf.softmax(y);
    },
    layers: nodes.map((n) => ({
      name: n.name,
      className: n.opType,
      outputShape: first.outputShapes.get(n.outputs[0] ?? '') ?? null,
      params: paramsOf(n),
    })),
    totalParams: [...inits.values()].filter((t) => t.dtype === 'float32').reduce((s, t) => s + t.data.length, 0),
    onnx: { details, withInitializers: (values) => buildOnnxModel(source, options, values) },
    dispose,
  };
}

function detailsOf(
  source: OnnxSource,
  nodes: GraphNode[],
  inits: Map<string, HostTensor>,
  plan: ExecutionPlan,
  foldedBatchNorms: number,
): OnnxModelDetails {
  const nodeInfo = nodes.map((n): OnnxNodeInfo => ({
    name: n.name,
    opType: n.opType,
    opset: n.opset,
    inputs: n.inputs,
    outputs: n.outputs,
    initializers: n.inputs.filter((i) => inits.has(i)),
    outputShapes: n.outputs.map((o) => plan.outputShapes.get(o) ?? null),
    folded: plan.folded.has(n.name),
    ...(n.foldedBatchNorm ? { foldedBatchNorm: n.foldedBatchNorm } : {}),
  }));
  return {
    irVersion: toNumber(source.proto.irVersion),
    producer: `${source.proto.producerName ?? ''} ${source.proto.producerVersion ?? ''}`.trim(),
    opsets: source.opsets,
    input: source.input,
    outputName: source.outputName,
    nodes: nodeInfo,
    initializers: (source.proto.graph!.initializer ?? []).map(describeInitializer),
    foldedBatchNorms,
  };
}
