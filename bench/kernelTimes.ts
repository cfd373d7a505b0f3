/**
 * Per-kernel CPU time of one forward + input-gradient evaluation on the wasm backend, measured by
 * wrapping every registered wasm kernel (outermost calls only: a composed kernel's inner kernels
 * count under its own name, as in `tf.profile`) with `process.cpuUsage()`. CPU time, unlike wall
 * time, barely moves when other processes share the cores, so before/after figures stay comparable
 * on a busy machine. Each kernel is labelled with where its work runs.
 *
 *   npx tsx bench/kernelTimes.ts [--model tm-objects] [--batch 8] [--repeats 5] [--shapes]
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getKernelsForBackend, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/engine/backend';
import { valueAndGradient, type ExplainedScalar } from '../src/core/engine/scalar';
import { loadModel } from '../src/core/model/load';
import { PATHLENS_KERNEL_SOURCES } from '../src/core/engine/wasmKernels';
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

/** Wrap every wasm kernel; returns the tallies and an uninstall function. */
function instrument(withShapes: boolean): { tallies: Map<string, Tally>; restore: () => void } {
  const tallies = new Map<string, Tally>();
  const originals: KernelConfig[] = [];
  let depth = 0;
  for (const config of getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc;
    const name = config.kernelName;
    const kernelFunc: KernelFunc = (args) => {
      if (depth > 0) return inner(args);
      depth++;
      const t0 = process.cpuUsage();
      try {
        return inner(args);
      } finally {
        const d = process.cpuUsage(t0);
        depth--;
        const key = withShapes ? `${name} ${signature(args.inputs as Record<string, tf.TensorInfo>)}` : name;
        const t = tallies.get(key) ?? { calls: 0, us: 0 };
        t.calls++;
        t.us += d.user + d.system;
        tallies.set(key, t);
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

export async function kernelTimes(modelPath: string, batch: number, repeats: number, withShapes = false): Promise<KernelTimesResult> {
  await initBackend('wasm');
  const model = await loadModel(modelPath);
  const fn: ExplainedScalar = { model, target: 1 % model.numClasses, output: 'logit' };
  const x = tf.randomUniform([batch, ...model.inputShape], -1, 1, 'float32', 7);
  const once = () => {
    const { value, grad } = valueAndGradient(fn, x);
    grad.dataSync();
    tf.dispose([value, grad]);
  };
  once();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const [c0, w0] = [process.cpuUsage(), performance.now()];
    once();
    const d = process.cpuUsage(c0);
    cpu.push((d.user + d.system) / 1000);
    wall.push(performance.now() - w0);
  }
  const runs = async (shapes: boolean) => {
    const out: Map<string, Tally>[] = [];
    for (let i = 0; i < repeats; i++) {
      const { tallies, restore } = instrument(shapes);
      try {
        once();
      } finally {
        restore();
      }
      out.push(tallies);
    }
    return collect(out);
  };
  const kernels = await runs(false);
  const byShape = withShapes ? await runs(true) : undefined;
  x.dispose();
  model.dispose();
  return { model: path.basename(path.dirname(modelPath)), batch, evalCpuMs: median(cpu), evalWallMs: median(wall), kernels, byShape };
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

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

async function main(): Promise<void> {
  const zoo = process.env.PATHLENS_ZOO ?? path.resolve(__dirname, '..', '../shared/zoo');
  const name = arg('model', 'tm-objects');
  const modelPath = name.endsWith('.json') ? path.resolve(name) : path.join(zoo, name, 'model.json');
  for (const batch of arg('batch', '8').split(',').map(Number)) {
    const r = await kernelTimes(modelPath, batch, Number(arg('repeats', '5')), process.argv.includes('--shapes'));
    console.log(
      `${r.model} · wasm · batch ${batch}: ${(r.evalCpuMs / batch).toFixed(1)} CPU ms/eval (wall ${(r.evalWallMs / batch).toFixed(1)} ms/eval)`,
    );
    console.log(kernelTimesTable(r.kernels, batch, Number(arg('top', '25'))));
    if (r.byShape) console.log('\n' + kernelTimesTable(r.byShape, batch, Number(arg('top', '40'))));
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
