/**
 * Access to one internal layer of a loaded model during a forward pass: read its output h and
 * replace it by transform(h). Neuron attributions (Lundstrom et al. 2022) split F = g∘h at that layer;
 * with the hook, ∂F/∂h is the gradient of F with respect to an additive ε on h, and g can be run on any
 * activation (layer IG's path in activation space).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as tfc from '@tensorflow/tfjs-converter';
import { PathLensError } from '../errors';

/** A layer (or graph node) whose output can be hooked, with its per-example output shape. */
export interface InternalLayer {
  name: string;
  className: string;
  /** Output shape without the batch dimension, e.g. [14, 14, 8] or [200]. */
  shape: number[];
}

export type ActivationTransform = (h: tf.Tensor) => tf.Tensor;

export interface InternalLayers {
  /** Layers whose output (after their built-in activation) can be read and replaced. */
  list(): InternalLayer[];
  /** The layer by name; a clear error listing a few valid names otherwise. */
  find(name: string): InternalLayer;
  /**
   * Runs `run` (which calls the model's forward pass, e.g. `scores`) with the layer's output replaced by
   * transform(h). Inside `run`, every forward pass of the model goes through the hook.
   */
  through<T>(layer: string, transform: ActivationTransform, run: () => T): T;
}

function unknownLayer(name: string, layers: InternalLayer[]): PathLensError {
  const sample = layers
    .slice(0, 8)
    .map((l) => l.name)
    .join(', ');
  return new PathLensError(
    'usage',
    `the model has no layer '${name}' (${layers.length} layers; e.g. ${sample}${layers.length > 8 ? ', …' : ''}; 'pathlens info' lists them)`,
  );
}

function lookup(layers: InternalLayer[], name: string): InternalLayer {
  const exact = layers.find((l) => l.name === name);
  if (exact) return exact;
  // Nested models list layers as outer/inner; a bare name is accepted when it is unique.
  const bySuffix = layers.filter((l) => l.name.endsWith(`/${name}`));
  if (bySuffix.length === 1) return bySuffix[0]!;
  throw unknownLayer(name, layers);
}

interface LayersEntry {
  path: string;
  layer: tfl.layers.Layer;
}

function walkLayers(layers: tfl.layers.Layer[], prefix = ''): LayersEntry[] {
  const out: LayersEntry[] = [];
  for (const layer of layers) {
    const nested = (layer as unknown as { layers?: tfl.layers.Layer[] }).layers;
    if (Array.isArray(nested)) out.push(...walkLayers(nested, `${prefix}${layer.name}/`));
    else if (layer.getClassName() !== 'InputLayer') out.push({ path: prefix + layer.name, layer });
  }
  return out;
}

function singleOutputShape(layer: tfl.layers.Layer): number[] | null {
  try {
    const shape = layer.outputShape;
    if (Array.isArray(shape[0]) || shape.length < 2) return null;
    const rest = (shape as (number | null)[]).slice(1);
    return rest.every((d) => typeof d === 'number' && d > 0) ? (rest as number[]) : null;
  } catch {
    return null; // applied at several nodes: no single output
  }
}

type CallFn = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

/**
 * Hooks for TF.js layers models. `models` are every instance the loaded model predicts with (the
 * model and its logit twin without the final activation); the same-named layer is patched in each.
 */
export function layersModelInternals(models: tfl.LayersModel[]): InternalLayers {
  const entries = models.map((m) => walkLayers(m.layers));
  const layers: InternalLayer[] = entries[0]!.flatMap(({ path, layer }) => {
    const shape = singleOutputShape(layer);
    return shape ? [{ name: path, className: layer.getClassName(), shape }] : [];
  });
  return {
    list: () => layers,
    find: (name) => lookup(layers, name),
    through(name, transform, run) {
      const target = lookup(layers, name).name;
      const patched = entries.flatMap((list) => list.filter((e) => e.path === target).map((e) => e.layer));
      const originals = patched.map((layer) => {
        const layerWithCall = layer as unknown as { call: CallFn };
        const original = layerWithCall.call;
        layerWithCall.call = function (this: unknown, inputs, kwargs) {
          const out = original.call(this, inputs, kwargs);
          return Array.isArray(out) ? out : transform(out);
        };
        return () => {
          layerWithCall.call = original;
        };
      });
      try {
        return run();
      } finally {
        originals.forEach((restore) => restore());
      }
    },
  };
}

interface GraphNodeDef {
  name: string;
  op: string;
}

const NON_LAYER_OPS = new Set(['Const', 'Placeholder', 'Identity', 'NoOp', 'Shape', 'StridedSlice', 'Pack']);

/**
 * Hooks for TF.js graph models: a node's output is read by executing up to it and replaced by feeding
 * the node (the executor then skips its producers). `execute` runs the graph from feeds to outputs.
 */
export function graphModelInternals(
  model: tfc.GraphModel,
  nodes: GraphNodeDef[],
  inputName: string,
  inputShape: number[],
  setFeed: (feed: ((x: tf.Tensor) => tf.NamedTensorMap) | null) => void,
): InternalLayers {
  let cached: InternalLayer[] | null = null;
  const list = (): InternalLayer[] => {
    if (cached) return cached;
    const candidates = nodes.filter((n) => !NON_LAYER_OPS.has(n.op) && !n.name.endsWith('/shape'));
    const shapes = tf.tidy(() => {
      const outs = model.execute(
        { [inputName]: tf.zeros([1, ...inputShape]) },
        candidates.map((n) => n.name),
      ) as tf.Tensor[];
      return outs.map((t) => t.shape.slice(1));
    });
    cached = candidates.flatMap((n, i) => {
      const shape = shapes[i]!;
      return shape.length > 0 && shape.every((d) => d > 0) ? [{ name: n.name, className: n.op, shape }] : [];
    });
    return cached;
  };
  return {
    list,
    find: (name) => lookup(list(), name),
    through(name, transform, run) {
      const node = lookup(list(), name).name;
      setFeed((x) => {
        const h = model.execute({ [inputName]: x }, node) as tf.Tensor;
        return { [inputName]: x, [node]: transform(h) };
      });
      try {
        return run();
      } finally {
        setFeed(null);
      }
    },
  };
}
