/**
 * `withInputGradientsOnly(fn)`: run `fn` (sync or async) with the weight-gradient work of TF.js' fused
 * convolutions skipped.
 *
 * Why: `tf.fused.conv2d` and `tf.fused.depthwiseConv2d` (used by tfjs-layers' Conv2D and by the
 * converter's _FusedConv2D / FusedDepthwiseConv2dNative when the activation is linear, and always
 * outside gradient recording) have a `customGrad` whose backward function computes ALL input
 * derivatives eagerly: dx, the filter gradient (Conv2DBackpropFilter /
 * DepthwiseConv2dNativeBackpropFilter, as costly as the convolution itself) and the bias gradient
 * (a Sum over batch·space). The tape then throws the filter and bias gradients away when only
 * ∂F/∂input is asked for. Attribution never needs them.
 *
 * How: while the flag is set, PathLens
 *  1. follows the gradient tape as it is recorded (`engine.gradients` and `engine.addTapeNode` are
 *     wrapped) and knows which tensors lead from the xs of the running gradient computation — the same
 *     rule TF.js uses to prune the tape;
 *  2. for each fused conv / depthwise tape node whose filter and bias do NOT lead from those xs
 *     (model weights, when differentiating with respect to the input), runs the node's backward
 *     function in a "weights unneeded" scope;
 *  3. in that scope the Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter and Sum kernels,
 *     when called by the engine (the filter and bias derivatives of that node), return zeros of the
 *     right shape instead of computing. dx is computed by the unchanged Conv2DBackpropInput /
 *     DepthwiseConv2dNativeBackpropInput kernels, so input gradients are bit-identical.
 *
 * Safety: gradients that are needed are never skipped, flag or not — if a filter or bias is one of
 * the xs (e.g. `tf.variableGrads`, an optimizer step) or is computed from them, that node keeps its
 * full backward function. When the flag is off nothing changes at all (the wrappers only forward).
 * The kernel wrappers are installed on every backend that has those kernels (cpu, wasm, tensorflow)
 * the first time `withInputGradientsOnly` runs; `registerWasmKernels` keeps them.
 *
 * Not covered: fused MatMul (Dense) — its weight gradient is a small matmul and its two derivatives
 * use the same kernel, so it cannot be told apart by kernel name.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  util,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/** Tape-node names of the fused ops whose backward computes weight gradients eagerly. */
const FUSED_CONV_SCOPES = new Set(['fusedConv2d__op', 'fusedDepthwiseConv2d__op']);
/** Kernels that compute only weight derivatives inside those backward functions. */
const WEIGHT_KERNELS = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'Sum'] as const;
const BACKENDS = ['cpu', 'wasm', 'tensorflow'];

let flagDepth = 0;
/** > 0 while a fused conv's backward runs and its weight derivatives are not needed. */
let skipDepth = 0;
/** > 0 while a composed kernel calls other kernels directly (never skip those). */
let composedDepth = 0;

/** Number of weight-gradient kernel calls answered with zeros (diagnostics, tests). */
export const skipStats = { skipped: 0 };

/** Is `withInputGradientsOnly` active? */
export function inputGradientsOnly(): boolean {
  return flagDepth > 0;
}

/**
 * Run `fn` with the weight gradients of fused convolutions skipped (see the file comment). Input
 * gradients are unchanged. Nests; with an async `fn` the flag stays set until its promise settles.
 */
export function withInputGradientsOnly<T>(fn: () => T): T {
  installTapeHooks();
  installKernelWrappers();
  flagDepth++;
  let async = false;
  try {
    const out = fn();
    if (out != null && typeof (out as { then?: unknown }).then === 'function') {
      async = true;
      return (out as unknown as Promise<unknown>).finally(() => {
        flagDepth--;
      }) as unknown as T;
    }
    return out;
  } finally {
    if (!async) flagDepth--;
  }
}

/** For composed kernels: run `f`, whose kernel calls must compute for real. */
export function composedKernelCall<T>(f: () => T): T {
  composedDepth++;
  try {
    return f();
  } finally {
    composedDepth--;
  }
}

/** True when a weight-gradient kernel called now may return zeros. */
export function weightGradientSkipped(): boolean {
  return skipDepth > 0 && composedDepth === 0;
}

// ---------------------------------------------------------------------------------------------
// tape hooks

export type TapeInputs = Record<string, tf.Tensor>;
type GradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: unknown) => unknown;
interface EngineLike {
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): unknown;
  addTapeNode(
    kernelName: string,
    inputs: TapeInputs,
    outputs: tf.Tensor[],
    gradientsFunc: GradFunc | null,
    saved: tf.Tensor[],
    attrs: unknown,
  ): void;
  __pathlensHooked?: boolean;
}

/** Ids of the tensors that lead from the xs of the running gradient computations (nested: union). */
let fromX: Set<number> | null = null;
let gradientCalls = 0;

/**
 * Sees every tape node recorded while `withInputGradientsOnly` is active, and `reset` when the
 * outermost gradient computation ends (activationGradients.ts fuses gradient chains with it).
 */
export interface TapeObserver {
  node(kernelName: string, inputs: TapeInputs, outputs: tf.Tensor[], saved: tf.Tensor[], attrs: unknown): void;
  reset(): void;
}
const observers: TapeObserver[] = [];

export function observeTape(observer: TapeObserver): void {
  if (!observers.includes(observer)) observers.push(observer);
}

/** Install the tape tracking (idempotent). Inert outside gradient computations. */
export function installTapeHooks(): void {
  const engine = tf.engine() as unknown as EngineLike;
  if (engine.__pathlensHooked) return;
  const gradients = engine.gradients;
  const addTapeNode = engine.addTapeNode;
  engine.gradients = function (this: EngineLike, f, xs, dy, allowNoGradients) {
    if (gradientCalls === 0) fromX = new Set();
    gradientCalls++;
    for (const x of xs) fromX!.add(x.id);
    try {
      return gradients.call(this, f, xs, dy, allowNoGradients);
    } finally {
      gradientCalls--;
      if (gradientCalls === 0) {
        fromX = null;
        for (const o of observers) o.reset();
      }
    }
  };
  engine.addTapeNode = function (this: EngineLike, kernelName, inputs, outputs, gradientsFunc, saved, attrs) {
    const lead = fromX;
    if (lead != null) {
      const names = Object.keys(inputs);
      if (names.some((k) => inputs[k] != null && lead.has(inputs[k]!.id))) {
        for (const o of outputs) lead.add(o.id);
      }
      if (flagDepth > 0) for (const o of observers) o.node(kernelName, inputs, outputs, saved, attrs);
      if (flagDepth > 0 && gradientsFunc != null && FUSED_CONV_SCOPES.has(kernelName)) {
        // customGrad inputs are keyed '0' (x), '1' (filter), '2' (bias).
        const weightsNeeded = names.some((k) => k !== '0' && inputs[k] != null && lead.has(inputs[k]!.id));
        if (!weightsNeeded) gradientsFunc = skippingWeights(gradientsFunc);
      }
    }
    return addTapeNode.call(this, kernelName, inputs, outputs, gradientsFunc, saved, attrs);
  };
  engine.__pathlensHooked = true;
}

/**
 * Does `t` lead from the xs of the running gradient computation(s)? null when unknown (no gradient
 * computation is being tracked).
 */
export function leadsFromX(t: tf.Tensor): boolean | null {
  return fromX == null ? null : fromX.has(t.id);
}

function skippingWeights(g: GradFunc): GradFunc {
  return (dy, saved, attrs) => {
    skipDepth++;
    try {
      return g(dy, saved, attrs);
    } finally {
      skipDepth--;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// kernel wrappers

const wrappers = new WeakSet<KernelFunc>();

function zeros(backend: unknown, backendName: string, shape: number[], dtype: string): TensorInfo {
  const fill = getKernel('Fill', backendName);
  if (fill == null) throw new Error(`PathLens: no Fill kernel on backend '${backendName}'.`);
  skipStats.skipped++;
  return fill.kernelFunc({ inputs: {}, backend: backend as never, attrs: { shape, value: 0, dtype } }) as TensorInfo;
}

function zerosFor(name: (typeof WEIGHT_KERNELS)[number], args: Parameters<KernelFunc>[0], backendName: string): TensorInfo {
  const attrs = args.attrs as Record<string, unknown>;
  if (name === 'Sum') {
    const { x } = args.inputs as { x: TensorInfo };
    const axes = util.parseAxisParam(attrs.axis as number | number[], x.shape);
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const shape = attrs.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    return zeros(args.backend, backendName, shape, x.dtype);
  }
  return zeros(args.backend, backendName, [...(attrs.filterShape as number[])], 'float32');
}

/** Wrap one kernel so that it answers zeros inside a skipping backward. Idempotent. */
function wrap(name: (typeof WEIGHT_KERNELS)[number], backendName: string): void {
  const config = getKernel(name, backendName);
  if (config == null || wrappers.has(config.kernelFunc)) return;
  const inner = config.kernelFunc;
  const kernelFunc: KernelFunc = (args) => (weightGradientSkipped() ? zerosFor(name, args, backendName) : inner(args));
  wrappers.add(kernelFunc);
  unregisterKernel(name, backendName);
  registerKernel({ ...(config as KernelConfig), kernelFunc });
}

/** Install the wrappers on every backend that has these kernels registered (idempotent, cheap). */
export function installKernelWrappers(): void {
  // engine.backendName, not tf.getBackend(): the latter would initialise a backend as a side effect.
  const current = (tf.engine() as unknown as { backendName: string | null }).backendName;
  const names = new Set(current != null ? [...BACKENDS, current] : BACKENDS);
  for (const b of names) for (const k of WEIGHT_KERNELS) wrap(k, b);
}
