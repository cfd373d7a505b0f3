/**
 * Preprocessing layers inside a model (Keras `Rescaling`, `Normalization`) decide what the model's
 * input space is: a model that starts with Rescaling(1/255) takes raw 0..255 pixels. This finds such a
 * first layer in a layers topology (Sequential or Functional, nested ones included) and registers a
 * TF.js `Normalization` layer, which TF.js layers lacks, so Keras models using it can run.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What the first preprocessing layer does, in one line; null when the model starts without one. */
export function inputPreprocessingLayer(topology: unknown): string | null {
  const first = firstLayer(isObject(topology) && isObject(topology.model_config) ? topology.model_config : topology);
  if (!first) return null;
  const cfg = first.config as Json;
  const name = String(first.name ?? cfg.name);
  if (first.class_name === 'Rescaling') {
    return `the model's first layer '${name}' is Rescaling(scale ${String(cfg.scale)}, offset ${String(cfg.offset ?? 0)}): it takes raw 0..255 pixels`;
  }
  if (first.class_name === 'Normalization') {
    return `the model's first layer '${name}' is Normalization (mean/variance inside the model): it takes raw 0..255 pixels (set the preprocessing if it was adapted on scaled data)`;
  }
  return null;
}

function firstLayer(entry: unknown, depth = 0): Json | null {
  if (!isObject(entry) || !isObject(entry.config) || depth > 20) return null;
  const layers = entry.config.layers;
  if (!Array.isArray(layers)) return entry;
  const candidates = (layers as Json[]).filter((l) => isObject(l) && l.class_name !== 'InputLayer');
  if (entry.class_name === 'Sequential') return firstLayer(candidates[0], depth + 1);
  // Functional: the single layer fed by the first input layer.
  const inputRefs = entry.config.input_layers;
  const inputName = Array.isArray(inputRefs) ? (Array.isArray(inputRefs[0]) ? inputRefs[0][0] : inputRefs[0]) : undefined;
  const fed = candidates.filter((l) => JSON.stringify(l.inbound_nodes ?? []).includes(`"${String(inputName)}"`));
  return fed.length === 1 ? firstLayer(fed[0], depth + 1) : null;
}

interface NormalizationArgs {
  axis?: number | number[] | null;
  mean?: number | number[] | null;
  variance?: number | number[] | null;
  invert?: boolean;
  name?: string;
  dtype?: 'float32';
  trainable?: boolean;
}

/** Keras' Normalization: (x − mean) / max(√variance, 1e-7), or its inverse; statistics per last axis. */
class Normalization extends tfl.layers.Layer {
  static readonly className = 'Normalization';
  private readonly args: NormalizationArgs;
  private mean: tfl.LayerVariable | null = null;
  private variance: tfl.LayerVariable | null = null;

  constructor(args: NormalizationArgs) {
    super(args);
    const axis = Array.isArray(args.axis) ? args.axis : [args.axis ?? -1];
    if (axis.length !== 1) throw new Error(`Normalization over axes ${JSON.stringify(args.axis)} is not supported (only the last axis)`);
    this.args = args;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const channels = shape[shape.length - 1]!;
    const axis = Array.isArray(this.args.axis) ? this.args.axis[0] : (this.args.axis ?? -1);
    if (axis !== -1 && axis !== shape.length - 1) throw new Error(`Normalization over axis ${axis} is not supported (only the last axis)`);
    if (this.args.mean === undefined || this.args.mean === null) {
      this.mean = this.addWeight('mean', [channels], 'float32', tfl.initializers.zeros(), undefined, false);
      this.variance = this.addWeight('variance', [channels], 'float32', tfl.initializers.ones(), undefined, false);
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const mean = this.mean ? this.mean.read() : tf.tensor(this.args.mean as number | number[]);
      const variance = this.variance ? this.variance.read() : tf.tensor(this.args.variance as number | number[]);
      const std = tf.maximum(tf.sqrt(variance), 1e-7);
      return this.args.invert ? tf.add(tf.mul(x, std), mean) : tf.div(tf.sub(x, mean), std);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { axis, mean, variance, invert } = this.args;
    return { ...super.getConfig(), axis: axis ?? -1, mean: mean ?? null, variance: variance ?? null, invert: invert ?? false };
  }
}

let registered = false;
/** Registers the Normalization layer with TF.js once (idempotent). */
export function registerNormalizationLayer(): void {
  if (registered) return;
  tf.serialization.registerClass(Normalization);
  registered = true;
}
