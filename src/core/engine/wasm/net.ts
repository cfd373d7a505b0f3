/**
 * A layers plan (src/core/model/layersPlan.ts: BatchNorm folded, activations and padding fused) run on
 * wasm as ONE tape node: the kernel `PathLensNet` calls the steps' wasm kernels directly (no engine
 * bookkeeping, no tape node or saved-tensor clone per layer) and, when a gradient is being recorded,
 * keeps only what the backward needs (the outputs of activated steps, for their masks). Its gradient
 * kernel `PathLensNetGrad` walks the steps backwards (netSteps.ts). Intermediates are freed as soon as
 * their last reader ran.
 *
 * The forward of a recorded pass is kept under a run id (in the kernel's attrs) until its gradient
 * runs, or until the outermost gradient computation ends (tape reset), whichever comes first. Only
 * first-order gradients with respect to the input: inside a nested gradient (double backward), when
 * the model's layers are hooked (neuron attributions), during a memory measurement (`memoryMeasured`)
 * or for a non-finite input, `run` returns null and the caller runs TF.js layers as before.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getKernel, registerGradient, registerKernel, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { slotReaders, stepInputs, type LayersPlan, type PlanStep } from '../../model/layersPlan';
import { installTapeHooks, observeTape } from '../inputGradients';
import { col2Im, depthwiseBackpropInputMasked, DIRECT_CONV_MAX_IN_CHANNELS } from './conv';
import { addSameShape, ConvGeometry } from './direct';
import { nativeKernels } from './native';
import {
  COL2IM_KERNEL,
  DEPTHWISE_MASKED_KERNEL,
  maskFusions,
  savesOutput,
  share,
  stepBackward,
  stepForward,
  type MaskFusion,
  type Prepared,
} from './netSteps';
import { heapOffset, type Shape4, type WasmBackendLike } from './scope';

export const NET_KERNEL = 'PathLensNet';
export const NET_GRAD_KERNEL = 'PathLensNetGrad';

interface NetEntry {
  plan: LayersPlan;
  prepared: Prepared[];
  readers: number[];
  fusions: MaskFusion[];
}
interface NetRun {
  backend: WasmBackendLike;
  /** Saved outputs of activated steps, by slot. */
  saved: Map<number, TensorInfo>;
  /** Shape of every slot's value. */
  shapes: number[][];
}

const nets = new Map<number, NetEntry>();
const runs = new Map<number, NetRun>();
let nextNet = 1;
let nextRun = 1;
let enabled = true;

/** Plan kernel runs (tests check that the plan, not TF.js layers, computed a result). */
export const netStats = { forward: 0, backward: 0 };

/** Tests and the bench: run models through TF.js layers even where a plan exists. */
export function setLayersPlanEnabled(on: boolean): void {
  enabled = on;
}

export function layersPlanEnabled(): boolean {
  return enabled;
}

export interface WasmNet {
  /** The plan's output for x, or null when it cannot run now (the caller runs the model itself). */
  run(x: tf.Tensor): tf.Tensor | null;
  /** Run `f` with the plan off (internal-layer hooks patch layers the plan bypasses). */
  suspended<T>(f: () => T): T;
  dispose(): void;
}

/** [fh, fw, in, out] → spatially flipped [fh, fw, out, in]: dx is the full correlation of dy with it. */
function flippedTransposed(f: Float32Array, [fh, fw, cin, cout]: Shape4): Float32Array {
  const out = new Float32Array(f.length);
  for (let i = 0; i < fh; i++)
    for (let j = 0; j < fw; j++) {
      const src = (i * fw + j) * cin * cout;
      const dst = ((fh - 1 - i) * fw + (fw - 1 - j)) * cout * cin;
      for (let c = 0; c < cin; c++) for (let o = 0; o < cout; o++) out[dst + o * cin + c] = f[src + c * cout + o]!;
    }
  return out;
}

function prepareStep(s: PlanStep, keep: (v: Float32Array, shape: number[]) => TensorInfo): Prepared {
  if (s.kind === 'conv') {
    const filter = keep(s.filter, s.filterShape);
    const bias = s.bias ? keep(s.bias, [s.bias.length]) : null;
    const forward = new ConvGeometry(s.filterShape, s.strides, s.dilations, s.pad, s.depthwise);
    if (s.depthwise) return { filter, bias, backFilter: filter, backward: 'depthwise', forward, back: null };
    const [fh, fw, cin, cout] = s.filterShape;
    if (cin < DIRECT_CONV_MAX_IN_CHANNELS || s.strides[0] > 1 || s.strides[1] > 1) {
      const cols = new Float32Array(s.filter.length); // [out, taps·in] from [taps, in, out]
      const k = fh * fw * cin;
      for (let t = 0; t < k; t++) for (let o = 0; o < cout; o++) cols[o * k + t] = s.filter[t * cout + o]!;
      const back = new ConvGeometry([1, 1, cout, k], [1, 1], [1, 1], 'valid', false);
      return { filter, bias, backFilter: keep(cols, [1, 1, cout, k]), backward: 'col2im', forward, back };
    }
    const backFilter = keep(flippedTransposed(s.filter, s.filterShape), [fh, fw, cout, cin]);
    const back = new ConvGeometry([fh, fw, cout, cin], [1, 1], [1, 1], 'valid', false); // (the plan has no dilated Conv2D)
    return { filter, bias, backFilter, backward: 'xnnpack', forward, back };
  }
  if (s.kind === 'dense') {
    const [k, m] = s.kernelShape;
    const t = new Float32Array(k * m);
    for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) t[j * k + i] = s.kernel[i * m + j]!;
    const bias = s.bias ? keep(s.bias, [s.bias.length]) : null;
    return { kernel: keep(s.kernel, [1, k, m]), kernelT: keep(t, [1, m, k]), bias };
  }
  return null;
}

/** The plan's weights as wasm tensors and a runner, or null when the current backend is not wasm with SIMD. */
export function prepareWasmNet(plan: LayersPlan): WasmNet | null {
  const engine = tf.engine();
  if (engine.backendName !== 'wasm' || nativeKernels(engine.backend) == null) return null;
  registerNetKernels();
  const tensors: tf.Tensor[] = [];
  const keep = (values: Float32Array, shape: number[]) => {
    const t = tf.keep(tf.tensor(values, shape, 'float32'));
    tensors.push(t);
    return t as TensorInfo;
  };
  const id = nextNet++;
  const readers = slotReaders(plan);
  const fusions = maskFusions(plan.steps, readers);
  nets.set(id, { plan, prepared: plan.steps.map((s) => prepareStep(s, keep)), readers, fusions });
  let hooks = 0;
  return {
    run: (x) => (hooks === 0 && nets.has(id) ? runNet(id, plan, x) : null),
    suspended: (f) => {
      hooks++;
      try {
        return f();
      } finally {
        hooks--;
      }
    },
    dispose: () => {
      nets.delete(id);
      tf.dispose(tensors);
    },
  };
}

/**
 * Is a memory measurement running? tf.profile (engine.state.profiling) and the batch probe's buffer
 * count (batchProbe.ts `peakBufferBytes`, which wraps the engine's trackTensor on the instance) see
 * engine tensors only, not the plan's heap buffers: while they run, the layers model runs, whose
 * peak bounds the plan's (it keeps more tensors alive), so memory budgets stay conservative.
 */
function memoryMeasured(engine: { state: { profiling: boolean } }): boolean {
  const own = Object.getPrototypeOf(engine) as { trackTensor?: unknown };
  return engine.state.profiling || (engine as unknown as { trackTensor?: unknown }).trackTensor !== own.trackTensor;
}

function runNet(id: number, plan: LayersPlan, x: tf.Tensor): tf.Tensor | null {
  const engine = tf.engine() as unknown as { backendName: string; backend: unknown; state: { gradientDepth: number; profiling: boolean } };
  if (engine.backendName !== 'wasm' || nativeKernels(engine.backend) == null) return null;
  if (memoryMeasured(engine)) return null;
  // XNNPACK's fused ReLU clamps turn NaN into 0: a non-finite input runs the layers model, whose
  // NaN outputs the evaluator reports (weights were checked finite when the plan was made).
  const native = nativeKernels(engine.backend)!;
  if (native.count_nonfinite(heapOffset(engine.backend as WasmBackendLike, x), x.size) > 0) return null;
  if (x.dtype !== 'float32' || !tf.util.arraysEqual(x.shape.slice(1), plan.inputShape)) return null;
  const depth = engine.state.gradientDepth;
  if (depth > 1) return null;
  return tf.engine().runKernel(NET_KERNEL, { x }, { net: id, run: depth === 1 ? nextRun++ : 0 }) as tf.Tensor;
}

function freeAll(b: WasmBackendLike, ts: Iterable<TensorInfo | undefined>): void {
  for (const t of ts) if (t != null) b.disposeData(t.dataId);
}

function forwardPass(b: WasmBackendLike, net: NetEntry, x: TensorInfo, record: NetRun | null): TensorInfo {
  const { plan, prepared } = net;
  const values: (TensorInfo | undefined)[] = new Array(plan.slots);
  const left = net.readers.slice();
  const release = (slot: number) => {
    if (--left[slot]! > 0) return;
    b.disposeData(values[slot]!.dataId);
    values[slot] = undefined;
  };
  values[plan.input] = share(b, x);
  if (record) record.shapes[plan.input] = [...x.shape];
  try {
    plan.steps.forEach((s, i) => {
      const ins = stepInputs(s);
      const out = stepForward(
        b,
        s,
        prepared[i]!,
        ins.map((slot) => values[slot]!),
      );
      values[s.out] = out;
      if (record) record.shapes[s.out] = [...out.shape];
      if (record && savesOutput(s)) record.saved.set(s.out, share(b, out));
      for (const slot of ins) release(slot);
      if (left[s.out] === 0) {
        b.disposeData(out.dataId); // nobody reads it
        values[s.out] = undefined;
      }
    });
    const out = values[plan.output]!;
    values[plan.output] = undefined;
    return out;
  } finally {
    freeAll(b, values);
  }
}

function accumulate(b: WasmBackendLike, a: TensorInfo | undefined, t: TensorInfo): TensorInfo {
  if (a == null) return t;
  const sum = addSameShape(b, nativeKernels(b)!, a, t);
  freeAll(b, [a, t]);
  return sum;
}

function backwardPass(b: WasmBackendLike, net: NetEntry, dy: TensorInfo, run: NetRun): TensorInfo {
  const { plan, prepared } = net;
  const grads: (TensorInfo | undefined)[] = new Array(plan.slots);
  grads[plan.output] = share(b, dy);
  try {
    for (let i = plan.steps.length - 1; i >= 0; i--) {
      const s = plan.steps[i]!;
      const g = grads[s.out];
      if (g == null) continue;
      grads[s.out] = undefined;
      const ins = stepInputs(s);
      let dxs: TensorInfo[];
      try {
        const io = { y: run.saved.get(s.out), inputY: run.saved.get(ins[0]!), xShapes: ins.map((slot) => run.shapes[slot]!) };
        dxs = stepBackward(b, s, prepared[i]!, g, net.fusions[i]!, io);
      } finally {
        b.disposeData(g.dataId);
      }
      ins.forEach((slot, k) => (grads[slot] = accumulate(b, grads[slot], dxs[k]!)));
    }
    const dx = grads[plan.input];
    grads[plan.input] = undefined;
    if (dx != null) return dx;
    const shape = run.shapes[plan.input]!;
    return b.makeOutput(shape, 'float32', undefined, new Float32Array(tf.util.sizeFromShape(shape)));
  } finally {
    freeAll(b, grads);
  }
}

const netForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { net: id, run: runId } = attrs as unknown as { net: number; run: number };
  const net = nets.get(id);
  if (net == null) throw new Error('PathLens: this layers plan was disposed.');
  const b = backend as WasmBackendLike;
  const record: NetRun | null = runId !== 0 ? { backend: b, saved: new Map(), shapes: [] } : null;
  netStats.forward++;
  try {
    const out = forwardPass(b, net, (inputs as { x: TensorInfo }).x, record);
    if (record) runs.set(runId, record);
    return out;
  } catch (err) {
    if (record) freeAll(b, record.saved.values());
    throw err;
  }
};

const netBackward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { net: id, run: runId } = attrs as unknown as { net: number; run: number };
  const net = nets.get(id);
  const run = runs.get(runId);
  if (net == null || run == null) throw new Error('PathLens: a layers plan gradient ran without its recorded forward pass.');
  runs.delete(runId);
  netStats.backward++;
  try {
    return backwardPass(backend as WasmBackendLike, net, (inputs as { dy: TensorInfo }).dy, run);
  } finally {
    freeAll(run.backend, run.saved.values());
  }
};

/** Register the two kernels and the gradient (idempotent). */
export function registerNetKernels(): void {
  if (getKernel(NET_KERNEL, 'wasm') != null) return;
  installTapeHooks();
  observeTape({
    node() {},
    reset() {
      for (const run of runs.values()) freeAll(run.backend, run.saved.values());
      runs.clear();
    },
  });
  registerKernel({ kernelName: NET_KERNEL, backendName: 'wasm', kernelFunc: netForward });
  registerKernel({ kernelName: NET_GRAD_KERNEL, backendName: 'wasm', kernelFunc: netBackward });
  registerKernel({ kernelName: DEPTHWISE_MASKED_KERNEL, backendName: 'wasm', kernelFunc: depthwiseBackpropInputMasked });
  registerKernel({ kernelName: COL2IM_KERNEL, backendName: 'wasm', kernelFunc: col2Im });
  registerGradient({
    kernelName: NET_KERNEL,
    inputsToSave: [],
    outputsToSave: [],
    gradFunc: (dy, _saved, attrs) => ({
      x: () => tf.engine().runKernel(NET_GRAD_KERNEL, { dy: dy as tf.Tensor }, attrs as NamedAttrMap) as tf.Tensor,
    }),
  });
}
