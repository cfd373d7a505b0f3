/**
 * Keras model configs → the Keras-2 dialect TF.js layers deserialises. Keras 2 `.h5` configs are that
 * dialect already; Keras 3 configs (in `.keras` and in `.h5` written by Keras 3) differ:
 * `{module, class_name, config, registered_name}` objects, `build_config`, InputLayer `batch_shape`,
 * `inbound_nodes` as `{args, kwargs}` with `__keras_tensor__` histories, DTypePolicy objects, renamed
 * keys. Custom and unknown classes are refused here, naming the class and what to do.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the layer classes looked up below
import { PathLensError } from '../../errors';
import { tfjsActivation } from './activations';
import { registerNormalizationLayer } from './preprocessingLayers';

type Json = Record<string, unknown>;

export interface NormaliseContext {
  file: string;
  kerasMajor: number;
  /** Notes for the model summary (e.g. a mixed-precision policy computed in float32). */
  notes: Set<string>;
}

export const CONTAINER_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

/** Keys TF.js does not know and that do not change inference. */
const DROPPED_KEYS = new Set([
  'build_config',
  'compile_config',
  'registered_name',
  'module',
  'shared_object_id',
  'quantization_config',
  'synchronized',
  'optional',
  'ragged',
  'build_input_shape',
  'renorm',
  'renorm_clipping',
  'renorm_momentum',
  'lora_rank',
  'lora_alpha',
]);

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function dtypeName(value: unknown, ctx: NormaliseContext): string {
  const name = isObject(value) ? (isObject(value.config) ? value.config.name : undefined) : value;
  if (typeof name !== 'string') return 'float32';
  if (name.startsWith('mixed_')) {
    ctx.notes.add(`mixed-precision policy '${name}' computed in float32 (its variables are float32)`);
    return 'float32';
  }
  if (name === 'float16' || name === 'bfloat16' || name === 'float64') {
    ctx.notes.add(`dtype '${name}' computed in float32`);
    return 'float32';
  }
  return name;
}

/** Initializers, regularizers, constraints: `{class_name, config}` without the Keras 3 keys. */
function plainObject(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainObject);
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) if (!DROPPED_KEYS.has(key)) out[key] = plainObject(v);
  return out;
}

function activationName(value: unknown): unknown {
  if (isObject(value) && typeof value.config === 'string') return value.config; // serialized function
  if (isObject(value) && typeof value.class_name === 'string' && !isObject(value.config)) return value.class_name;
  return value;
}

function layerClassError(entry: Json, ctx: NormaliseContext, name: string): PathLensError | null {
  const cls = String(entry.class_name);
  const registered = entry.registered_name;
  const module = entry.module;
  const custom =
    (typeof registered === 'string' && registered !== cls && registered !== 'Functional') ||
    module === null ||
    (typeof module === 'string' && !module.startsWith('keras'));
  if (custom) {
    return new PathLensError(
      'model-unsupported',
      `${ctx.file}: layer '${name}' is the custom class '${typeof registered === 'string' ? registered : cls}', whose Python code PathLens cannot run; rebuild the model from built-in Keras layers (or convert it with tensorflowjs_converter and register the class in TF.js)`,
    );
  }
  if (typeof module === 'string' && module.startsWith('keras.src.ops')) {
    return new PathLensError(
      'model-unsupported',
      `${ctx.file}: '${name}' is the Keras operation '${cls}' (Python arithmetic on tensors inside the model), which PathLens cannot build; use layers (Add, Multiply, Rescaling, Activation) instead`,
    );
  }
  if (!CONTAINER_CLASSES.has(cls) && !(cls in tf.serialization.SerializationMap.getMap().classNameMap)) {
    return new PathLensError(
      'model-unsupported',
      `${ctx.file}: layer '${name}' has class '${cls}', which TF.js layers cannot build; replace it with supported layers or convert the model to TF.js yourself`,
    );
  }
  return null;
}

function layerConfig(cls: string, config: Json, ctx: NormaliseContext, name: string): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(config)) {
    if (DROPPED_KEYS.has(key)) continue;
    if (key === 'dtype') out.dtype = dtypeName(value, ctx);
    else if (key === 'activation' || key === 'recurrent_activation') {
      const act = activationName(value);
      out[key] = typeof act === 'string' ? tfjsActivation(act, ctx.kerasMajor, `${ctx.file}: layer '${name}'`) : act;
    } else out[key] = plainObject(value);
  }
  if (cls === 'InputLayer' && out.batch_shape !== undefined) {
    out.batch_input_shape = out.batch_shape;
    delete out.batch_shape;
  }
  if (cls === 'LeakyReLU' && out.negative_slope !== undefined) {
    out.alpha = out.negative_slope;
    delete out.negative_slope;
  }
  return out;
}

/** One layer entry (or nested model) in the TF.js dialect. */
export function normaliseLayer(entry: unknown, ctx: NormaliseContext): Json {
  if (!isObject(entry) || typeof entry.class_name !== 'string' || !isObject(entry.config)) {
    if (isObject(entry) && Array.isArray(entry.config) && entry.class_name === 'Sequential') {
      // Keras <= 2.2.2: a Sequential's config is the bare list of layers.
      return normaliseLayer({ ...entry, config: { name: 'sequential', layers: entry.config } }, ctx);
    }
    throw new PathLensError(
      'model-load',
      `${ctx.file}: a layer entry is not {class_name, config}: ${JSON.stringify(entry)?.slice(0, 120)}`,
    );
  }
  const name = String(entry.name ?? entry.config.name ?? entry.class_name);
  const problem = layerClassError(entry, ctx, name);
  if (problem) throw problem;
  const cls = entry.class_name === 'Functional' ? 'Model' : entry.class_name;
  const out: Json = { class_name: cls };
  if (cls === 'Sequential' || cls === 'Model') out.config = normaliseContainer(cls, entry.config, ctx);
  else out.config = layerConfig(cls, entry.config, ctx, name);
  if (entry.name !== undefined) out.name = entry.name;
  if (entry.inbound_nodes !== undefined) out.inbound_nodes = inboundNodes(entry.inbound_nodes, ctx, name);
  return out;
}

function normaliseContainer(cls: string, config: Json, ctx: NormaliseContext): Json {
  const layers = config.layers;
  if (!Array.isArray(layers)) throw new PathLensError('model-load', `${ctx.file}: the ${cls} '${String(config.name)}' has no layers list`);
  const out: Json = { name: config.name, layers: layers.map((l) => normaliseLayer(l, ctx)) };
  if (config.trainable !== undefined) out.trainable = config.trainable;
  if (cls === 'Model') {
    out.input_layers = tensorRefs(config.input_layers, ctx, 'input_layers');
    out.output_layers = tensorRefs(config.output_layers, ctx, 'output_layers');
  }
  return out;
}

/** input_layers / output_layers: Keras 3.11+ write a single ref flat (or a dict); TF.js wants a list. */
function tensorRefs(value: unknown, ctx: NormaliseContext, what: string): unknown[] {
  const refs = isObject(value) ? Object.values(value) : value;
  if (!Array.isArray(refs)) throw new PathLensError('model-load', `${ctx.file}: ${what} is not a list`);
  if (refs.length === 3 && typeof refs[0] === 'string' && typeof refs[1] === 'number') return [refs];
  return refs;
}

function kerasTensorRef(value: unknown): unknown[] | null {
  if (!isObject(value) || value.class_name !== '__keras_tensor__' || !isObject(value.config)) return null;
  const history = value.config.keras_history;
  return Array.isArray(history) && history.length === 3 ? history : null;
}

/** Keras 3 `{args, kwargs}` nodes → `[[layer, node, tensor, kwargs], ...]`; Keras 2 nodes kept. */
function inboundNodes(nodes: unknown, ctx: NormaliseContext, name: string): unknown[] {
  if (!Array.isArray(nodes)) throw new PathLensError('model-load', `${ctx.file}: inbound_nodes of '${name}' is not a list`);
  return nodes.map((node) => {
    if (Array.isArray(node)) return node;
    if (!isObject(node) || !Array.isArray(node.args)) {
      throw new PathLensError('model-load', `${ctx.file}: an inbound node of '${name}' is neither a list nor {args, kwargs}`);
    }
    const refs: unknown[][] = [];
    for (const arg of node.args) {
      const items = Array.isArray(arg) ? arg : [arg];
      for (const item of items) {
        const ref = kerasTensorRef(item);
        if (ref) refs.push([...ref, {}]);
        else if (item !== null) {
          throw new PathLensError(
            'model-unsupported',
            `${ctx.file}: layer '${name}' is called with a non-tensor argument ${JSON.stringify(item).slice(0, 60)}, which PathLens cannot build`,
          );
        }
      }
    }
    return refs;
  });
}

/** The whole model config in the TF.js dialect: `{class_name, config}`. */
export function normaliseModelConfig(config: unknown, ctx: NormaliseContext): Json {
  registerNormalizationLayer();
  if (!isObject(config) || !CONTAINER_CLASSES.has(String(config.class_name))) {
    const cls = isObject(config) ? config.class_name : undefined;
    if (isObject(config) && typeof config.registered_name === 'string') {
      throw new PathLensError(
        'model-unsupported',
        `${ctx.file}: the model is the subclassed class '${config.registered_name}', whose Python code PathLens cannot run; save a Sequential or Functional model instead`,
      );
    }
    throw new PathLensError(
      'model-load',
      `${ctx.file}: the model config is not a Sequential or Functional model (class ${JSON.stringify(cls)})`,
    );
  }
  return normaliseLayer(config, ctx);
}
