/**
 * A TF.js layers model as a flat list of fused steps (a "plan") for fast forward + input-gradient
 * passes (src/core/engine/wasm/net.ts runs it on wasm as one tape node).
 *
 * Load-time rewrites, each exact up to float32 rounding:
 * - inference BatchNormalization after a Conv2D / DepthwiseConv2D whose output only it reads is folded
 *   into the convolution: W' = W·s and b' = (b − mean)·s + beta per output channel, s = gamma/√(var+ε);
 * - a ReLU (max_value 6 or none) or a relu/relu6 `activation` after a linear convolution becomes the
 *   convolution's fused activation (XNNPACK clamps in its output loop);
 * - ZeroPadding2D before a 'valid' convolution becomes the convolution's explicit padding.
 * Anything the plan cannot express (other layers, channels-first, masking, training-only behaviour)
 * makes `compileLayersPlan` return null and the model runs through TF.js layers unchanged.
 *
 * The plan reads the weights once, when the model is loaded: the sanity checks build a new model from
 * modified weights (sanity/weights.ts `buildModel`), which is folded anew.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { foldPlan, Unsupported } from './layersPlanFold';

export { slotReaders, stepInputs } from './layersPlanFold';

export type PlanActivation = 'linear' | 'relu' | 'relu6';
export type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];

export interface ConvStep {
  kind: 'conv';
  x: number;
  out: number;
  depthwise: boolean;
  /** [fh, fw, in, out] (depthwise: [fh, fw, channels, multiplier]), BatchNorm folded in. */
  filter: Float32Array;
  filterShape: [number, number, number, number];
  bias: Float32Array | null;
  strides: [number, number];
  dilations: [number, number];
  pad: 'same' | 'valid' | ExplicitPad;
  activation: PlanActivation;
}
export interface DenseStep {
  kind: 'dense';
  x: number;
  out: number;
  kernel: Float32Array;
  kernelShape: [number, number];
  bias: Float32Array | null;
  activation: PlanActivation;
}
export interface BatchNormStep {
  kind: 'batchnorm';
  x: number;
  out: number;
  /** Per channel: y = x·scale + shift (only ever folded; a BatchNorm left over makes the plan fail). */
  scale: Float64Array;
  shift: Float64Array;
}
export interface AddStep {
  kind: 'add';
  xs: number[];
  out: number;
}
export interface PadStep {
  kind: 'pad';
  x: number;
  out: number;
  /** [[top, bottom], [left, right]]. */
  pads: [[number, number], [number, number]];
}
export interface MeanStep {
  kind: 'mean';
  x: number;
  out: number;
}
export interface ReshapeStep {
  kind: 'reshape';
  x: number;
  out: number;
  /** Per-example shape. */
  shape: number[];
}
export interface ActivationStep {
  kind: 'activation';
  x: number;
  out: number;
  activation: PlanActivation;
}

export type PlanStep = ConvStep | DenseStep | BatchNormStep | AddStep | PadStep | MeanStep | ReshapeStep | ActivationStep;

export interface LayersPlan {
  /** Slot of the model's input and output; steps read and write numbered slots. */
  input: number;
  output: number;
  slots: number;
  steps: PlanStep[];
  /** Per-example input shape. */
  inputShape: number[];
}

type AnyLayer = tfl.layers.Layer & {
  layers?: tfl.layers.Layer[];
  nodesByDepth?: Record<string, NodeLike[]>;
  inputs?: SymbolicLike[];
  outputs?: SymbolicLike[];
  weights: { originalName: string; read(): tf.Tensor }[];
};
interface SymbolicLike {
  id: number;
}
interface NodeLike {
  outboundLayer: AnyLayer;
  inputTensors: SymbolicLike[];
  outputTensors: SymbolicLike[];
}

function weight(layer: AnyLayer, param: string): Float32Array | null {
  const w = layer.weights.find((v) => v.originalName.split('/').pop()!.replace(/_\d+$/, '') === param);
  if (w == null) return null;
  const t = w.read();
  if (t.dtype !== 'float32') throw new Unsupported(`${layer.name}: ${param} is ${t.dtype}`);
  return Float32Array.from(t.dataSync() as Float32Array);
}

function activationOf(name: unknown, layer: string): PlanActivation {
  if (name == null || name === 'linear' || name === 'relu' || name === 'relu6') return (name ?? 'linear') as PlanActivation;
  throw new Unsupported(`${layer}: activation ${String(name)}`);
}

function pair(v: unknown, layer: string): [number, number] {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || !a.every((n) => Number.isInteger(n))) throw new Unsupported(`${layer}: ${JSON.stringify(v)}`);
  return a as [number, number];
}

/** Builds steps while walking the model; slots are numbered as they are created. */
class Builder {
  steps: PlanStep[] = [];
  slots = 0;
  slot(): number {
    return this.slots++;
  }
}

function convStep(b: Builder, layer: AnyLayer, cfg: Record<string, unknown>, x: number, depthwise: boolean): number {
  if (cfg.dataFormat !== 'channelsLast') throw new Unsupported(`${layer.name}: ${String(cfg.dataFormat)}`);
  const padding = cfg.padding;
  if (padding !== 'same' && padding !== 'valid') throw new Unsupported(`${layer.name}: padding ${String(padding)}`);
  const strides = pair(cfg.strides, layer.name);
  const dilations = pair(cfg.dilationRate ?? 1, layer.name);
  if (!depthwise && (dilations[0] > 1 || dilations[1] > 1)) throw new Unsupported(`${layer.name}: dilated conv`);
  const kernelParam = depthwise ? 'depthwise_kernel' : 'kernel';
  const filter = weight(layer, kernelParam);
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${kernelParam}`));
  if (filter == null || w == null) throw new Unsupported(`${layer.name}: no ${kernelParam}`);
  const filterShape = w.read().shape as [number, number, number, number];
  const bias = cfg.useBias === false ? null : weight(layer, 'bias');
  const out = b.slot();
  const activation = activationOf(cfg.activation, layer.name);
  b.steps.push({ kind: 'conv', x, out, depthwise, filter, filterShape, bias, strides, dilations, pad: padding, activation });
  return out;
}

function batchNormStep(b: Builder, layer: AnyLayer, cfg: Record<string, unknown>, x: number): number {
  if (cfg.axis !== -1 && cfg.axis !== 3) throw new Unsupported(`${layer.name}: axis ${String(cfg.axis)}`);
  const mean = weight(layer, 'moving_mean');
  const variance = weight(layer, 'moving_variance');
  if (mean == null || variance == null) throw new Unsupported(`${layer.name}: no moving statistics`);
  const gamma = cfg.scale === false ? null : weight(layer, 'gamma');
  const beta = cfg.center === false ? null : weight(layer, 'beta');
  const eps = Math.fround(cfg.epsilon as number);
  const scale = new Float64Array(mean.length);
  const shift = new Float64Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    scale[c] = (gamma?.[c] ?? 1) / Math.sqrt(Math.fround(variance[c]! + eps));
    shift[c] = (beta?.[c] ?? 0) - mean[c]! * scale[c]!;
  }
  const out = b.slot();
  b.steps.push({ kind: 'batchnorm', x, out, scale, shift });
  return out;
}

function denseStep(b: Builder, layer: AnyLayer, cfg: Record<string, unknown>, x: number): number {
  const kernel = weight(layer, 'kernel');
  const w = layer.weights.find((v) => v.originalName.endsWith('/kernel'));
  if (kernel == null || w == null || w.read().rank !== 2) throw new Unsupported(`${layer.name}: kernel`);
  const bias = cfg.useBias === false ? null : weight(layer, 'bias');
  const out = b.slot();
  const kernelShape = w.read().shape as [number, number];
  b.steps.push({ kind: 'dense', x, out, kernel, kernelShape, bias, activation: activationOf(cfg.activation, layer.name) });
  return out;
}

function reluStep(b: Builder, layer: AnyLayer, cfg: Record<string, unknown>, x: number): number {
  const max = cfg.maxValue;
  if (max != null && max !== 6) throw new Unsupported(`${layer.name}: max_value ${String(max)}`);
  const out = b.slot();
  b.steps.push({ kind: 'activation', x, out, activation: max === 6 ? 'relu6' : 'relu' });
  return out;
}

function padStep(b: Builder, layer: AnyLayer, cfg: Record<string, unknown>, x: number): number {
  if (cfg.dataFormat !== 'channelsLast') throw new Unsupported(`${layer.name}: ${String(cfg.dataFormat)}`);
  const p = cfg.padding as [[number, number], [number, number]];
  const out = b.slot();
  b.steps.push({ kind: 'pad', x, out, pads: [pair(p[0], layer.name), pair(p[1], layer.name)] });
  return out;
}

function simpleStep(b: Builder, step: Omit<MeanStep, 'out'> | Omit<ReshapeStep, 'out'> | Omit<ActivationStep, 'out'>): number {
  const out = b.slot();
  b.steps.push({ ...step, out } as PlanStep);
  return out;
}

/** One layer applied to `xs`: its output slot. */
function layerStep(b: Builder, layer: AnyLayer, xs: number[], shapeOf: (layer: AnyLayer) => number[]): number {
  if (Array.isArray(layer.layers)) return containerSteps(b, layer, xs, shapeOf)[0]!;
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  if (cls === 'Add') return simpleStepAdd(b, xs);
  if (xs.length !== 1) throw new Unsupported(`${layer.name}: ${xs.length} inputs`);
  const x = xs[0]!;
  switch (cls) {
    case 'InputLayer':
    case 'Dropout':
    case 'SpatialDropout2D':
    case 'GaussianNoise':
    case 'GaussianDropout':
    case 'AlphaDropout':
      return x;
    case 'Conv2D':
      return convStep(b, layer, cfg, x, false);
    case 'DepthwiseConv2D':
      if (cfg.depthMultiplier == null) throw new Unsupported(layer.name);
      return convStep(b, layer, cfg, x, true);
    case 'BatchNormalization':
      return batchNormStep(b, layer, cfg, x);
    case 'ReLU':
      return reluStep(b, layer, cfg, x);
    case 'Activation':
      return simpleStep(b, { kind: 'activation', x, activation: activationOf(cfg.activation, layer.name) });
    case 'ZeroPadding2D':
      return padStep(b, layer, cfg, x);
    case 'GlobalAveragePooling2D':
      if (cfg.dataFormat !== 'channelsLast' || cfg.keepDims === true) throw new Unsupported(layer.name);
      return simpleStep(b, { kind: 'mean', x });
    case 'Dense':
      return denseStep(b, layer, cfg, x);
    case 'Flatten':
    case 'Reshape':
      return simpleStep(b, { kind: 'reshape', x, shape: shapeOf(layer) });
    default:
      throw new Unsupported(`${layer.name}: ${cls}`);
  }
}

function simpleStepAdd(b: Builder, xs: number[]): number {
  if (xs.length < 2) throw new Unsupported('Add of one input');
  const out = b.slot();
  b.steps.push({ kind: 'add', xs: [...xs], out });
  return out;
}

/** A Sequential applies its layers in order; a functional model follows its nodes by depth. */
function containerSteps(b: Builder, c: AnyLayer, xs: number[], shapeOf: (layer: AnyLayer) => number[]): number[] {
  if (c.getClassName() === 'Sequential') {
    let x = xs[0]!;
    if (xs.length !== 1) throw new Unsupported(`${c.name}: ${xs.length} inputs`);
    for (const l of c.layers as AnyLayer[]) x = layerStep(b, l, [x], shapeOf);
    return [x];
  }
  const byDepth = c.nodesByDepth;
  if (byDepth == null || c.inputs == null || c.outputs == null || c.inputs.length !== xs.length) throw new Unsupported(c.name);
  const slotOf = new Map<number, number>();
  c.inputs.forEach((t, i) => slotOf.set(t.id, xs[i]!));
  const depths = Object.keys(byDepth)
    .map(Number)
    .sort((p, q) => q - p);
  for (const depth of depths) {
    for (const node of byDepth[depth]!) {
      if (node.outboundLayer.getClassName() === 'InputLayer') continue;
      const ins = node.inputTensors.map((t) => slotOf.get(t.id));
      if (ins.some((s) => s === undefined) || node.outputTensors.length !== 1) throw new Unsupported(`${c.name}: node order`);
      slotOf.set(node.outputTensors[0]!.id, layerStep(b, node.outboundLayer, ins as number[], shapeOf));
    }
  }
  return c.outputs.map((t) => {
    const s = slotOf.get(t.id);
    if (s === undefined) throw new Unsupported(`${c.name}: output`);
    return s;
  });
}

/**
 * The plan of a layers model (the rewrites of the file comment applied), or null with the reason when
 * the model has a layer or setting the plan does not cover.
 */
export function compileLayersPlan(model: tfl.LayersModel, inputShape: number[]): { plan: LayersPlan } | { reason: string } {
  const b = new Builder();
  const input = b.slot();
  const shapeOf = (layer: AnyLayer) => {
    const shape = layer.outputShape as (number | null)[];
    if (!Array.isArray(shape) || shape.slice(1).some((d) => typeof d !== 'number')) throw new Unsupported(`${layer.name}: shape`);
    return shape.slice(1) as number[];
  };
  try {
    const [output] = containerSteps(b, model as unknown as AnyLayer, [input], shapeOf);
    return { plan: foldPlan({ input, output: output!, slots: b.slots, steps: b.steps, inputShape }) };
  } catch (err) {
    // Anything unexpected in a model means no plan, never a failed load: the layers model runs.
    return { reason: err instanceof Error ? err.message : String(err) };
  }
}
