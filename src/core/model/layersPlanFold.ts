/**
 * The load-time rewrites of a layers plan (see layersPlan.ts): BatchNormalization folded into the
 * convolution or Dense layer before it, activations fused into the layer before them, zero padding
 * merged into the following 'valid' convolution. Folding is done in float64 and rounded once to
 * float32. A step is only rewritten into its producer when the producer's output has no other reader.
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { BatchNormStep, ConvStep, DenseStep, LayersPlan, PlanStep } from './layersPlan';

/** Thrown while compiling when the model has something the plan cannot express. */
export class Unsupported extends Error {}

/** How many steps read each slot (the plan's output counts as one more read). */
export function slotReaders(plan: Pick<LayersPlan, 'slots' | 'steps' | 'output'>): number[] {
  const n = new Array<number>(plan.slots).fill(0);
  for (const s of plan.steps) for (const x of stepInputs(s)) n[x]!++;
  n[plan.output]!++;
  return n;
}

export function stepInputs(s: PlanStep): number[] {
  return s.kind === 'add' ? s.xs : [s.x];
}

function producers(steps: PlanStep[]): Map<number, PlanStep> {
  return new Map(steps.map((s) => [s.out, s]));
}

/** Scale output channel o of a conv filter / dense kernel by scale[o] and fold the shift into the bias. */
function foldInto(step: ConvStep | DenseStep, bn: BatchNormStep): void {
  // Output channel of flat weight index i: i mod (out channels); depthwise channel c, multiplier q: c·m + q.
  const fs = step.kind === 'conv' ? step.filterShape : null;
  const perTap = fs == null ? (step as DenseStep).kernelShape[1] : step.kind === 'conv' && step.depthwise ? fs[2] * fs[3] : fs[3];
  if (bn.scale.length !== perTap) throw new Unsupported(`BatchNormalization over ${bn.scale.length} channels after ${perTap}`);
  const w = step.kind === 'conv' ? step.filter : step.kernel;
  for (let i = 0; i < w.length; i++) w[i] = Math.fround(w[i]! * bn.scale[i % perTap]!);
  const bias = new Float32Array(perTap);
  for (let o = 0; o < perTap; o++) bias[o] = Math.fround((step.bias?.[o] ?? 0) * bn.scale[o]! + bn.shift[o]!);
  step.bias = bias;
  step.out = bn.out;
}

function foldBatchNorms(plan: LayersPlan): void {
  const readers = slotReaders(plan);
  const made = producers(plan.steps);
  plan.steps = plan.steps.filter((s) => {
    if (s.kind !== 'batchnorm') return true;
    const p = made.get(s.x);
    const foldable = p != null && (p.kind === 'conv' || p.kind === 'dense') && p.activation === 'linear' && readers[s.x] === 1;
    if (!foldable) throw new Unsupported('a BatchNormalization that does not follow a linear convolution or Dense layer');
    foldInto(p, s);
    made.set(p.out, p);
    return false;
  });
}

function fuseActivations(plan: LayersPlan): void {
  const readers = slotReaders(plan);
  const made = producers(plan.steps);
  const renamed = new Map<number, number>();
  plan.steps = plan.steps.filter((s) => {
    if (s.kind !== 'activation') return true;
    const p = made.get(s.x);
    if (s.activation === 'linear') {
      renamed.set(s.out, s.x);
      return false;
    }
    if (p == null || (p.kind !== 'conv' && p.kind !== 'dense') || p.activation !== 'linear' || readers[s.x] !== 1) return true;
    p.activation = s.activation;
    p.out = s.out;
    made.set(p.out, p);
    return false;
  });
  if (renamed.size > 0) renameSlots(plan, renamed);
}

/** Readers of slots that were aliases (linear activations) read the aliased slot instead. */
function renameSlots(plan: LayersPlan, renamed: Map<number, number>): void {
  const to = (slot: number) => {
    let s = slot;
    while (renamed.has(s)) s = renamed.get(s)!;
    return s;
  };
  for (const s of plan.steps) {
    if (s.kind === 'add') s.xs = s.xs.map(to);
    else s.x = to(s.x);
  }
  plan.output = to(plan.output);
}

function mergePadding(plan: LayersPlan): void {
  const readers = slotReaders(plan);
  const pads = new Map(plan.steps.flatMap((s) => (s.kind === 'pad' && readers[s.out] === 1 ? [[s.out, s] as const] : [])));
  const merged = new Set<PlanStep>();
  for (const s of plan.steps) {
    const pad = s.kind === 'conv' && s.pad === 'valid' ? pads.get(s.x) : undefined;
    if (s.kind !== 'conv' || pad == null) continue;
    s.pad = [[0, 0], pad.pads[0], pad.pads[1], [0, 0]];
    s.x = pad.x;
    merged.add(pad);
  }
  plan.steps = plan.steps.filter((s) => !merged.has(s));
}

/** The per-example output shape of step `s` from its inputs' shapes; Unsupported when the step cannot take them. */
function stepShape(s: PlanStep, xs: number[][]): number[] {
  const x = xs[0]!;
  const fail = (why: string): never => {
    throw new Unsupported(`${s.kind} step on [${x}]: ${why}`);
  };
  switch (s.kind) {
    case 'conv': {
      if (x.length !== 3 || x[2] !== s.filterShape[2]) fail(`filter [${s.filterShape}]`);
      const info = backend_util.computeConv2DInfo(
        [1, ...x] as [number, number, number, number],
        s.filterShape,
        s.strides,
        s.dilations,
        s.pad,
        undefined,
        s.depthwise,
      );
      return [info.outHeight, info.outWidth, info.outChannels];
    }
    case 'dense':
      return x.length === 1 && x[0] === s.kernelShape[0] ? [s.kernelShape[1]] : fail(`kernel [${s.kernelShape}]`);
    case 'batchnorm':
      return x[x.length - 1] === s.scale.length ? x : fail(`${s.scale.length} channels`);
    case 'add':
      return xs.every((y) => y.length === x.length && y.every((d, i) => d === x[i])) ? x : fail('inputs of different shapes');
    case 'pad':
      return x.length === 3 ? [x[0]! + s.pads[0][0] + s.pads[0][1], x[1]! + s.pads[1][0] + s.pads[1][1], x[2]!] : fail('not an image');
    case 'mean':
      return x.length === 3 ? [x[2]!] : fail('not an image');
    case 'reshape':
      return s.shape.reduce((a, d) => a * d, 1) === x.reduce((a, d) => a * d, 1) ? s.shape : fail(`to [${s.shape}]`);
    case 'activation':
      return x;
  }
}

/** Check every step's input shapes (from the model's input shape) before anything is rewritten. */
function checkShapes(plan: LayersPlan): void {
  const shapes: number[][] = [];
  shapes[plan.input] = plan.inputShape;
  for (const s of plan.steps)
    shapes[s.out] = stepShape(
      s,
      stepInputs(s).map((x) => shapes[x]!),
    );
}

/** Apply the rewrites (in place) and return the plan. */
export function foldPlan(plan: LayersPlan): LayersPlan {
  checkShapes(plan);
  foldBatchNorms(plan);
  fuseActivations(plan);
  mergePadding(plan);
  // Fused ReLU clamps (XNNPACK) would hide NaN from such weights, which TF.js layers propagates.
  for (const s of plan.steps) {
    const ws = s.kind === 'conv' ? [s.filter, s.bias] : s.kind === 'dense' ? [s.kernel, s.bias] : [];
    if (ws.some((w) => w != null && !w.every(Number.isFinite))) throw new Unsupported('non-finite weights (after folding)');
  }
  return plan;
}
