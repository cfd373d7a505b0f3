/**
 * `npm run bench`: Integrated Gradients (Gauss–Legendre, 50 steps) on the shipped example and every
 * zoo model, per available backend, through the real worker. Prints a table and writes
 * bench-results.json. Timings are measured here, never asserted in tests.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkerClient } from '../src/worker/client';
import type { BackendName, ExplainResult } from '../src/core/types';
import type { ExplainJob } from '../src/protocol';

const ROOT = path.resolve(__dirname, '..');
const ZOO = process.env.PATHLENS_ZOO ?? path.resolve(ROOT, '../shared/zoo');
/** A (model, backend) pair whose single evaluation predicts a longer IG run is only extrapolated. */
const MAX_RUN_SECONDS = Number(process.env.PATHLENS_BENCH_MAX_SECONDS ?? 180);

interface Case {
  name: string;
  modelPath: string;
  input: string;
  preprocess?: string;
}

interface Row {
  model: string;
  backend: BackendName;
  method: string;
  steps: number;
  evaluations: number;
  wallMs: number;
  msPerEvaluation: number;
  evaluationsPerSecond: number;
  peakRssMB: number;
  relativeDelta: number | null;
  note: string;
}

function cases(): Case[] {
  const list: Case[] = [];
  const example = path.join(ROOT, 'examples/shapes');
  if (fs.existsSync(path.join(example, 'model.json'))) {
    const images = fs.readdirSync(path.join(example, 'images')).sort();
    list.push({ name: 'example: shapes', modelPath: path.join(example, 'model.json'), input: path.join(example, 'images', images[0]!) });
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-bench-'));
  const iris = path.join(tmp, 'iris.json');
  fs.writeFileSync(iris, '[5.1, 3.5, 1.4, 0.2]');
  const zoo: Case[] = [
    { name: 'tm-objects', modelPath: 'tm-objects/model.json', input: 'tm-objects/samples/apple_a11.jpeg' },
    { name: 'mobilenet-v1-025-graph', modelPath: 'mobilenet-v1-025-graph/model.json', input: 'tm-objects/samples/banana_b16.jpeg', preprocess: 'unit' },
    { name: 'mnist-cnn', modelPath: 'mnist-cnn/model.json', input: 'mnist-cnn/samples/sample_digit.png', preprocess: 'raw255' },
    { name: 'mnist-cnn-graph', modelPath: 'mnist-cnn-graph/model.json', input: 'mnist-cnn-graph/samples/sample_digit.png', preprocess: 'raw255' },
    { name: 'sign-digits-64', modelPath: 'sign-digits-64/model.json', input: 'sign-digits-64/samples/3.jpeg', preprocess: 'unit' },
    { name: 'divorce-predictor', modelPath: 'divorce-predictor/model.json', input: 'divorce-predictor/divorce.csv' },
    { name: 'iris-mlp', modelPath: 'iris-mlp/model.json', input: iris },
  ].map((c) => ({ ...c, modelPath: path.join(ZOO, c.modelPath), input: path.isAbsolute(c.input) ? c.input : path.join(ZOO, c.input) }));
  if (!fs.existsSync(ZOO)) console.warn(`zoo not found at ${ZOO} (set PATHLENS_ZOO); benchmarking the example only`);
  else list.push(...zoo);
  return list;
}

/** Peak resident set size of this process (the worker threads included) while `work` runs. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ value: T; peakRssMB: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, peakRssMB: Math.round(peak / 1024 / 1024) };
  } finally {
    clearInterval(timer);
  }
}

async function explainOnce(client: WorkerClient, job: ExplainJob): Promise<{ result: ExplainResult; wallMs: number }> {
  const started = performance.now();
  const result = await client.explain(job).result;
  const failed = result.inputs.find((i) => i.error);
  if (failed) throw new Error(failed.error);
  return { result, wallMs: performance.now() - started };
}

async function benchCase(c: Case, backend: BackendName): Promise<Row> {
  const client = new WorkerClient({ workerScript: path.join(__dirname, 'worker.js'), backend });
  const base: ExplainJob = { modelPath: c.modelPath, inputs: [c.input], methods: ['gradient'], target: 'top', output: 'logit', preprocess: c.preprocess, options: {}, maxRows: 1 };
  try {
    await client.start();
    // Warm-up: loads and caches the model and measures one gradient evaluation.
    const warm = await explainOnce(client, base);
    const msPerGradient = warm.result.inputs[0]!.results[0]!.timing.ms;
    const steps = 50;
    if ((msPerGradient * steps) / 1000 > MAX_RUN_SECONDS) {
      return {
        model: c.name, backend, method: 'ig gauss-legendre', steps, evaluations: steps,
        wallMs: msPerGradient * steps, msPerEvaluation: msPerGradient, evaluationsPerSecond: 1000 / msPerGradient,
        peakRssMB: Math.round(process.memoryUsage().rss / 1024 / 1024), relativeDelta: null,
        note: `estimated from one gradient (${(msPerGradient / 1000).toFixed(1)} s); full run would exceed ${MAX_RUN_SECONDS} s`,
      };
    }
    const { value, peakRssMB } = await withPeakRss(() => explainOnce(client, { ...base, methods: ['ig'], options: { steps, rule: 'gauss-legendre' } }));
    const ig = value.result.inputs[0]!.results[0]!;
    return {
      model: c.name, backend, method: 'ig gauss-legendre', steps, evaluations: ig.timing.evaluations,
      wallMs: value.wallMs, msPerEvaluation: ig.timing.ms / ig.timing.evaluations,
      evaluationsPerSecond: (1000 * ig.timing.evaluations) / ig.timing.ms, peakRssMB,
      relativeDelta: ig.completeness?.relative ?? null, note: '',
    };
  } finally {
    await client.dispose();
  }
}

async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  for (const backend of ['tensorflow', 'wasm', 'cpu'] as BackendName[]) {
    const client = new WorkerClient({ workerScript: path.join(__dirname, 'worker.js'), backend });
    try {
      await client.start();
      out.push(backend);
    } catch (err) {
      console.log(`backend ${backend}: not available (${(err as Error).message})`);
    } finally {
      await client.dispose();
    }
  }
  return out;
}

function table(rows: Row[]): string {
  const header = ['model', 'backend', 'method', 'evals', 'wall ms', 'ms/eval', 'evals/s', 'peak RSS MB', 'rel. δ', 'note'];
  const lines = rows.map((r) => [
    r.model, r.backend, r.method, String(r.evaluations), r.wallMs.toFixed(0), r.msPerEvaluation.toFixed(1), r.evaluationsPerSecond.toFixed(1),
    String(r.peakRssMB), r.relativeDelta === null ? '—' : `${(r.relativeDelta * 100).toFixed(2)}%`, r.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  const only = process.env.PATHLENS_BENCH_ONLY?.split(',');
  const backends = await availableBackends();
  console.log(`backends: ${backends.join(', ')}; ${os.cpus().length} cores; node ${process.version}`);
  const rows: Row[] = [];
  for (const c of cases().filter((c) => !only || only.some((o) => c.name.includes(o)))) {
    for (const backend of backends) {
      try {
        const row = await benchCase(c, backend);
        rows.push(row);
        console.log(`${c.name} / ${backend}: ${row.wallMs.toFixed(0)} ms${row.note ? ` (${row.note})` : ''}`);
      } catch (err) {
        console.log(`${c.name} / ${backend}: failed: ${(err as Error).message}`);
      }
    }
  }
  console.log('\n' + table(rows));
  const out = path.join(ROOT, 'bench-results.json');
  fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), cores: os.cpus().length, node: process.version, rows }, null, 2));
  console.log(`\nwrote ${out}`);
}

void main();
