/**
 * The pattern network: a twin of a TF.js layers model as a chain of ops, with every kernel layer
 * (Dense, Conv2D, DepthwiseConv2D) explicit and a BatchNormalization directly after it folded in.
 * Its forward pass reproduces the model's logits; its backward pass is the model's own backward pass
 * except that each kernel layer may use a replacement kernel (the pattern A for PatternNet, W⊙A for
 * PatternAttribution, W itself for the plain gradient), with ReLU gates and max-pool switches taken
 * from the forward pass. The loaded model is never modified: this is a separate copy of its weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { PathLensError } from '../errors';
import type { ReadArtifacts } from '../model/artifacts';

export type KernelKind = 'dense' | 'conv2d' | 'depthwise';

export interface KernelOp {
  type: 'kernel';
  kind: KernelKind;
  /** Layer name (the kernel layer's). */
  name: string;
  className: string;
  /** Kernel with any following BatchNormalization folded in: Dense [in, out], Conv2D [kh, kw, cin, cout], DepthwiseConv2D [kh, kw, cin, mult]. */
  kernel: tf.Tensor;
  /** Folded bias (zeros when the layer has none). */
  bias: tf.Tensor1D;
  strides: [number, number];
  padding: 'same' | 'valid';
  dilations: [number, number];
  /** Activation applied to the (folded) pre-activation. */
  activation: string;
  /** Name of the BatchNormalization layer folded into this one, if any. */
  foldedBatchNorm: string | null;
  /** The unit is ReLU-gated (own relu/relu6 activation, or a ReLU layer right after it): two-component estimator applies. */
  reluFamily: boolean;
}

export interface PassOp {
  type: 'pass';
  name: string;
  className: string;
  /** Applied as it is (inference mode); its vector-Jacobian product is TF.js' own gradient at the forward input. */
  layer: tfl.layers.Layer;
}

export type Op = KernelOp | PassOp;

/** Layers without weights (or with a fixed inference-time map) whose own backward pass is used. */
const PASS_THROUGH = new Set([
  'Flatten',
  'Reshape',
  'Permute',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'MaxPooling1D',
  'MaxPooling2D',
  'AveragePooling1D',
  'AveragePooling2D',
  'GlobalAveragePooling1D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'ZeroPadding2D',
  'Cropping2D',
  'UpSampling2D',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
  'ThresholdedReLU',
  'BatchNormalization',
  'Rescaling',
  'ActivityRegularization',
]);
const IDENTITY = new Set(['InputLayer']);
const RELU_FAMILY = new Set(['relu', 'relu6']);
const SQUASHING = new Set(['softmax', 'sigmoid']);

type Activation = (x: tf.Tensor) => tf.Tensor;
const ACTIVATIONS: Record<string, Activation> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  softmax: (x) => tf.softmax(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  softplus: (x) => tf.softplus(x),
  softsign: (x) => tf.div(x, tf.add(tf.abs(x), 1)),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  hard_sigmoid: (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1),
};

function activationName(value: unknown, layer: string): string {
  const name =
    typeof value === 'string'
      ? value
      : value === undefined || value === null
        ? 'linear'
        : ((value as { className?: string }).className ?? String(value));
  const normal = name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  const key = normal === 'hard_sigmoid' ? 'hard_sigmoid' : normal;
  if (!(key in ACTIVATIONS)) {
    throw new PathLensError('model-unsupported', `pattern methods cannot mirror the activation '${name}' of layer '${layer}'`);
  }
  return key;
}

export function applyActivation(name: string, x: tf.Tensor): tf.Tensor {
  return ACTIVATIONS[name]!(x);
}

/** Forward activations kept for the backward pass (one entry per op). */
export interface ForwardCache {
  /** Input of each op. */
  inputs: tf.Tensor[];
  /** Pre-activation (with bias) of each kernel op; null for pass ops. */
  pre: (tf.Tensor | null)[];
  /** Output shape of each op. */
  outShapes: number[][];
  /** The logits, [B, K]. */
  output: tf.Tensor2D;
}

export interface PatternNetwork {
  readonly ops: readonly Op[];
  readonly kernelOps: readonly KernelOp[];
  readonly inputShape: number[];
  /** The final squashing activation stripped from the twin (the model's logits are the twin's output). */
  readonly finalSquash: 'softmax' | 'sigmoid' | null;
  /** Forward pass keeping what the backward pass needs (the caller disposes, e.g. inside tf.tidy). */
  forward(x: tf.Tensor): ForwardCache;
  /**
   * Backward pass from `seed` ([B, K], at the logits) to the input, each kernel op using
   * `kernels.get(op.name)` (default: its own kernel, i.e. the ordinary gradient).
   */
  backward(cache: ForwardCache, seed: tf.Tensor, kernels?: ReadonlyMap<string, tf.Tensor>): tf.Tensor;
  /** Linear part of a kernel op (no bias, no activation) with a given kernel. */
  linear(op: KernelOp, x: tf.Tensor, kernel?: tf.Tensor): tf.Tensor;
  dispose(): void;
}

interface RawLayer {
  layer: tfl.layers.Layer;
  className: string;
}

/** The model's layers as a chain (nested chains flattened); anything else is a clear error. */
function chainOf(model: tfl.LayersModel | tfl.Sequential, file: string): RawLayer[] {
  const out: RawLayer[] = [];
  let previous: tfl.layers.Layer | null = null;
  for (const layer of model.layers) {
    const className = layer.getClassName();
    const nested = (layer as unknown as { layers?: tfl.layers.Layer[] }).layers;
    if (className !== 'Sequential' && !Array.isArray(nested)) {
      const inbound = layer.inboundNodes.flatMap((n) => n.inboundLayers);
      if (className !== 'InputLayer' && previous && inbound.length > 0 && (inbound.length !== 1 || inbound[0] !== previous)) {
        throw new PathLensError(
          'model-unsupported',
          `pattern methods need a chain of layers; layer '${layer.name}' (${className}) in ${file} takes ${inbound.map((l) => `'${l.name}'`).join(', ')} as input (branches, skips and merges are not supported)`,
        );
      }
    }
    if (Array.isArray(nested)) out.push(...chainOf(layer as unknown as tfl.LayersModel, file));
    else out.push({ layer, className });
    previous = layer;
  }
  return out;
}

function pair(value: unknown, fallback: number): [number, number] {
  if (Array.isArray(value)) return [Number(value[0] ?? fallback), Number(value[1] ?? value[0] ?? fallback)];
  if (typeof value === 'number') return [value, value];
  return [fallback, fallback];
}

function weightByName(layer: tfl.layers.Layer, suffix: string): tf.Tensor | null {
  const index = layer.weights.findIndex((w) => w.originalName.endsWith(`/${suffix}`) || w.name.endsWith(`/${suffix}`) || w.name === suffix);
  return index < 0 ? null : layer.getWeights()[index]!;
}

/** Per-channel scale and shift of an inference-mode BatchNormalization on the last axis. */
function batchNormAffine(layer: tfl.layers.Layer, channels: number): { scale: tf.Tensor1D; shift: tf.Tensor1D } | null {
  const config = layer.getConfig() as { axis?: number | number[]; epsilon?: number; center?: boolean; scale?: boolean };
  const axis = Array.isArray(config.axis) ? config.axis : [config.axis ?? -1];
  const rank = (layer.inputSpec?.[0]?.ndim as number | undefined) ?? null;
  const lastAxis = axis.length === 1 && (axis[0] === -1 || (rank !== null && axis[0] === rank - 1) || (rank === null && axis[0]! > 0));
  if (!lastAxis) return null;
  return tf.tidy(() => {
    const gamma = weightByName(layer, 'gamma') ?? tf.ones([channels]);
    const beta = weightByName(layer, 'beta') ?? tf.zeros([channels]);
    const mean = weightByName(layer, 'moving_mean')!;
    const variance = weightByName(layer, 'moving_variance')!;
    const scale = tf.div(gamma, tf.sqrt(tf.add(variance, config.epsilon ?? 1e-3))) as tf.Tensor1D;
    const shift = tf.sub(beta, tf.mul(mean, scale)) as tf.Tensor1D;
    return { scale, shift };
  });
}

/** Builds the pattern network of a layers model from its artifacts (weights are copied). */
export async function buildPatternNetwork(read: ReadArtifacts, file: string): Promise<PatternNetwork> {
  const model = await loadLayersModelFor(read, file);
  const owned: tf.Tensor[] = [];
  try {
    const ops = chainOps(chainOf(model, file), owned);
    if (ops.length === 0) throw new PathLensError('model-unsupported', `${file} has no layers pattern methods can use`);
    const finalSquash = stripFinalSquash(ops);
    const kernelOps = ops.filter((o): o is KernelOp => o.type === 'kernel');
    if (kernelOps.length === 0)
      throw new PathLensError('model-unsupported', `${file} has no Dense or convolution layer to fit patterns for`);
    const inputShape = (model.inputs[0]!.shape as (number | null)[]).slice(1) as number[];
    return makeNetwork(ops, kernelOps, inputShape, finalSquash, () => {
      tf.dispose(owned);
      model.dispose();
    });
  } catch (err) {
    tf.dispose(owned);
    model.dispose();
    throw err;
  }
}

async function loadLayersModelFor(read: ReadArtifacts, file: string): Promise<tfl.LayersModel> {
  if (read.format !== 'layers-model') {
    throw new PathLensError(
      'model-unsupported',
      `pattern methods (pattern-net, pattern-attribution, pgig) need a TF.js layers model; ${file} is a graph model (its kernels cannot be mapped to layers)`,
    );
  }
  try {
    return await tfl.loadLayersModel({ load: async () => read.artifacts });
  } catch (err) {
    throw new PathLensError('model-load', `cannot build the model in ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The chain's layers as ops: kernels (with a following BatchNorm folded in), pass-through layers; identities dropped. */
function chainOps(chain: RawLayer[], owned: tf.Tensor[]): Op[] {
  const ops: Op[] = [];
  for (let i = 0; i < chain.length; i++) {
    const { layer, className } = chain[i]!;
    if (IDENTITY.has(className)) continue;
    if (className === 'Dense' || className === 'Conv2D' || className === 'DepthwiseConv2D') {
      const { op, consumed } = kernelOp(chain, i);
      owned.push(op.kernel, op.bias);
      ops.push(op);
      i += consumed - 1;
      continue;
    }
    if (PASS_THROUGH.has(className)) {
      ops.push({ type: 'pass', name: layer.name, className, layer });
      continue;
    }
    throw new PathLensError(
      'model-unsupported',
      `pattern methods have no rule for layer '${layer.name}' (${className}); supported: Dense, Conv2D, DepthwiseConv2D (+ BatchNormalization), pooling, activations, reshaping and dropout layers`,
    );
  }
  return ops;
}

/** The kernel layer at chain[i] as an op; `consumed` is 2 when the next BatchNormalization was folded into it. */
function kernelOp(chain: RawLayer[], i: number): { op: KernelOp; consumed: number } {
  const { layer, className } = chain[i]!;
  const config = layer.getConfig() as Record<string, unknown>;
  if (config.dataFormat === 'channelsFirst')
    throw new PathLensError(
      'model-unsupported',
      `layer '${layer.name}' (${className}) uses channels-first data; pattern methods support channels-last only`,
    );
  const weights = layer.getWeights();
  const depthwise = className === 'DepthwiseConv2D';
  const kernelRaw = weightByName(layer, depthwise ? 'depthwise_kernel' : 'kernel') ?? weights[0]!;
  const channels = kernelRaw.shape[kernelRaw.shape.length - 1]! * (depthwise ? kernelRaw.shape[2]! : 1);
  const biasRaw = config.useBias === false ? null : (weightByName(layer, 'bias') ?? weights[1] ?? null);
  const activation = activationName(config.activation, layer.name);
  let kernel = tf.clone(kernelRaw);
  let bias: tf.Tensor1D = biasRaw ? (tf.clone(biasRaw) as tf.Tensor1D) : tf.zeros([channels]);
  let folded: string | null = null;
  const next = chain[i + 1];
  const affine = activation === 'linear' && next?.className === 'BatchNormalization' ? batchNormAffine(next.layer, channels) : null;
  if (affine) {
    const [k, b] = tf.tidy(() => {
      const scale = depthwise ? tf.reshape(affine.scale, [kernelRaw.shape[2]!, kernelRaw.shape[3]!]) : affine.scale;
      return [tf.mul(kernel, scale), tf.add(tf.mul(bias, affine.scale), affine.shift) as tf.Tensor1D];
    });
    tf.dispose([kernel, bias, affine.scale, affine.shift]);
    kernel = k!;
    bias = b as tf.Tensor1D;
    folded = next!.layer.name;
  }
  const consumed = affine ? 2 : 1;
  const op: KernelOp = {
    type: 'kernel',
    kind: className === 'Dense' ? 'dense' : className === 'Conv2D' ? 'conv2d' : 'depthwise',
    name: layer.name,
    className,
    kernel,
    bias,
    strides: pair(config.strides, 1),
    padding: config.padding === 'same' ? 'same' : 'valid',
    dilations: pair(config.dilationRate, 1),
    activation,
    foldedBatchNorm: folded,
    reluFamily: RELU_FAMILY.has(activation) || (activation === 'linear' && isReluLayer(chain[i + consumed])),
  };
  return { op, consumed };
}

/** A ReLU right after the kernel layer (possibly after the folded BatchNorm) gates it. */
function isReluLayer(after: RawLayer | undefined): boolean {
  if (!after) return false;
  const config = after.layer.getConfig() as { activation?: unknown };
  return (
    after.className === 'ReLU' || (after.className === 'Activation' && RELU_FAMILY.has(activationName(config.activation, after.layer.name)))
  );
}

/** Strips the final squashing activation so the twin's output is the model's logit; returns which it was. */
function stripFinalSquash(ops: Op[]): 'softmax' | 'sigmoid' | null {
  const last = ops[ops.length - 1]!;
  if (last.type === 'kernel' && SQUASHING.has(last.activation)) {
    const squash = last.activation as 'softmax' | 'sigmoid';
    last.activation = 'linear';
    return squash;
  }
  if (last.type === 'pass') {
    const config = last.layer.getConfig() as { activation?: unknown };
    const act =
      last.className === 'Softmax' ? 'softmax' : last.className === 'Activation' ? activationName(config.activation, last.name) : null;
    if (act && SQUASHING.has(act)) {
      ops.pop();
      return act as 'softmax' | 'sigmoid';
    }
  }
  return null;
}

function linearOf(op: KernelOp, x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
  switch (op.kind) {
    case 'dense':
      if (x.rank === 2) return tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
      return tf.reshape(tf.matMul(tf.reshape(x, [-1, x.shape[x.rank - 1]!]) as tf.Tensor2D, kernel as tf.Tensor2D), [
        ...x.shape.slice(0, -1),
        kernel.shape[1]!,
      ]);
    case 'conv2d':
      return tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, op.strides, op.padding, 'NHWC', op.dilations);
    case 'depthwise':
      return tf.depthwiseConv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, op.strides, op.padding, 'NHWC', op.dilations);
  }
}

function makeNetwork(
  ops: Op[],
  kernelOps: KernelOp[],
  inputShape: number[],
  finalSquash: PatternNetwork['finalSquash'],
  dispose: () => void,
): PatternNetwork {
  const network: PatternNetwork = {
    ops,
    kernelOps,
    inputShape,
    finalSquash,
    linear: (op, x, kernel) => linearOf(op, x, kernel ?? op.kernel),
    forward(x) {
      const inputs: tf.Tensor[] = [];
      const pre: (tf.Tensor | null)[] = [];
      const outShapes: number[][] = [];
      let h = x;
      for (const op of ops) {
        inputs.push(h);
        if (op.type === 'kernel') {
          const p = tf.add(linearOf(op, h, op.kernel), op.bias);
          pre.push(p);
          h = applyActivation(op.activation, p);
        } else {
          pre.push(null);
          h = op.layer.apply(h, { training: false }) as tf.Tensor;
        }
        outShapes.push(h.shape);
      }
      return { inputs, pre, outShapes, output: tf.reshape(h, [h.shape[0]!, -1]) as tf.Tensor2D };
    },
    backward(cache, seed, kernels) {
      let r: tf.Tensor = seed;
      for (let i = ops.length - 1; i >= 0; i--) {
        const op = ops[i]!;
        const input = cache.inputs[i]!;
        if (op.type === 'kernel') {
          const pre = cache.pre[i]!;
          r = tf.reshape(r, pre.shape);
          if (op.activation === 'relu') r = tf.mul(r, tf.step(pre));
          else if (op.activation === 'relu6') r = tf.mul(r, tf.mul(tf.step(pre), tf.step(tf.sub(6, pre))));
          else if (op.activation !== 'linear') r = tf.grad((u: tf.Tensor) => applyActivation(op.activation, u))(pre, r);
          const kernel = kernels?.get(op.name) ?? op.kernel;
          if (op.kind === 'dense' && input.rank === 2) r = tf.matMul(r as tf.Tensor2D, kernel as tf.Tensor2D, false, true);
          else r = tf.grad((u: tf.Tensor) => linearOf(op, u, kernel))(input, r);
        } else {
          r = tf.grad((u: tf.Tensor) => op.layer.apply(u, { training: false }) as tf.Tensor)(input, tf.reshape(r, cache.outShapes[i]!));
        }
      }
      return r;
    },
    dispose,
  };
  return network;
}
