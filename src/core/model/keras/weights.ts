/**
 * Weights of a Keras model as TF.js weight specs (`<layer>/<variable>` names, as TF.js layers names
 * them) plus one buffer. Keras 3 stores variables by position under `layers/<snake_case class>/vars/<i>`
 * (saving_lib._save_state); Keras 2 `.h5` stores them under `model_weights/<layer>/<weight name>` in the
 * order of the `weight_names` attribute (legacy_h5_format). Shapes are checked against the config.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { PathLensError } from '../../errors';
import { checkDeclaredBytes, MAX_WEIGHT_BYTES } from '../../safety';
import { CONTAINER_CLASSES } from './config';
import { datasetShape, h5Get, isDataset, isGroup, readFloatDataset, stringAttr, stringListAttr, type H5Group } from './hdf5';

type Json = Record<string, unknown>;

export interface KerasWeights {
  specs: tf.io.WeightsManifestEntry[];
  data: ArrayBuffer;
  bytes: number;
}

/** TF.js variable names of a (normalised) layer, in creation order. */
export function variableNames(layer: Json): string[] {
  const cls = String(layer.class_name);
  const cfg = (layer.config ?? {}) as Json;
  const bias = cfg.use_bias === false ? [] : ['bias'];
  switch (cls) {
    case 'Dense':
    case 'Conv1D':
    case 'Conv2D':
    case 'Conv3D':
    case 'Conv2DTranspose':
    case 'Conv3DTranspose':
      return ['kernel', ...bias];
    case 'DepthwiseConv2D':
      return ['depthwise_kernel', ...bias];
    case 'SeparableConv1D':
    case 'SeparableConv2D':
      return ['depthwise_kernel', 'pointwise_kernel', ...bias];
    case 'BatchNormalization':
      return [...(cfg.scale === false ? [] : ['gamma']), ...(cfg.center === false ? [] : ['beta']), 'moving_mean', 'moving_variance'];
    case 'LayerNormalization':
      return [...(cfg.scale === false ? [] : ['gamma']), ...(cfg.center === false ? [] : ['beta'])];
    case 'Embedding':
      return ['embeddings'];
    case 'PReLU':
      return ['alpha'];
    case 'Normalization': // Keras also stores an integer 'count' after these; not needed for inference
      return cfg.mean === null || cfg.mean === undefined ? ['mean', 'variance'] : [];
    default:
      return [];
  }
}

/** Classes whose variables PathLens knows how to name; any other class with variables is refused. */
const WEIGHTLESS = new Set([
  'InputLayer',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
  'ThresholdedReLU',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'Flatten',
  'Reshape',
  'Permute',
  'RepeatVector',
  'Add',
  'Multiply',
  'Average',
  'Maximum',
  'Minimum',
  'Concatenate',
  'Dot',
  'ZeroPadding2D',
  'Cropping2D',
  'UpSampling2D',
  'MaxPooling1D',
  'MaxPooling2D',
  'MaxPooling3D',
  'AveragePooling1D',
  'AveragePooling2D',
  'AveragePooling3D',
  'GlobalAveragePooling1D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'Rescaling',
  'Normalization',
  'Resizing',
  'CenterCrop',
  'Masking',
]);

const layerName = (layer: Json): string => String(layer.name ?? (layer.config as Json).name);

/** Expected shape with null for dimensions the config does not fix (input channels, input units). */
function expectedShape(layer: Json, variable: string): (number | null)[] | null {
  const cfg = layer.config as Json;
  const size = (v: unknown) => (Array.isArray(v) ? (v as number[]) : typeof v === 'number' ? [v] : []);
  switch (`${String(layer.class_name)}/${variable}`) {
    case 'Dense/kernel':
      return [null, cfg.units as number];
    case 'Dense/bias':
      return [cfg.units as number];
    case 'Conv1D/kernel':
    case 'Conv2D/kernel':
    case 'Conv3D/kernel':
      return [...size(cfg.kernel_size), null, cfg.filters as number];
    case 'Conv1D/bias':
    case 'Conv2D/bias':
    case 'Conv3D/bias':
      return [cfg.filters as number];
    case 'DepthwiseConv2D/depthwise_kernel':
      return [...size(cfg.kernel_size), null, (cfg.depth_multiplier as number) ?? 1];
    default:
      return null;
  }
}

function checkShape(layer: Json, variable: string, shape: number[], file: string, where: string): void {
  const expected = expectedShape(layer, variable);
  const fits = !expected || (expected.length === shape.length && expected.every((d, i) => d === null || d === shape[i]));
  if (!fits) {
    throw new PathLensError(
      'model-load',
      `${file}: weight '${layerName(layer)}/${variable}' (${where}) has shape [${shape.join(', ')}] but the config of layer '${layerName(layer)}' needs [${expected!.map((d) => d ?? '*').join(', ')}]`,
    );
  }
}

class WeightCollector {
  readonly specs: tf.io.WeightsManifestEntry[] = [];
  private readonly arrays: Float32Array[] = [];
  private bytes = 0;
  constructor(readonly file: string) {}

  add(layer: Json, variable: string, dataset: unknown, where: string): void {
    if (!isDataset(dataset))
      throw new PathLensError('model-load', `${this.file}: weight '${layerName(layer)}/${variable}' is missing (expected ${where})`);
    const shape = datasetShape(dataset, where, this.file);
    checkShape(layer, variable, shape, this.file, where);
    const values = readFloatDataset(dataset, where, this.file, MAX_WEIGHT_BYTES - this.bytes);
    this.specs.push({ name: `${layerName(layer)}/${variable}`, shape, dtype: 'float32' });
    this.arrays.push(values);
    this.bytes += values.byteLength;
  }

  result(): KerasWeights {
    checkDeclaredBytes(this.bytes, MAX_WEIGHT_BYTES, `${this.file}: the weights`);
    const out = new Uint8Array(this.bytes);
    let offset = 0;
    for (const a of this.arrays) {
      out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
      offset += a.byteLength;
    }
    return { specs: this.specs, data: out.buffer, bytes: this.bytes };
  }
}

function layersOf(container: Json): Json[] {
  return ((container.config as Json).layers as Json[]) ?? [];
}

function requireKnownVariables(layer: Json, file: string): string[] {
  const names = variableNames(layer);
  if (names.length === 0 && !WEIGHTLESS.has(String(layer.class_name))) {
    throw new PathLensError(
      'model-unsupported',
      `${file}: layer '${layerName(layer)}' has class '${String(layer.class_name)}', whose weights PathLens cannot map to TF.js yet`,
    );
  }
  return names;
}

/** Keras' naming.to_snake_case. */
export function toSnakeCase(name: string): string {
  const cleaned = name.replace(/\W+/g, '');
  return cleaned
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * Keras 3: walks the container as _save_state does (Sequential.layers omits its InputLayer; names are
 * the snake_case class, made unique per container). `original` is the Keras 3 entry (its class names
 * decide the paths), `layer` the normalised one (its names decide the TF.js weight names).
 */
function collectKeras3(root: H5Group, original: Json, layer: Json, prefix: string, out: WeightCollector): void {
  const originals = ((original.config as Json).layers as Json[]) ?? [];
  const normalised = layersOf(layer);
  const used = new Map<string, number>();
  originals.forEach((child, i) => {
    if (original.class_name === 'Sequential' && child.class_name === 'InputLayer') return;
    const base = toSnakeCase(String(child.class_name));
    const count = used.get(base);
    used.set(base, count === undefined ? 0 : count + 1);
    const path = `${prefix}layers/${count === undefined ? base : `${base}_${count + 1}`}`;
    const target = normalised[i]!;
    if (CONTAINER_CLASSES.has(String(target.class_name))) return collectKeras3(root, child, target, `${path}/`, out);
    const names = requireKnownVariables(target, out.file);
    const vars = names.length ? h5Get(root, `${path}/vars`, out.file) : null;
    if (names.length && !isGroup(vars)) {
      throw new PathLensError('model-load', `${out.file}: model.weights.h5 has no ${path}/vars for layer '${layerName(target)}'`);
    }
    if (names.length) checkVarsOwner(vars as H5Group, target, path, out.file);
    names.forEach((variable, k) => out.add(target, variable, h5Get(vars as H5Group, String(k), out.file), `${path}/vars/${k}`));
  });
}

/** Keras ≥ 3.6 name the owner on each vars group: a different name means weights of another model. */
function checkVarsOwner(vars: H5Group, layer: Json, path: string, file: string): void {
  const owner = stringAttr(vars, 'name', file);
  if (owner !== null && owner !== layerName(layer)) {
    throw new PathLensError(
      'model-load',
      `${file}: ${path}/vars belongs to layer '${owner}' but the config puts layer '${layerName(layer)}' there; the weights are not this model's`,
    );
  }
}

export function readKeras3Weights(root: H5Group, original: Json, normalised: Json, file: string): KerasWeights {
  const out = new WeightCollector(file);
  collectKeras3(root, original, normalised, '', out);
  return out.result();
}

function leaves(layer: Json): Json[] {
  return CONTAINER_CLASSES.has(String(layer.class_name)) ? layersOf(layer).flatMap(leaves) : [layer];
}

/** Keras 2 `.h5`: one group per top-level layer; a nested model's group holds all its variables. */
export function readLegacyWeights(modelWeights: H5Group, normalised: Json, file: string): KerasWeights {
  const out = new WeightCollector(file);
  for (const top of layersOf(normalised)) {
    const expected = leaves(top).flatMap((leaf) => requireKnownVariables(leaf, file).map((v) => ({ leaf, v })));
    if (expected.length === 0) continue;
    const group = h5Get(modelWeights, layerName(top), file);
    const names = isGroup(group) ? stringListAttr(group, 'weight_names', file) : null;
    if (!isGroup(group) || !names) {
      throw new PathLensError('model-load', `${file}: model_weights has no group with weight_names for layer '${layerName(top)}'`);
    }
    // Match by '<layer>/<variable>' (the last two parts of the stored name, without ':0').
    const byKey = new Map<string, string>();
    for (const stored of names) {
      const parts = stored.replace(/:\d+$/, '').split('/');
      const variable = parts.at(-1)!;
      const owner = parts.at(-2) ?? '';
      byKey.set(`${owner}/${variable}`, stored);
      // Keras 3 names DepthwiseConv2D's kernel 'kernel'; TF.js and Keras 2 'depthwise_kernel'.
      if (variable === 'kernel') byKey.set(`${owner}/depthwise_kernel`, stored);
    }
    for (const { leaf, v } of expected) {
      const stored = byKey.get(`${layerName(leaf)}/${v}`);
      const where = `model_weights/${layerName(top)}/${stored ?? `${layerName(leaf)}/${v}:0`}`;
      out.add(leaf, v, stored ? h5Get(group, stored, file) : null, where);
    }
  }
  return out.result();
}
