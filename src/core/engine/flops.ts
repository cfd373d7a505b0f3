/**
 * FLOPs of one PathLens evaluation (forward pass + input gradient) of a model, counted from its layer
 * shapes — the numerator of the "physical limit" row of the benchmark.
 *
 * Conventions
 * - A multiply-add is 2 FLOPs; an element-wise op (add, activation, mask, comparison) is 1 FLOP per
 *   output element; an inference BatchNorm is 2 per element (x·a + b with folded constants).
 * - Conv2D: 2·Hout·Wout·Cout·kh·kw·Cin (+1 per output for the bias, +1 for the activation).
 *   DepthwiseConv2D: 2·Hout·Wout·C·m·kh·kw. Dense / MatMul: 2·in·out. Pooling: kh·kw per output
 *   (max/avg); global average: 1 per input element.
 * - Backward, input gradient only: the conv / depthwise / dense layers cost the same multiply-adds as
 *   forward (dx is the transposed product; weight gradients are NOT counted — PathLens skips them);
 *   element-wise layers, BatchNorm and pooling cost 1 FLOP per element they pass a gradient through.
 * - Per example (batch 1). Reshape/Flatten/Dropout/Input/padding cost nothing.
 *
 * Layers models are counted by walking `model.layers` (nested models included) with each layer's
 * config and shapes; graph models by executing the model once under `tf.profile` and counting the
 * kernels it runs (FusedConv2D/Conv2D, (Fused)DepthwiseConv2D, MatMul/BatchMatMul/_FusedMatMul and
 * element-wise ops) from their input/output shapes.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export interface LayerFlops {
  name: string;
  kind: string;
  /** multiply-adds of the forward pass (conv / depthwise / dense only) */
  macs: number;
  forward: number;
  backward: number;
}

export interface FlopCount {
  /** Forward multiply-adds of the conv / depthwise / dense layers (the number papers quote). */
  macs: number;
  forward: number;
  /** Input-gradient backward pass (no weight gradients). */
  backward: number;
  /** forward + backward */
  total: number;
  layers: LayerFlops[];
}

const prod = (xs: readonly (number | null | undefined)[]): number => xs.reduce<number>((a, b) => a * (b ?? 1), 1);

function finish(layers: LayerFlops[]): FlopCount {
  const sum = (k: 'macs' | 'forward' | 'backward') => layers.reduce((a, l) => a + l[k], 0);
  const forward = sum('forward');
  const backward = sum('backward');
  return { macs: sum('macs'), forward, backward, total: forward + backward, layers };
}

function shapeOf(s: unknown): number[] {
  // Layer shapes are [null, ...] (or a list of such for multi-input layers: take the first).
  const a = Array.isArray(s) && Array.isArray(s[0]) ? (s[0] as unknown[]) : (s as unknown[]);
  return a.slice(1).map((d) => (typeof d === 'number' ? d : 1));
}

const ACTIVATION_FREE = new Set(['linear', null, undefined]);

/** FLOPs of one layer of a layers model (per example). */
function layerFlops(layer: tfl.layers.Layer): LayerFlops[] {
  const cls = layer.getClassName();
  const name = layer.name;
  if (layer instanceof tfl.LayersModel) return flattenModel(layer).layers;
  const cfg = layer.getConfig() as Record<string, unknown>;
  // The first inbound node's shapes (a layer shared by a nested model has several nodes, same shapes).
  const node = (layer as unknown as { inboundNodes: { inputShapes: unknown; outputShapes: unknown }[] }).inboundNodes[0];
  if (node == null) return [];
  const inShape = shapeOf(node.inputShapes);
  const outShape = shapeOf(node.outputShapes);
  const inputCount =
    Array.isArray(node.inputShapes) && Array.isArray((node.inputShapes as unknown[])[0]) ? (node.inputShapes as unknown[]).length : 1;
  const outN = prod(outShape);
  const inN = prod(inShape);
  const act = ACTIVATION_FREE.has(cfg.activation as string) ? 0 : outN;
  const bias = cfg.useBias === true || cfg.use_bias === true ? outN : 0;
  const mk = (kind: string, macs: number, fwdExtra: number, bwdExtra: number): LayerFlops => ({
    name,
    kind,
    macs,
    forward: 2 * macs + fwdExtra,
    backward: 2 * macs + bwdExtra,
  });
  const k2 = () => {
    const ks = cfg.kernelSize as number[] | number;
    return Array.isArray(ks) ? ks[0]! * ks[1]! : ks * ks;
  };
  switch (cls) {
    case 'Conv2D': {
      const cin = inShape[inShape.length - 1]!;
      return [mk(cls, outN * k2() * cin, bias + act, act)];
    }
    case 'DepthwiseConv2D':
      return [mk(cls, outN * k2(), bias + act, act)];
    case 'SeparableConv2D': {
      const cin = inShape[inShape.length - 1]!;
      const dm = (cfg.depthMultiplier as number) ?? 1;
      const spatial = outN / outShape[outShape.length - 1]!;
      const dw = spatial * cin * dm * k2();
      const pw = outN * cin * dm;
      return [mk(cls, dw + pw, bias + act, act)];
    }
    case 'Dense':
      return [mk(cls, inN * outShape[outShape.length - 1]!, bias + act, act)];
    case 'BatchNormalization':
      return [mk(cls, 0, 2 * outN, outN)];
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const ps = cfg.poolSize as number[] | number;
      const p = Array.isArray(ps) ? ps[0]! * ps[1]! : ps * ps;
      return [mk(cls, 0, outN * p, inN)];
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      return [mk(cls, 0, inN, inN)];
    case 'Activation':
    case 'ReLU':
    case 'LeakyReLU':
    case 'ELU':
    case 'Softmax':
    case 'PReLU':
    case 'ThresholdedReLU':
      return [mk(cls, 0, outN, outN)];
    case 'Add':
    case 'Subtract':
    case 'Multiply':
    case 'Average':
    case 'Maximum':
    case 'Minimum': {
      return [mk(cls, 0, outN * Math.max(1, inputCount - 1), outN)];
    }
    default:
      // InputLayer, Reshape, Flatten, Dropout, ZeroPadding2D, Concatenate, Rescaling…: data movement.
      return [mk(cls, 0, 0, 0)];
  }
}

function flattenModel(model: tfl.LayersModel): FlopCount {
  return finish(model.layers.flatMap((l) => layerFlops(l)));
}

/** FLOPs of one evaluation of a layers model, from `model.layers`. */
export function layersModelFlops(model: tfl.LayersModel): FlopCount {
  return flattenModel(model);
}

/** What `tf.profile` reports per kernel that the counting needs. */
export interface KernelShapes {
  name: string;
  inputShapes: (number[] | null | undefined)[];
  outputShapes: (number[] | null | undefined)[];
}

const ELEMENTWISE = new Set([
  'Relu',
  'Relu6',
  'Elu',
  'Selu',
  'LeakyRelu',
  'Prelu',
  'Sigmoid',
  'Tanh',
  'ClipByValue',
  'Add',
  'AddV2',
  'AddN',
  'Sub',
  'Multiply',
  'RealDiv',
  'Maximum',
  'Minimum',
  'Softmax',
  'Rsqrt',
  'Sqrt',
  'Exp',
]);

/**
 * FLOPs from the kernels of one forward pass (e.g. `(await tf.profile(() => model.execute(x))).kernels`),
 * per example of a batch of `batch`.
 */
export function kernelFlops(kernels: KernelShapes[], batch = 1): FlopCount {
  const layers: LayerFlops[] = [];
  kernels.forEach((k, i) => {
    const out = (k.outputShapes[0] ?? []) as number[];
    const outN = prod(out);
    const mk = (macs: number, fwdExtra: number, bwdExtra: number) =>
      layers.push({
        name: `${i}:${k.name}`,
        kind: k.name,
        macs: macs / batch,
        forward: (2 * macs + fwdExtra) / batch,
        backward: (2 * macs + bwdExtra) / batch,
      });
    switch (k.name) {
      case 'Conv2D':
      case 'FusedConv2D': {
        const f = k.inputShapes[1] as number[]; // [kh, kw, cin, cout]
        const extra = k.name === 'FusedConv2D' ? outN * ((k.inputShapes[2] ? 1 : 0) + 1) : 0;
        return mk(outN * f[0]! * f[1]! * f[2]!, extra, k.name === 'FusedConv2D' ? outN : 0);
      }
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2D': {
        const f = k.inputShapes[1] as number[]; // [kh, kw, c, m]
        const extra = k.name === 'FusedDepthwiseConv2D' ? outN * ((k.inputShapes[2] ? 1 : 0) + 1) : 0;
        return mk(outN * f[0]! * f[1]!, extra, k.name === 'FusedDepthwiseConv2D' ? outN : 0);
      }
      case 'BatchMatMul':
      case '_FusedMatMul':
      case 'MatMul': {
        const a = k.inputShapes[0] as number[];
        // inner dimension: the one of `a` that is not in the output (transposeA unknown: use a's last
        // dim unless it equals the output rows).
        const rows = out[out.length - 2]!;
        const inner = a[a.length - 1] === rows && a.length >= 2 ? a[a.length - 2]! : a[a.length - 1]!;
        const extra = k.name === '_FusedMatMul' ? 2 * outN : 0;
        return mk(outN * inner, extra, k.name === '_FusedMatMul' ? outN : 0);
      }
      case 'FusedBatchNorm':
        return mk(0, 2 * outN, outN);
      case 'MaxPool':
      case 'AvgPool': {
        const inN = prod((k.inputShapes[0] ?? []) as number[]);
        const ratio = inN / Math.max(1, outN);
        return mk(0, outN * Math.max(1, Math.round(ratio)), inN);
      }
      case 'Mean':
      case 'Sum':
      case 'Max': {
        const inN = prod((k.inputShapes[0] ?? []) as number[]);
        return mk(0, inN, inN);
      }
      default:
        if (ELEMENTWISE.has(k.name)) return mk(0, outN, outN);
        return undefined;
    }
  });
  return finish(layers);
}

/** FLOPs of one evaluation by running `forward` once on a batch-1 input under tf.profile. */
export async function profiledFlops(forward: (x: tf.Tensor) => tf.Tensor, inputShape: number[]): Promise<FlopCount> {
  const x = tf.zeros([1, ...inputShape]);
  try {
    const info = await tf.profile(() => forward(x));
    tf.dispose(info.result as tf.Tensor);
    const backend = tf.getBackend();
    // Custom ops appear under their scope name as well as their kernels: count kernels only.
    const kernels = info.kernels.filter((k) => tf.getKernel(k.name, backend) != null) as unknown as KernelShapes[];
    return kernelFlops(kernels, 1);
  } finally {
    x.dispose();
  }
}
