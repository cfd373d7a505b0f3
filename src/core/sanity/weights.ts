/**
 * A model's trained weights as plain arrays, the layers whose weights the sanity checks replace, and
 * building a SEPARATE model instance from the artifacts with some weights replaced (the cached,
 * loaded model is never touched).
 *
 * Weighted layers
 * - layers models: every layer (descending into nested containers, in topology order) that owns a
 *   kernel-like weight (kernel, depthwise_kernel, pointwise_kernel, embeddings, recurrent_kernel); its
 *   bias goes with it. Normalisation layers (BatchNormalization etc.) are NOT randomized: their
 *   parameters are an affine rescaling, and Adebayo et al. randomize the learned filters.
 *   Weights are matched to layers by manifest name (`…/<layer>/<param>`).
 * - graph models: every Conv2D / DepthwiseConv2dNative / MatMul node (fused variants included) whose
 *   filter is a manifest constant; a fused bias (3rd input) and a BiasAdd directly after the node
 *   belong to it. Order: longest distance from the input placeholder.
 *
 * Re-initialisation: with the layer's own initializer from the topology when it is one of Keras'
 * standard ones (zeros, ones, constant, random normal/uniform, truncated normal, variance scaling and
 * the Glorot/He/LeCun presets), else a seeded normal N(0, σ²) with σ the trained tensor's standard
 * deviation (zeros when σ = 0). Every tensor has its own generator seeded by `<seed>:<layer>:<param>`,
 * so a layer gets the same random weights in every step (cascading is cumulative) and runs repeat.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PathLensError } from '../errors';
import { loadModel, type LoadedModel } from '../model/load';
import { readModelArtifacts } from '../model/artifacts';
import { createRng, type Rng } from '../random';
import type { Reinitialisation } from './types';

export interface WeightTensor {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  data: Float32Array | Int32Array | Uint8Array;
}

export interface InitializerSpec {
  className: string;
  config: Record<string, unknown>;
}

export interface LayerWeight {
  /** Manifest name. */
  name: string;
  /** kernel, bias, depthwise_kernel, … (graph models: kernel / bias). */
  param: string;
  initializer: InitializerSpec | null;
}

export interface WeightedLayer {
  name: string;
  /** Short display name (graph nodes: see `shortNodeName`). */
  label: string;
  className: string;
  weights: LayerWeight[];
  /** Number of values in the layer's randomized weights. */
  params: number;
}

export interface ModelWeights {
  format: 'layers-model' | 'graph-model' | 'onnx';
  /** model.json without the manifest. */
  json: Record<string, unknown>;
  tensors: Map<string, WeightTensor>;
  /** Manifest order. */
  order: string[];
  /** Weighted layers from input to output. */
  layers: WeightedLayer[];
  /** Builds the modified model without artifacts (ONNX: the decoded graph with replaced initializers). */
  rebuild?: (overrides: ReadonlyMap<string, Float32Array>) => Promise<LoadedModel>;
}

const KERNEL_PARAMS: Record<string, string> = {
  kernel: 'kernel_initializer',
  depthwise_kernel: 'depthwise_initializer',
  pointwise_kernel: 'pointwise_initializer',
  embeddings: 'embeddings_initializer',
  recurrent_kernel: 'recurrent_initializer',
};
const BIAS_PARAMS: Record<string, string> = { bias: 'bias_initializer' };

const GRAPH_WEIGHTED_OPS = new Set([
  'Conv2D',
  '_FusedConv2D',
  'DepthwiseConv2dNative',
  'FusedDepthwiseConv2dNative',
  'MatMul',
  '_FusedMatMul',
  'BatchMatMul',
  'BatchMatMulV2',
  'Conv2DBackpropInput',
  'Conv1D',
  'Conv3D',
]);

/** Reads model.json + shards and decodes every weight (dequantizing quantized ones) to plain arrays. */
export function readModelWeights(modelJsonPath: string): ModelWeights {
  const read = readModelArtifacts(modelJsonPath);
  const specs = read.artifacts.weightSpecs ?? [];
  const named = tf.io.decodeWeights(read.artifacts.weightData as ArrayBuffer, specs);
  const tensors = new Map<string, WeightTensor>();
  try {
    for (const spec of specs) {
      const t = named[spec.name]!;
      const dtype = t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool' ? t.dtype : null;
      if (!dtype)
        throw new PathLensError(
          'model-unsupported',
          `weight '${spec.name}' has dtype ${t.dtype}; the sanity checks cannot rebuild this model`,
        );
      const values = t.dataSync();
      const data =
        dtype === 'float32'
          ? Float32Array.from(values as Float32Array)
          : dtype === 'int32'
            ? Int32Array.from(values as Int32Array)
            : Uint8Array.from(values as Uint8Array);
      tensors.set(spec.name, { name: spec.name, shape: [...spec.shape], dtype, data });
    }
  } finally {
    tf.dispose(Object.values(named));
  }
  const { weightsManifest: _manifest, ...json } = read.json as unknown as Record<string, unknown>;
  const order = specs.map((s) => s.name);
  const layers =
    read.format === 'graph-model'
      ? graphLayers(read.json.modelTopology, tensors)
      : layersModelLayers(read.json.modelTopology, tensors, order);
  if (layers.length === 0) {
    throw new PathLensError(
      'model-unsupported',
      `${modelJsonPath}: no layer with weights to randomize (looked for dense/convolution kernels${read.format === 'graph-model' ? ' of Conv2D/DepthwiseConv2dNative/MatMul nodes' : ''})`,
    );
  }
  return { format: read.format, json, tensors, order, layers };
}

/** Keras' serialized initializer: {class_name, config} (TF.js may write className). */
function asInitializer(value: unknown): InitializerSpec | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as { class_name?: unknown; className?: unknown; config?: unknown };
  const className = typeof v.class_name === 'string' ? v.class_name : typeof v.className === 'string' ? v.className : null;
  if (!className) return null;
  return { className, config: v.config && typeof v.config === 'object' ? (v.config as Record<string, unknown>) : {} };
}

type LayerJson = { class_name: string; config: Record<string, unknown> & { name?: string; layers?: LayerJson[] }; name?: string };

/** Every leaf layer config, depth first, in topology order. */
function leafLayers(topology: Record<string, unknown>): LayerJson[] {
  const root = ((topology.model_config as LayerJson | undefined) ?? (topology as unknown as LayerJson)) as LayerJson;
  const out: LayerJson[] = [];
  const visit = (layer: LayerJson) => {
    const cfg = layer.config as unknown;
    const children = Array.isArray(cfg) ? (cfg as LayerJson[]) : (layer.config?.layers as LayerJson[] | undefined);
    if (['Sequential', 'Model', 'Functional'].includes(layer.class_name) && Array.isArray(children)) children.forEach(visit);
    else out.push(layer);
  };
  visit(root);
  return out;
}

function layersModelLayers(topology: Record<string, unknown>, tensors: Map<string, WeightTensor>, order: string[]): WeightedLayer[] {
  const leaves = leafLayers(topology);
  const byName = new Map<string, LayerJson>();
  for (const l of leaves) {
    const name = (l.config?.name ?? l.name) as string | undefined;
    if (name) byName.set(name, l);
  }
  // Manifest name → (layer, param): the longest layer name that the weight name ends with `<layer>/<param>`.
  const groups = new Map<string, LayerWeight[]>();
  for (const weightName of order) {
    if (tensors.get(weightName)?.dtype !== 'float32') continue;
    const parts = weightName.split('/');
    const param = parts[parts.length - 1]!.replace(/_\d+$/, '').replace(/:\d+$/, '');
    let layerName: string | null = null;
    for (let start = 0; start < parts.length - 1 && !layerName; start++) {
      const candidate = parts.slice(start, parts.length - 1).join('/');
      if (byName.has(candidate)) layerName = candidate;
    }
    if (!layerName) continue;
    const layer = byName.get(layerName)!;
    const initKey = KERNEL_PARAMS[param] ?? BIAS_PARAMS[param];
    const init = initKey ? layer.config[initKey] : undefined;
    const list = groups.get(layerName) ?? [];
    list.push({ name: weightName, param, initializer: asInitializer(init) });
    groups.set(layerName, list);
  }
  const out: WeightedLayer[] = [];
  for (const leaf of leaves) {
    const name = (leaf.config?.name ?? leaf.name) as string;
    const weights = groups.get(name);
    if (!weights || !weights.some((w) => w.param in KERNEL_PARAMS)) continue;
    const kept = weights.filter((w) => w.param in KERNEL_PARAMS || w.param in BIAS_PARAMS);
    out.push({
      name,
      label: name,
      className: leaf.class_name,
      weights: kept,
      params: kept.reduce((s, w) => s + tensors.get(w.name)!.data.length, 0),
    });
  }
  return out;
}

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
}

function graphLayers(topology: Record<string, unknown>, tensors: Map<string, WeightTensor>): WeightedLayer[] {
  const nodes = ((topology as { node?: GraphNode[] }).node ?? []) as GraphNode[];
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const clean = (ref: string) => ref.replace(/^\^/, '').replace(/:\d+$/, '');
  const dataInputs = (n: GraphNode) => (n.input ?? []).filter((i) => !i.startsWith('^')).map(clean);
  // Follow Identity chains to the constant behind an input.
  const constant = (ref: string | undefined): string | null => {
    let name = ref ? clean(ref) : undefined;
    for (let hops = 0; name && hops < 16; hops++) {
      const t = tensors.get(name);
      if (t && t.dtype === 'float32') return name;
      const node = byName.get(name);
      if (!node || node.op !== 'Identity') return null;
      name = dataInputs(node)[0];
    }
    return null;
  };
  // Longest distance from any placeholder (iterative DFS with memo; cycles are not expected in a GraphDef).
  const depth = new Map<string, number>();
  const depthOf = (start: string): number => {
    const stack: [string, boolean][] = [[start, false]];
    while (stack.length) {
      const [name, expanded] = stack.pop()!;
      if (depth.has(name)) continue;
      const node = byName.get(name);
      const ins = node ? dataInputs(node).filter((i) => byName.has(i)) : [];
      if (!expanded) {
        stack.push([name, true]);
        for (const i of ins) if (!depth.has(i)) stack.push([i, false]);
      } else {
        depth.set(name, node?.op === 'Placeholder' || ins.length === 0 ? 0 : 1 + Math.max(...ins.map((i) => depth.get(i) ?? 0)));
      }
    }
    return depth.get(start)!;
  };
  const consumers = new Map<string, GraphNode[]>();
  for (const n of nodes) for (const i of dataInputs(n)) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const layers: (WeightedLayer & { depth: number })[] = [];
  for (const node of nodes) {
    if (!GRAPH_WEIGHTED_OPS.has(node.op)) continue;
    const ins = dataInputs(node);
    const kernel = constant(ins[1]);
    if (!kernel) continue;
    const weights: LayerWeight[] = [{ name: kernel, param: 'kernel', initializer: null }];
    const fusedBias = node.op.startsWith('_Fused') || node.op.startsWith('Fused') ? constant(ins[2]) : null;
    if (fusedBias && tensors.get(fusedBias)!.shape.length === 1) weights.push({ name: fusedBias, param: 'bias', initializer: null });
    const biasAdd = (consumers.get(node.name) ?? []).find(
      (c) => (c.op === 'BiasAdd' || c.op === 'Add' || c.op === 'AddV2') && dataInputs(c)[0] === node.name,
    );
    const bias = biasAdd ? constant(dataInputs(biasAdd)[1]) : null;
    if (bias && tensors.get(bias)!.shape.length === 1 && !weights.some((w) => w.name === bias))
      weights.push({ name: bias, param: 'bias', initializer: null });
    layers.push({
      name: node.name,
      label: shortNodeName(node.name),
      className: node.op,
      weights,
      params: weights.reduce((s, w) => s + tensors.get(w.name)!.data.length, 0),
      depth: depthOf(node.name),
    });
  }
  layers.sort((a, b) => a.depth - b.depth);
  return layers.map(({ depth: _d, ...l }) => l);
}

const OP_SUFFIX =
  /^(Relu6?|BiasAdd|MatMul|Conv2D|depthwise|Conv2D_\d+|BatchNorm\w*|FusedBatchNorm\w*|Add|AddV2|Softmax|Sigmoid|Identity|Elu|Selu|Tanh|Mul|convolution|add|[A-Z]?[a-z]*ReadVariableOp)$/;

/** `.../MobilenetV1/Conv2d_1_depthwise/depthwise` → `Conv2d_1_depthwise`; `StatefulPartitionedCall/model/conv2d/Relu` → `conv2d`. */
export function shortNodeName(name: string): string {
  const parts = name.split('/');
  for (let i = parts.length - 1; i >= 0; i--) if (!OP_SUFFIX.test(parts[i]!)) return parts[i]!;
  return name;
}

// ---------------------------------------------------------------------------------------------
// Initializers

function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  if (shape.length === 2) return { fanIn: shape[0]!, fanOut: shape[1]! };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[shape.length - 2]! * receptive, fanOut: shape[shape.length - 1]! * receptive };
}

const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

function truncatedNormal(rng: Rng, mean: number, std: number): number {
  for (;;) {
    const z = rng.normal();
    if (Math.abs(z) <= 2) return mean + std * z;
  }
}

type Sampler = (rng: Rng) => number;

/** A sampler for a Keras initializer, or null when it is not a standard one. */
function standardInitializer(spec: InitializerSpec, shape: number[]): { sampler: Sampler; description: string } | null {
  const name = spec.className.replace(/_/g, '').toLowerCase();
  const c = spec.config ?? {};
  const variance = (scale: number, mode: string, distribution: string) => {
    const { fanIn, fanOut } = fans(shape);
    const n = mode === 'fan_out' || mode === 'fanOut' ? fanOut : mode === 'fan_avg' || mode === 'fanAvg' ? (fanIn + fanOut) / 2 : fanIn;
    const s = scale / Math.max(1, n);
    const dist = distribution.toLowerCase();
    if (dist === 'uniform') {
      const limit = Math.sqrt(3 * s);
      return { sampler: (rng: Rng) => rng.range(-limit, limit), description: `${spec.className} (uniform ±${limit.toPrecision(3)})` };
    }
    if (dist === 'untruncated_normal' || dist === 'untruncatednormal') {
      const std = Math.sqrt(s);
      return { sampler: (rng: Rng) => std * rng.normal(), description: `${spec.className} (normal σ=${std.toPrecision(3)})` };
    }
    // 'normal' and 'truncated_normal': Keras' truncated normal, corrected for the truncation.
    const std = Math.sqrt(s) / 0.8796256610342398;
    return {
      sampler: (rng: Rng) => truncatedNormal(rng, 0, std),
      description: `${spec.className} (truncated normal σ=${std.toPrecision(3)})`,
    };
  };
  switch (name) {
    case 'zeros':
      return { sampler: () => 0, description: 'Zeros' };
    case 'ones':
      return { sampler: () => 1, description: 'Ones' };
    case 'constant':
      return { sampler: () => num(c.value, 0), description: `Constant(${num(c.value, 0)})` };
    case 'randomnormal': {
      const mean = num(c.mean, 0),
        std = num(c.stddev, 0.05);
      return { sampler: (rng) => mean + std * rng.normal(), description: `RandomNormal(${mean}, ${std})` };
    }
    case 'randomuniform': {
      const lo = num(c.minval, -0.05),
        hi = num(c.maxval, 0.05);
      return { sampler: (rng) => rng.range(lo, hi), description: `RandomUniform(${lo}, ${hi})` };
    }
    case 'truncatednormal': {
      const mean = num(c.mean, 0),
        std = num(c.stddev, 0.05);
      return { sampler: (rng) => truncatedNormal(rng, mean, std), description: `TruncatedNormal(${mean}, ${std})` };
    }
    case 'variancescaling':
      return variance(num(c.scale, 1), String(c.mode ?? 'fan_in'), String(c.distribution ?? 'truncated_normal'));
    case 'glorotuniform':
      return variance(1, 'fan_avg', 'uniform');
    case 'glorotnormal':
      return variance(1, 'fan_avg', 'truncated_normal');
    case 'heuniform':
      return variance(2, 'fan_in', 'uniform');
    case 'henormal':
      return variance(2, 'fan_in', 'truncated_normal');
    case 'lecununiform':
      return variance(1, 'fan_in', 'uniform');
    case 'lecunnormal':
      return variance(1, 'fan_in', 'truncated_normal');
    default:
      return null;
  }
}

export function standardDeviation(data: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < data.length; i++) mean += data[i]!;
  mean /= Math.max(1, data.length);
  let s = 0;
  for (let i = 0; i < data.length; i++) s += (data[i]! - mean) ** 2;
  return Math.sqrt(s / Math.max(1, data.length));
}

/** Fresh random values for one weight of a layer (deterministic per seed, layer and param). */
export function reinitialise(
  weights: ModelWeights,
  layer: WeightedLayer,
  weight: LayerWeight,
  seed: number,
): { data: Float32Array; how: Reinitialisation } {
  const trained = weights.tensors.get(weight.name)!;
  const rng = createRng(`${seed}:${layer.name}:${weight.param}:${weight.name}`);
  const standard = weight.initializer ? standardInitializer(weight.initializer, trained.shape) : null;
  const out = new Float32Array(trained.data.length);
  if (standard) {
    for (let i = 0; i < out.length; i++) out[i] = standard.sampler(rng);
    return { data: out, how: { weight: weight.name, initializer: standard.description } };
  }
  const std = standardDeviation(trained.data);
  for (let i = 0; i < out.length; i++) out[i] = std * rng.normal();
  return { data: out, how: { weight: weight.name, initializer: `seeded normal N(0, ${std.toPrecision(3)}²) matched to the trained std` } };
}

/** w + N(0, (level·σ_w)²) per tensor of every weighted layer (σ_w: that tensor's trained std). */
export function perturbedWeights(weights: ModelWeights, level: number, seed: number | string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const layer of weights.layers) {
    for (const w of layer.weights) {
      const trained = weights.tensors.get(w.name)!.data as Float32Array;
      const sigma = level * standardDeviation(trained);
      const rng = createRng(`${seed}:${w.name}`);
      const data = new Float32Array(trained.length);
      for (let i = 0; i < data.length; i++) data[i] = trained[i]! + sigma * rng.normal();
      out.set(w.name, data);
    }
  }
  return out;
}

/**
 * A new, independent model instance from the artifacts with `overrides` replacing weights by name,
 * loaded through PathLens' own loader (same logit/probability handling as the original). The
 * artifacts go through a private temp directory that is removed right after loading.
 */
export async function buildModel(weights: ModelWeights, overrides: ReadonlyMap<string, Float32Array>): Promise<LoadedModel> {
  if (weights.rebuild) return weights.rebuild(overrides);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-sanity-'));
  try {
    const specs = weights.order.map((name) => {
      const t = weights.tensors.get(name)!;
      return { name, shape: t.shape, dtype: t.dtype };
    });
    const buffers = weights.order.map((name) => {
      const data = overrides.get(name) ?? weights.tensors.get(name)!.data;
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    });
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat(buffers));
    const file = path.join(dir, 'model.json');
    fs.writeFileSync(file, JSON.stringify({ ...weights.json, weightsManifest: [{ paths: ['weights.bin'], weights: specs }] }));
    return await loadModel(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
