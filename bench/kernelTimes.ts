/**
 * Per-kernel CPU time of one forward + input-gradient evaluation on the wasm backend, measured by
 * wrapping every registered wasm kernel (outermost calls only: a composed kernel's inner kernels
 * count under its own name, as in `tf.profile`) with `process.cpuUsage()`. CPU time, unlike wall
 * time, barely moves when other processes share the cores, so before/after figures stay comparable
 * on a busy machine. Each kernel is labelled with where its work runs.
 *
 *   npx tsx bench/kernelTimes.ts [--model tm-objects] [--batch 8] [--repeats 5] [--shapes]
 *   npx tsx bench/kernelTimes.ts --ab [--model tm-objects] [--batch 2,8]   # C kernels off vs on
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getKernelsForBackend, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/engine/backend';
import { valueAndGradient, type ExplainedScalar } from '../src/core/engine/scalar';
import { loadModel } from '../src/core/model/load';
import { PATHLENS_KERNEL_SOURCES } from '../src/core/engine/wasmKernels';
import { setNativeKernelsEnabled } from '../src/core/engine/wasm/native';
import { NET_GRAD_KERNEL, NET_KERNEL } from '../src/core/engine/wasm/net';
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
  const restore = () => {
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

export interface KernelBeforeAfter {
  name: string;
  /** Where it runs with PathLens's C kernels on. */
  source: string;
  callsBefore: number;
  callsAfter: number;
  /** Median CPU ms per evaluation (batch total / batch size). */
  beforeMs: number;
  afterMs: number;
}

export interface KernelProfile {
  model: string;
  batch: number;
  repeats: number;
  /** Median CPU and wall ms per evaluation of whole (uninstrumented) passes. */
  before: { cpuMs: number; wallMs: number };
  after: { cpuMs: number; wallMs: number };
  kernels: KernelBeforeAfter[];
}

/**
 * Per-kernel CPU time with PathLens's C SIMD kernels off ("before": the wasm backend's own or the
 * composed fallbacks, TF.js' own mask gradients) and on ("after"), interleaved run by run in one
 * process so that load from other processes hits both alike.
 */
export async function kernelProfile(modelPath: string, batch: number, repeats: number): Promise<KernelProfile> {
  const { once, dispose } = await evaluation(modelPath, batch);
  const arms = { before: [] as Map<string, Tally>[], after: [] as Map<string, Tally>[] };
  const whole = { before: [] as { cpu: number; wall: number }[], after: [] as { cpu: number; wall: number }[] };
  try {
    for (const on of [false, true]) {
      setNativeKernelsEnabled(on);
      once(); // warm-up of both paths
    }
    for (let i = 0; i < repeats; i++) {
      for (const arm of ['before', 'after'] as const) {
        setNativeKernelsEnabled(arm === 'after');
        whole[arm].push(timed(once));
        arms[arm].push(instrumented(once, false));
      }
    }
  } finally {
    setNativeKernelsEnabled(true);
    dispose();
  }
  const [before, after] = [collect(arms.before), collect(arms.after)];
  const names = [...new Set([...after.map((k) => k.name), ...before.map((k) => k.name)])];
  const kernels = names.map((name) => {
    const [b, a] = [before.find((k) => k.name === name), after.find((k) => k.name === name)];
    const [callsBefore, callsAfter] = [b?.calls ?? 0, a?.calls ?? 0];
    return {
      name,
      source: kernelSource(name),
      callsBefore,
      callsAfter,
      beforeMs: (b?.cpuMs ?? 0) / batch,
      afterMs: (a?.cpuMs ?? 0) / batch,
    };
  });
  kernels.sort((x, y) => Math.max(y.beforeMs, y.afterMs) - Math.max(x.beforeMs, x.afterMs));
  const perEval = (ts: { cpu: number; wall: number }[]) => ({
    cpuMs: median(ts.map((t) => t.cpu)) / batch,
    wallMs: median(ts.map((t) => t.wall)) / batch,
  });
  return {
    model: path.basename(path.dirname(modelPath)),
    batch,
    repeats,
    before: perEval(whole.before),
    after: perEval(whole.after),
    kernels,
  };
}

export function kernelProfileTable(p: KernelProfile, top = 16): string {
  const line = (k: KernelBeforeAfter) => [
    k.name,
    k.source,
    k.callsBefore === k.callsAfter ? String(k.callsAfter) : `${k.callsBefore} → ${k.callsAfter}`,
    k.beforeMs.toFixed(2),
    k.afterMs.toFixed(2),
  ];
  const rest = p.kernels.slice(top);
  const sum = (f: (k: KernelBeforeAfter) => number, ks = p.kernels) => ks.reduce((a, k) => a + f(k), 0);
  const lines = p.kernels.slice(0, top).map(line);
  if (rest.length > 0)
    lines.push([`(${rest.length} more)`, '', '', sum((k) => k.beforeMs, rest).toFixed(2), sum((k) => k.afterMs, rest).toFixed(2)]);
  lines.push(['all kernels', '', '', sum((k) => k.beforeMs).toFixed(2), sum((k) => k.afterMs).toFixed(2)]);
  lines.push(['whole evaluation (process CPU)', '', '', p.before.cpuMs.toFixed(2), p.after.cpuMs.toFixed(2)]);
  lines.push(['whole evaluation (wall, shared CPU)', '', '', p.before.wallMs.toFixed(2), p.after.wallMs.toFixed(2)]);
  return textTable(['kernel', 'runs in (after)', 'calls', 'before CPU ms/eval', 'after CPU ms/eval'], lines);
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
    log("(before: PathLens C SIMD kernels off, i.e. the wasm backend's own kernels and TF.js' own mask gradients; after: on)");
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
      console.log(`${p.model} · wasm · batch ${batch} · PathLens C kernels off (before) / on (after), medians of ${p.repeats}`);
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
