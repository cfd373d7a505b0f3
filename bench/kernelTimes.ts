/**
 * Per-kernel CPU time of one forward + input-gradient evaluation on the wasm backend, measured by
 * wrapping every registered wasm kernel (outermost calls only: a composed kernel's inner kernels
 * count under its own name, as in `tf.profile`) with `process.cpuUsage()`, and the layers plan's
 * direct calls (engine/wasm/direct.ts) alike. Each kernel is labelled with where its work runs.
 * Caveats measured on the shared 2-core machine: CPU time still grows under load (memory-bound
 * kernels such as the depthwise gradient, which reads saved forward activations, by 20–50 % at load
 * 10+), so compare arms interleaved in one process (--ab) or alternate processes; the two cpuUsage
 * calls per kernel (a few µs) land in the plan kernels' "own JS" rows; the uninstrumented "whole
 * evaluation" is the figure to compare.
 *
 *   npx tsx bench/kernelTimes.ts [--model tm-objects] [--batch 8] [--repeats 5] [--shapes]
 *   npx tsx bench/kernelTimes.ts --ab [--model tm-objects] [--batch 2,8]   # tfjs / C kernels / layers plan
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getKernelsForBackend, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/engine/backend';
import { valueAndGradient, type ExplainedScalar } from '../src/core/engine/scalar';
import { loadModel } from '../src/core/model/load';
import { PATHLENS_KERNEL_SOURCES } from '../src/core/engine/wasmKernels';
import { setNativeKernelsEnabled } from '../src/core/engine/wasm/native';
import { observeDirectCalls } from '../src/core/engine/wasm/direct';
import { NET_GRAD_KERNEL, NET_KERNEL, setLayersPlanEnabled } from '../src/core/engine/wasm/net';
import { textTable } from './table';

/** Where a wasm kernel's work runs (tfjs-backend-wasm 4.22's C++ sources; ours from wasmKernels.ts). */
const TFJS_XNNPACK = new Set([
  'Conv2D',
  'FusedConv2D',
  'DepthwiseConv2dNative',
  'FusedDepthwiseConv2D',
  'BatchMatMul',
  '_FusedMatMul',
  'Add',
  'Multiply',
  'Sub',
  'RealDiv',
  'Maximum',
  'Minimum',
  'ClipByValue',
  'Relu',
  'Relu6',
  'MaxPool',
  'AvgPool',
  'Prelu',
]);

export function kernelSource(name: string): string {
  const ours = PATHLENS_KERNEL_SOURCES[name];
  if (ours) return `PathLens: ${ours}`;
  if (TFJS_XNNPACK.has(name)) return 'tfjs XNNPACK';
  return 'tfjs C++/JS';
}

export interface KernelTime {
  name: string;
  source: string;
  calls: number;
  /** Median over repeats of the summed CPU ms per evaluation pass (whole batch). */
  cpuMs: number;
  share: number;
}

export interface KernelTimesResult {
  model: string;
  batch: number;
  /** Median CPU ms of one whole evaluation (forward + input gradient) of the batch. */
  evalCpuMs: number;
  /** Median wall ms of the same. */
  evalWallMs: number;
  kernels: KernelTime[];
  /** Per kernel and shape signature (with `--shapes`). */
  byShape?: KernelTime[];
}

interface Tally {
  calls: number;
  us: number;
}

/**
 * Kernels that run a whole plan (engine/wasm/net.ts): the kernels they call are tallied as outermost
 * calls, and the plan kernel itself only with its own time (JS bookkeeping between them).
 */
const TRANSPARENT_KERNELS = new Set([NET_KERNEL, NET_GRAD_KERNEL]);

/** Wrap every wasm kernel; returns the tallies and an uninstall function. */
function instrument(withShapes: boolean): { tallies: Map<string, Tally>; restore: () => void } {
  const tallies = new Map<string, Tally>();
  const originals: KernelConfig[] = [];
  let depth = 0;
  /** µs tallied so far (to subtract the inner kernels from a transparent kernel's time). */
  let tallied = 0;
  const add = (key: string, us: number) => {
    const t = tallies.get(key) ?? { calls: 0, us: 0 };
    t.calls++;
    t.us += us;
    tallies.set(key, t);
    tallied += us;
  };
  for (const config of getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc;
    const name = config.kernelName;
    const transparent = TRANSPARENT_KERNELS.has(name);
    const kernelFunc: KernelFunc = (args) => {
      if (depth > 0) return inner(args);
      if (!transparent) depth++;
      const [t0, before] = [process.cpuUsage(), tallied];
      try {
        return inner(args);
      } finally {
        const d = process.cpuUsage(t0);
        if (!transparent) depth--;
        const key = withShapes ? `${name} ${signature(args.inputs as Record<string, tf.TensorInfo>)}` : name;
        add(key, d.user + d.system - (tallied - before));
      }
    };
    originals.push(config);
    unregisterKernel(name, 'wasm');
    registerKernel({ ...config, kernelFunc });
  }
  // The layers plan calls most of its kernels directly (engine/wasm/direct.ts): tallied alike.
  observeDirectCalls((name, run) => {
    if (depth > 0) return run();
    depth++;
    const [t0, before] = [process.cpuUsage(), tallied];
    try {
      run();
    } finally {
      const d = process.cpuUsage(t0);
      depth--;
      add(name, d.user + d.system - (tallied - before));
    }
  });
  const restore = () => {
    observeDirectCalls(null);
    for (const c of originals) {
      unregisterKernel(c.kernelName, 'wasm');
      registerKernel(c);
    }
  };
  return { tallies, restore };
}

function signature(inputs: Record<string, tf.TensorInfo>): string {
  return Object.values(inputs)
    .filter((t) => t != null && Array.isArray(t.shape))
    .map((t) => `[${t.shape.join(',')}]`)
    .join(' ');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? 0 : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One instrumented pass per repeat; kernels' medians and the whole evaluation's median. */
function collect(runs: Map<string, Tally>[]): KernelTime[] {
  const names = new Set(runs.flatMap((r) => [...r.keys()]));
  const rows = [...names].map((key) => {
    const name = key.split(' ')[0]!;
    const cpu = runs.map((r) => (r.get(key)?.us ?? 0) / 1000);
    return { name: key, source: kernelSource(name), calls: runs[0]?.get(key)?.calls ?? 0, cpuMs: median(cpu), share: 0 };
  });
  const total = rows.reduce((a, r) => a + r.cpuMs, 0);
  rows.forEach((r) => (r.share = total > 0 ? r.cpuMs / total : 0));
  return rows.sort((a, b) => b.cpuMs - a.cpuMs);
}

/** A loaded model and a random batch, evaluated (forward + input gradient) on demand. */
async function evaluation(modelPath: string, batch: number): Promise<{ once: () => void; dispose: () => void }> {
  await initBackend('wasm');
  const model = await loadModel(modelPath);
  const fn: ExplainedScalar = { model, target: 1 % model.numClasses, output: 'logit' };
  const x = tf.randomUniform([batch, ...model.inputShape], -1, 1, 'float32', 7);
  const once = () => {
    const { value, grad } = valueAndGradient(fn, x);
    grad.dataSync();
    tf.dispose([value, grad]);
  };
  return { once, dispose: () => (x.dispose(), model.dispose()) };
}

/** CPU and wall ms of one uninstrumented call of `f`. */
function timed(f: () => void): { cpu: number; wall: number } {
  const [c0, w0] = [process.cpuUsage(), performance.now()];
  f();
  const d = process.cpuUsage(c0);
  return { cpu: (d.user + d.system) / 1000, wall: performance.now() - w0 };
}

function instrumented(once: () => void, shapes: boolean): Map<string, Tally> {
  const { tallies, restore } = instrument(shapes);
  try {
    once();
  } finally {
    restore();
  }
  return tallies;
}

export async function kernelTimes(modelPath: string, batch: number, repeats: number, withShapes = false): Promise<KernelTimesResult> {
  const { once, dispose } = await evaluation(modelPath, batch);
  once();
  const times = Array.from({ length: repeats }, () => timed(once));
  const runs = (shapes: boolean) => collect(Array.from({ length: repeats }, () => instrumented(once, shapes)));
  const kernels = runs(false);
  const byShape = withShapes ? runs(true) : undefined;
  dispose();
  const evalCpuMs = median(times.map((t) => t.cpu));
  const evalWallMs = median(times.map((t) => t.wall));
  return { model: path.basename(path.dirname(modelPath)), batch, evalCpuMs, evalWallMs, kernels, byShape };
}

/** The configurations the profile compares, in order: what each one runs. */
export const PROFILE_ARMS = [
  { name: 'tfjs', what: "TF.js layers, the wasm backend's own kernels (PathLens C kernels off)", native: false, plan: false },
  { name: 'C kernels', what: 'TF.js layers with PathLens C SIMD kernels and fused gradients (layers plan off)', native: true, plan: false },
  { name: 'plan', what: 'the layers plan: BatchNorm folded, activations/padding fused, one tape node', native: true, plan: true },
] as const;

export interface KernelArmTimes {
  name: string;
  /** Where it runs with everything on. */
  source: string;
  /** Calls and median CPU ms per evaluation (batch total / batch size) per arm, in PROFILE_ARMS order. */
  calls: number[];
  ms: number[];
}

export interface KernelProfile {
  model: string;
  batch: number;
  repeats: number;
  arms: string[];
  /** Median CPU and wall ms per evaluation of whole (uninstrumented) passes, per arm. */
  whole: { cpuMs: number; wallMs: number }[];
  kernels: KernelArmTimes[];
}

function setArm(arm: (typeof PROFILE_ARMS)[number]): void {
  setNativeKernelsEnabled(arm.native);
  setLayersPlanEnabled(arm.plan);
}

/**
 * Per-kernel CPU time in each of PROFILE_ARMS, interleaved run by run in one process so that load
 * from other processes hits all alike.
 */
export async function kernelProfile(modelPath: string, batch: number, repeats: number): Promise<KernelProfile> {
  const { once, dispose } = await evaluation(modelPath, batch);
  const runs = PROFILE_ARMS.map(() => [] as Map<string, Tally>[]);
  const whole = PROFILE_ARMS.map(() => [] as { cpu: number; wall: number }[]);
  try {
    for (const arm of PROFILE_ARMS) {
      setArm(arm);
      once(); // warm-up of every path
    }
    for (let i = 0; i < repeats; i++) {
      PROFILE_ARMS.forEach((arm, k) => {
        setArm(arm);
        whole[k]!.push(timed(once));
        runs[k]!.push(instrumented(once, false));
      });
    }
  } finally {
    setNativeKernelsEnabled(true);
    setLayersPlanEnabled(true);
    dispose();
  }
  const perArm = runs.map((r) => collect(r));
  const names = [...new Set(perArm.flatMap((ks) => ks.map((k) => k.name)))];
  const kernels = names.map((name) => {
    const found = perArm.map((ks) => ks.find((k) => k.name === name));
    return { name, source: kernelSource(name), calls: found.map((k) => k?.calls ?? 0), ms: found.map((k) => (k?.cpuMs ?? 0) / batch) };
  });
  kernels.sort((x, y) => Math.max(...y.ms) - Math.max(...x.ms));
  const perEval = (ts: { cpu: number; wall: number }[]) => ({
    cpuMs: median(ts.map((t) => t.cpu)) / batch,
    wallMs: median(ts.map((t) => t.wall)) / batch,
  });
  return {
    model: path.basename(path.dirname(modelPath)),
    batch,
    repeats,
    arms: PROFILE_ARMS.map((a) => a.name),
    whole: whole.map(perEval),
    kernels,
  };
}

export function kernelProfileTable(p: KernelProfile, top = 18): string {
  const calls = (k: KernelArmTimes) => (k.calls.every((c) => c === k.calls[0]) ? String(k.calls[0]) : k.calls.join(' / '));
  const line = (k: KernelArmTimes) => [k.name, k.source, calls(k), ...k.ms.map((m) => m.toFixed(2))];
  const rest = p.kernels.slice(top);
  const sums = (ks: KernelArmTimes[]) => p.arms.map((_, i) => ks.reduce((a, k) => a + k.ms[i]!, 0).toFixed(2));
  const lines = p.kernels.slice(0, top).map(line);
  if (rest.length > 0) lines.push([`(${rest.length} more)`, '', '', ...sums(rest)]);
  lines.push(['all kernels', '', '', ...sums(p.kernels)]);
  lines.push(['whole evaluation (process CPU)', '', '', ...p.whole.map((w) => w.cpuMs.toFixed(2))]);
  lines.push(['whole evaluation (wall, shared CPU)', '', '', ...p.whole.map((w) => w.wallMs.toFixed(2))]);
  return textTable(['kernel', 'runs in (plan)', 'calls', ...p.arms.map((a) => `${a} CPU ms/eval`)], lines);
}

function armLegend(): string {
  return PROFILE_ARMS.map((a) => `${a.name}: ${a.what}`).join('; ');
}

export function kernelTimesTable(rows: KernelTime[], batch: number, top = 25): string {
  const shown = rows.slice(0, top);
  const lines = shown.map((r) => [
    r.name,
    r.source,
    String(r.calls),
    r.cpuMs.toFixed(1),
    (r.cpuMs / batch).toFixed(2),
    `${(100 * r.share).toFixed(1)}%`,
  ]);
  const rest = rows.slice(top);
  if (rest.length > 0) {
    const ms = rest.reduce((a, r) => a + r.cpuMs, 0);
    const calls = rest.reduce((a, r) => a + r.calls, 0);
    const share = rest.reduce((a, r) => a + r.share, 0);
    lines.push([`(${rest.length} more)`, '', String(calls), ms.toFixed(1), (ms / batch).toFixed(2), `${(100 * share).toFixed(1)}%`]);
  }
  return textTable(['kernel', 'runs in', 'calls', 'CPU ms/batch', 'CPU ms/eval', 'share'], lines);
}

/**
 * The bench's section: the per-kernel profile of tm-objects (or PATHLENS_BENCH_KERNEL_MODEL) at the
 * pool's batch size and at 8 (PATHLENS_BENCH_KERNEL_BATCHES), C kernels off and on.
 */
export async function kernelProfileSection(zoo: string, log: (line: string) => void): Promise<KernelProfile[]> {
  const model = process.env.PATHLENS_BENCH_KERNEL_MODEL ?? 'tm-objects';
  const modelPath = path.join(zoo, model, 'model.json');
  const batches = (process.env.PATHLENS_BENCH_KERNEL_BATCHES ?? '2,8').split(',').map(Number);
  const repeats = Number(process.env.PATHLENS_BENCH_KERNEL_REPEATS ?? 5);
  const out: KernelProfile[] = [];
  for (const batch of batches) {
    const p = await kernelProfile(modelPath, batch, repeats);
    log(`\nPer-kernel CPU time of one forward + input-gradient evaluation: ${p.model}, wasm, batch ${batch}, medians of ${repeats}`);
    log(`(${armLegend()})`);
    log(kernelProfileTable(p));
    out.push(p);
  }
  return out;
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

async function main(): Promise<void> {
  const zoo = process.env.PATHLENS_ZOO ?? path.resolve(__dirname, '..', '../shared/zoo');
  const name = arg('model', 'tm-objects');
  const modelPath = name.endsWith('.json') ? path.resolve(name) : path.join(zoo, name, 'model.json');
  if (process.argv.includes('--ab')) {
    for (const batch of arg('batch', '8').split(',').map(Number)) {
      const p = await kernelProfile(modelPath, batch, Number(arg('repeats', '5')));
      console.log(
        `${p.model} · wasm · batch ${batch} · medians of ${p.repeats}, uptime load ${os.loadavg()[0]!.toFixed(1)} (${armLegend()})`,
      );
      console.log(kernelProfileTable(p, Number(arg('top', '16'))));
    }
    return;
  }
  for (const batch of arg('batch', '8').split(',').map(Number)) {
    const r = await kernelTimes(modelPath, batch, Number(arg('repeats', '5')), process.argv.includes('--shapes'));
    console.log(
      `${r.model} · wasm · batch ${batch}: ${(r.evalCpuMs / batch).toFixed(1)} CPU ms/eval (wall ${(r.evalWallMs / batch).toFixed(1)} ms/eval)`,
    );
    console.log(kernelTimesTable(r.kernels, batch, Number(arg('top', '25'))));
    if (r.byShape) console.log('\n' + kernelTimesTable(r.byShape, batch, Number(arg('top', '40'))));
  }
}

// Bundled into dist/bench.js `require.main === module` holds there too: run only as this script.
if (require.main === module && path.basename(process.argv[1] ?? '').startsWith('kernelTimes')) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
