/**
 * `npm run bench`: Integrated Gradients (Gauss–Legendre 50 and adaptive @1%) on the shipped example
 * and every zoo model, per available backend and worker count, through the real worker the extension
 * uses; this thread plays the extension host and its event-loop lag is measured during each run. Prints a table and writes
 * bench-results.json. Timings are measured here, never asserted in tests.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { METHODS } from '../src/core/methods';
import { relativeL1 } from '../src/core/path/mapError';
import { WorkerClient } from '../src/worker/client';
import { defaultWorkerCount } from '../src/worker/pool';
import { mapErrorRows, mapErrorTable, type MapErrorCase } from './mapError';
import { otherZooRows, REFERENCE_POINTS, trueMapErrorRows, trueMapErrorTable } from './trueMapError';
import { kernelProfileSection } from './kernelTimes';
import { accurateTable, cliFixedCost, computingTable, fixedCostTable, secondExplanation, secondJobTable } from './fixedCost';
import { textTable } from './table';
import { flopsPerEvaluation, measureMatmulFlopRate, physicalLimitMs } from './limits';
import type { BackendName, ExplainResult } from '../src/core/types';
import type { ExplainJob } from '../src/shared/protocol';

const ROOT = path.resolve(__dirname, '..');
const ZOO = process.env.PATHLENS_ZOO ?? path.resolve(ROOT, '../shared/zoo');
/** A (model, backend) pair whose single evaluation predicts a longer IG run is only extrapolated. */
/** Real-size ONNX exports written by scripts/fixtures/onnx/make_fixtures.py --full. */
const ONNX_FULL = process.env.PATHLENS_ONNX_FULL ?? path.join(os.homedir(), '.cache', 'pathlens-onnx-full');
const MAX_RUN_SECONDS = Number(process.env.PATHLENS_BENCH_MAX_SECONDS ?? 60);

interface Case {
  name: string;
  modelPath: string;
  input: string;
  preprocess?: string;
}

interface Row {
  model: string;
  backend: BackendName;
  workers: number;
  method: string;
  evaluations: number;
  wallMs: number;
  msPerEvaluation: number;
  evaluationsPerSecond: number;
  peakRssMB: number;
  relativeDelta: number | null;
  /** p99 event-loop delay of this (host-like) thread while the job ran, ms. */
  hostLagP99Ms: number | null;
  note: string;
}

interface Run {
  label: string;
  methods: string[];
  options: ExplainJob['options'];
  /** Path points the run needs at most (for the estimate when it would take too long). */
  points: number;
}

const RUNS: Run[] = [
  { label: 'ig gauss-legendre 50', methods: ['ig'], options: { steps: 50, rule: 'gauss-legendre' }, points: 50 },
  { label: 'ig adaptive @1%', methods: ['ig'], options: { rule: 'adaptive' as never, tolerance: 0.01 }, points: 50 },
];
const GUIDED_IG: Run = { label: 'guided-ig 200', methods: ['guided-ig'], options: { steps: 200 }, points: 200 };
/** One row per method of the path family (issue 4), on the small 28×28×1 image models. */
const PATH_FAMILY_CASES = ['mnist-cnn', 'mnist-cnn-graph'];
function pathFamilyRuns(): Run[] {
  // Expected Gradients' reference set: 8 flat grey images (0, 32, …, 224) in raw 0..255 input space.
  const reference = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-bench-refs-')), 'refs.json');
  fs.writeFileSync(
    reference,
    JSON.stringify(Array.from({ length: 8 }, (_, k) => Array.from({ length: 28 }, () => Array.from({ length: 28 }, () => [32 * k])))),
  );
  const runs: Run[] = [
    { label: 'ig trapezoid 50 + idgi', methods: ['ig'], options: { steps: 50, rule: 'trapezoid' as const, idgi: true }, points: 50 },
    { label: 'guided-ig 200', methods: ['guided-ig'], options: { steps: 200 }, points: 200 },
    { label: 'guided-ig 200 + idgi', methods: ['guided-ig'], options: { steps: 200, idgi: true }, points: 200 },
    { label: 'blur-ig 100', methods: ['blur-ig'], options: { steps: 100 }, points: 101 },
    { label: 'expected-gradients 64', methods: ['expected-gradients'], options: { samples: 64, reference }, points: 65 },
    { label: 'smoothgrad 25', methods: ['smoothgrad'], options: { samples: 25 }, points: 25 },
    { label: 'smoothgrad-sq 25', methods: ['smoothgrad-sq'], options: { samples: 25 }, points: 25 },
    { label: 'vargrad 25', methods: ['vargrad'], options: { samples: 25 }, points: 25 },
  ];
  return runs.filter((r) => r.methods.every((m) => METHODS.has(m)));
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
    {
      name: 'mobilenet-v1-025-graph',
      modelPath: 'mobilenet-v1-025-graph/model.json',
      input: 'tm-objects/samples/banana_b16.jpeg',
      preprocess: 'unit',
    },
    { name: 'mnist-cnn', modelPath: 'mnist-cnn/model.json', input: 'mnist-cnn/samples/sample_digit.png', preprocess: 'raw255' },
    {
      name: 'mnist-cnn-graph',
      modelPath: 'mnist-cnn-graph/model.json',
      input: 'mnist-cnn-graph/samples/sample_digit.png',
      preprocess: 'raw255',
    },
    { name: 'sign-digits-64', modelPath: 'sign-digits-64/model.json', input: 'sign-digits-64/samples/3.jpeg', preprocess: 'unit' },
    { name: 'divorce-predictor', modelPath: 'divorce-predictor/model.json', input: 'divorce-predictor/divorce.csv' },
    { name: 'iris-mlp', modelPath: 'iris-mlp/model.json', input: iris },
  ].map((c) => ({ ...c, modelPath: path.join(ZOO, c.modelPath), input: path.isAbsolute(c.input) ? c.input : path.join(ZOO, c.input) }));
  if (!fs.existsSync(ZOO)) console.warn(`zoo not found at ${ZOO} (set PATHLENS_ZOO); benchmarking the example only`);
  else list.push(...zoo);
  list.push(...onnxCases());
  return list;
}

/**
 * torchvision ResNet-18 and MobileNetV2 exported to ONNX at 224×224 (random weights; speed does not
 * depend on them), beside the zoo's TF.js MobileNetV2 (tm-objects). Generated, not shipped.
 */
function onnxCases(): Case[] {
  const names = ['resnet18', 'mobilenet_v2'];
  const list = names.map((name) => ({
    name: `onnx ${name} 224 (opset 17)`,
    modelPath: path.join(ONNX_FULL, `${name}.op17.onnx`),
    input: path.join(ONNX_FULL, `${name}.input.json`),
  }));
  const missing = list.filter((c) => !fs.existsSync(c.modelPath) || !fs.existsSync(c.input));
  if (missing.length > 0) {
    console.warn(
      `ONNX models not found in ${ONNX_FULL} (set PATHLENS_ONNX_FULL); make them with\n` +
        `  /usr/bin/python3 scripts/fixtures/onnx/make_fixtures.py --full --only resnet18,mobilenet_v2`,
    );
  }
  return list.filter((c) => !missing.includes(c));
}

/** Peak RSS of this process (worker threads included) and this thread's event-loop delay during `work`. */
async function measured<T>(work: () => Promise<T>): Promise<{ value: T; peakRssMB: number; lagP99Ms: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, peakRssMB: Math.round(peak / 1024 / 1024), lagP99Ms: lag.percentile(99) / 1e6 };
  } finally {
    lag.disable();
    clearInterval(timer);
  }
}

async function explainOnce(client: WorkerClient, job: ExplainJob): Promise<{ result: ExplainResult; wallMs: number }> {
  const started = performance.now();
  // Receive the streamed events like the extension host does, so the lag measured includes that work.
  const result = await client.explain(job, () => {}).result;
  const failed = result.inputs.find((i) => i.error);
  if (failed) throw new Error(failed.error);
  return { result, wallMs: performance.now() - started };
}

async function benchCase(c: Case, backend: BackendName, workers: number, runs: Run[]): Promise<Row[]> {
  const client = new WorkerClient({ workerScript: path.join(__dirname, 'worker.js'), backend, workers });
  const base: ExplainJob = {
    modelPath: c.modelPath,
    inputs: [c.input],
    methods: ['gradient'],
    target: 'top',
    output: 'logit',
    preprocess: c.preprocess,
    options: {},
    maxRows: 1,
  };
  const rows: Row[] = [];
  try {
    await client.start();
    // Warm-up: loads and caches the model (in pool threads too), then times one gradient evaluation.
    await explainOnce(client, { ...base, methods: ['ig'], options: { steps: 2 * workers, rule: 'riemann-left' } });
    const warm = await explainOnce(client, base);
    const msPerGradient = warm.result.inputs[0]!.results[0]!.timing.ms;
    for (const run of runs) {
      const row = { model: c.name, backend, workers, method: run.label };
      if ((msPerGradient * run.points) / workers / 1000 > MAX_RUN_SECONDS) {
        rows.push({
          ...row,
          evaluations: run.points,
          wallMs: (msPerGradient * run.points) / workers,
          msPerEvaluation: msPerGradient,
          evaluationsPerSecond: 1000 / msPerGradient,
          peakRssMB: Math.round(process.memoryUsage().rss / 1024 / 1024),
          relativeDelta: null,
          hostLagP99Ms: null,
          note: `estimated from one gradient (${(msPerGradient / 1000).toFixed(1)} s); a full run would exceed ${MAX_RUN_SECONDS} s`,
        });
        continue;
      }
      const { value, peakRssMB, lagP99Ms } = await measured(() =>
        explainOnce(client, { ...base, methods: run.methods, options: run.options }),
      );
      const result = value.result.inputs[0]!.results[0]!;
      rows.push({
        ...row,
        evaluations: result.timing.evaluations,
        wallMs: value.wallMs,
        msPerEvaluation: value.wallMs / result.timing.evaluations,
        evaluationsPerSecond: (1000 * result.timing.evaluations) / value.wallMs,
        peakRssMB,
        relativeDelta: result.completeness?.relative ?? null,
        hostLagP99Ms: lagP99Ms,
        note: '',
      });
    }
  } finally {
    await client.dispose();
  }
  return rows;
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
  const header = [
    'model',
    'backend',
    'workers',
    'method',
    'evals',
    'wall ms',
    'ms/eval',
    'evals/s',
    'peak RSS MB',
    'rel. δ',
    'host lag p99 ms',
    'note',
  ];
  const lines = rows.map((r) => [
    r.model,
    r.backend,
    String(r.workers),
    r.method,
    String(r.evaluations),
    r.wallMs.toFixed(0),
    r.msPerEvaluation.toFixed(1),
    r.evaluationsPerSecond.toFixed(1),
    String(r.peakRssMB),
    r.relativeDelta === null ? '—' : `${(r.relativeDelta * 100).toFixed(2)}%`,
    r.hostLagP99Ms === null ? '—' : r.hostLagP99Ms.toFixed(1),
    r.note,
  ]);
  return textTable(header, lines);
}

interface LimitRow {
  model: string;
  backend: BackendName;
  workers: number;
  mflopsPerEvaluation: number;
  matmulGflops: number;
  limitMsPerEvaluation: number;
  measuredMsPerEvaluation: number;
  achieved: number;
}

/** The physical-limit estimate for every IG Gauss–Legendre row that ran (not estimated). */
async function limitRows(rows: Row[], all: Case[]): Promise<LimitRow[]> {
  const rates = new Map<BackendName, number>();
  const out: LimitRow[] = [];
  for (const row of rows.filter((r) => r.method.startsWith('ig gauss') && !r.note && r.backend !== 'tensorflow')) {
    const c = all.find((x) => x.name === row.model);
    if (!c) continue;
    const backend = row.backend as 'wasm' | 'cpu';
    if (!rates.has(backend)) rates.set(backend, (await measureMatmulFlopRate(backend)).gflops);
    const { total } = await flopsPerEvaluation(c.modelPath);
    const gflops = rates.get(backend)!;
    // W single-threaded workers: the limit per evaluation is the one-thread limit divided by W.
    const limit = physicalLimitMs(total, gflops) / row.workers;
    out.push({
      model: row.model,
      backend: row.backend,
      workers: row.workers,
      mflopsPerEvaluation: total / 1e6,
      matmulGflops: gflops,
      limitMsPerEvaluation: limit,
      measuredMsPerEvaluation: row.msPerEvaluation,
      achieved: limit / row.msPerEvaluation,
    });
  }
  return out;
}

function limitTable(rows: LimitRow[]): string {
  const header = ['model', 'backend', 'workers', 'MFLOP/eval', 'matmul GFLOP/s', 'limit ms/eval', 'measured ms/eval', 'achieved'];
  const lines = rows.map((r) => [
    r.model,
    r.backend,
    String(r.workers),
    r.mflopsPerEvaluation.toFixed(1),
    r.matmulGflops.toFixed(2),
    r.limitMsPerEvaluation.toFixed(2),
    r.measuredMsPerEvaluation.toFixed(2),
    `${(r.achieved * 100).toFixed(0)}%`,
  ]);
  return textTable(header, lines);
}

interface RuleSummary {
  model: string;
  inputs: number;
  glEvaluations: number;
  glMedianDelta: number;
  glMaxDelta: number;
  glWithinTolerance: number;
  adaptiveMeanEvaluations: number;
  adaptiveMedianEvaluations: number;
  adaptiveMaxEvaluations: number;
  adaptiveMaxDelta: number;
  adaptiveWithinTolerance: number;
  /** IG to 2 % map error (the default): estimated map error, true error against a 1025-point trapezoid reference computed here. */
  adaptiveMedianMs: number;
  adaptiveMaxEstimate: number;
  adaptiveMaxTrueError: number;
  worstTrueOverEstimate: number;
}

/** Every sample a zoo/example model ships (up to 20 rows of a CSV). */
function allSamples(c: Case): string[] {
  const dir = path.dirname(c.input);
  if (c.input.endsWith('.csv') || c.input.endsWith('.json')) return [c.input];
  return fs
    .readdirSync(dir)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

/** IG Gauss–Legendre 50 against adaptive @1 % over every shipped sample, on the default engine. */
async function ruleSummaries(all: Case[], workers: number): Promise<RuleSummary[]> {
  const out: RuleSummary[] = [];
  for (const c of all) {
    const client = new WorkerClient({ workerScript: path.join(__dirname, 'worker.js'), backend: 'wasm', workers });
    try {
      const job: ExplainJob = {
        modelPath: c.modelPath,
        inputs: allSamples(c),
        methods: ['ig'],
        target: 'top',
        output: 'logit',
        preprocess: c.preprocess,
        options: {},
        maxRows: 20,
      };
      const runRule = async (options: ExplainJob['options']) =>
        (await client.explain({ ...job, options }).result).inputs.filter((i) => !i.error).map((i) => i.results[0]!);
      const gl = await runRule({ steps: 50, rule: 'gauss-legendre' });
      const adaptive = await runRule({});
      const reference = await runRule({ steps: 1025, rule: 'trapezoid' });
      const trueErrors = adaptive.map((r, k) => relativeL1(reference[k]!.attribution.data, r.attribution.data));
      const estimates = adaptive.map((r) => r.accuracy?.mapError ?? Infinity);
      const deltas = (rs: typeof gl) => rs.map((r) => r.completeness?.relative ?? Infinity);
      const evaluations = adaptive.map((r) => r.timing.evaluations);
      out.push({
        model: c.name,
        inputs: gl.length,
        glEvaluations: gl[0]?.timing.evaluations ?? 0,
        glMedianDelta: median(deltas(gl)),
        glMaxDelta: Math.max(...deltas(gl)),
        glWithinTolerance: deltas(gl).filter((d) => d <= 0.01).length,
        adaptiveMeanEvaluations: evaluations.reduce((a, b) => a + b, 0) / evaluations.length,
        adaptiveMedianEvaluations: median(evaluations),
        adaptiveMaxEvaluations: Math.max(...evaluations),
        adaptiveMaxDelta: Math.max(...deltas(adaptive)),
        adaptiveWithinTolerance: deltas(adaptive).filter((d) => d <= 0.01).length,
        adaptiveMedianMs: median(adaptive.map((r) => r.timing.ms)),
        adaptiveMaxEstimate: Math.max(...estimates),
        adaptiveMaxTrueError: Math.max(...trueErrors),
        worstTrueOverEstimate: Math.max(...trueErrors.map((t, k) => t / estimates[k]!)),
      });
    } catch (err) {
      console.log(`${c.name}: rule comparison failed: ${(err as Error).message}`);
    } finally {
      await client.dispose();
    }
  }
  return out;
}

function ruleTable(rows: RuleSummary[]): string {
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  const header = [
    'model',
    'inputs',
    'GL-50 evals',
    'GL-50 median δ',
    'GL-50 max δ',
    'GL-50 ≤1%',
    'adaptive evals mean/median/max',
    'adaptive max δ',
    'adaptive ≤1%',
    'default median time',
    'max est. map error',
    'max true map error',
    'worst true/est.',
  ];
  const lines = rows.map((r) => [
    r.model,
    String(r.inputs),
    String(r.glEvaluations),
    pct(r.glMedianDelta),
    pct(r.glMaxDelta),
    `${r.glWithinTolerance}/${r.inputs}`,
    `${r.adaptiveMeanEvaluations.toFixed(1)} / ${r.adaptiveMedianEvaluations} / ${r.adaptiveMaxEvaluations}`,
    pct(r.adaptiveMaxDelta),
    `${r.adaptiveWithinTolerance}/${r.inputs}`,
    `${(r.adaptiveMedianMs / 1000).toFixed(1)} s`,
    pct(r.adaptiveMaxEstimate),
    pct(r.adaptiveMaxTrueError),
    r.worstTrueOverEstimate.toFixed(2),
  ]);
  return textTable(header, lines);
}

/**
 * The zoo's image models with every shipped sample, for the per-sample map-error rows (adaptive and
 * GL-50, both honesty ratios). Run alone with PATHLENS_BENCH_MAP_ERROR_ONLY=1; the full bench's rule
 * summary already carries the true error against its own reference, so it is not computed twice.
 */
/** Samples per model for those rows (all by default; fewer for a quick look). */
const MAP_ERROR_SAMPLES = Number(process.env.PATHLENS_BENCH_MAP_SAMPLES ?? Infinity);

function mapErrorCases(all: Case[]): MapErrorCase[] {
  return all
    .filter((c) => c.modelPath.startsWith(ZOO) && /\.(png|jpe?g)$/i.test(c.input))
    .map((c) => ({ name: c.name, modelPath: c.modelPath, inputs: allSamples(c).slice(0, MAP_ERROR_SAMPLES), preprocess: c.preprocess }));
}

async function mapErrorSection(selected: Case[]): Promise<Awaited<ReturnType<typeof mapErrorRows>>> {
  const rows = await mapErrorRows(mapErrorCases(selected), defaultWorkerCount(), (line) => console.log(line));
  console.log('\nIG to 2 % map error (wasm, every shipped sample): true error against a 1024-point midpoint reference');
  console.log(mapErrorTable(rows));
  return rows;
}

/**
 * Issue 19's fixed-cost rows (CLI phases cold and warm, time to 2 % map error on the 9 tm-objects
 * images against Captum, the second explanation on a warm worker with the host's event-loop lag).
 */
async function fixedCostSection(): Promise<Record<string, unknown>> {
  if (!fs.existsSync(path.join(ZOO, 'tm-objects/model.json'))) {
    console.log(`fixed cost: tm-objects not found in ${ZOO}; skipped`);
    return {};
  }
  const log = (line: string) => console.log(line);
  const second = await secondExplanation(__dirname, ZOO, defaultWorkerCount());
  const cli = await cliFixedCost(__dirname, ZOO, log);
  console.log('\nFixed cost of one CLI run over the 9 tm-objects images (wasm; cold = batch profile probed, warm = cached)');
  console.log(fixedCostTable(cli.rows));
  console.log('\nWhere the CPU goes while the inputs are computed (per-thread CPU time from /proc/self/task/*/schedstat)');
  console.log(computingTable(cli.computing));
  console.log('\nTime to 2 % map error (default adaptive IG, model load included) against Captum (target ≤ 0.7×)');
  console.log(accurateTable(cli.accurate));
  console.log(`Captum s: ${cli.accurate[0]?.captumSource}`);
  console.log('tfjs-node: not installed (an optional dependency that cannot install here), so no row for it');
  console.log('\nSecond explanation of the same model on a warm worker (this thread plays the extension host)');
  console.log(secondJobTable([second]));
  return {
    fixedCost: cli.rows,
    computingPhase: cli.computing,
    timeToAccurateMap: cli.accurate,
    cliRuns: { cold: cli.cold, warm: cli.warm },
    secondExplanation: second,
  };
}

/**
 * Issue 19 item 4: the default rule's evaluations and TRUE map error on the 9 tm-objects images (and the
 * zoo's other image models, for honesty) against cached dense references. Skipped with PATHLENS_BENCH_SKIP_TRUE_MAP=1; alone with PATHLENS_BENCH_TRUE_MAP_ONLY=1.
 */
async function trueMapErrorSection(): Promise<Record<string, unknown>> {
  if (process.env.PATHLENS_BENCH_SKIP_TRUE_MAP) return {};
  if (!fs.existsSync(path.join(ZOO, 'tm-objects/model.json'))) {
    console.log(`true map error: tm-objects not found in ${ZOO}; skipped`);
    return {};
  }
  const rows = await trueMapErrorRows(__dirname, ZOO, defaultWorkerCount(), (line) => console.log(line));
  console.log(
    `\nDefault IG on the 9 tm-objects images: evaluations and TRUE map error against ${REFERENCE_POINTS}-point trapezoid references`,
  );
  console.log(trueMapErrorTable(rows));
  const otherZoo = await otherZooRows(__dirname, ZOO, defaultWorkerCount(), (line) => console.log(line));
  console.log(`\nDefault IG on the zoo's other image models: the same against ${REFERENCE_POINTS}-point trapezoid references`);
  console.log(trueMapErrorTable(otherZoo));
  return { trueMapError: { date: new Date().toISOString(), referencePoints: REFERENCE_POINTS, rows, otherZoo } };
}

/** Writes `fields` into bench-results.json, keeping what a previous full run stored there. */
function mergeResults(fields: Record<string, unknown>): string {
  const out = path.join(ROOT, 'bench-results.json');
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, unknown>;
  } catch {
    /* first run */
  }
  fs.writeFileSync(out, JSON.stringify({ ...previous, ...fields }, null, 2));
  return out;
}

async function main(): Promise<void> {
  const only = process.env.PATHLENS_BENCH_ONLY?.split(',');
  if (process.env.PATHLENS_BENCH_FIXED_ONLY) {
    console.log(`\nwrote ${mergeResults({ fixedCostDate: new Date().toISOString(), ...(await fixedCostSection()) })}`);
    return;
  }
  if (process.env.PATHLENS_BENCH_MAP_ERROR_ONLY) {
    const mapError = await mapErrorSection(cases().filter((c) => !only || only.some((o) => c.name.includes(o))));
    fs.writeFileSync(path.join(ROOT, 'bench-map-error.json'), JSON.stringify({ date: new Date().toISOString(), mapError }, null, 2));
    return;
  }
  if (process.env.PATHLENS_BENCH_TRUE_MAP_ONLY) {
    console.log(`\nwrote ${mergeResults(await trueMapErrorSection())}`);
    return;
  }
  if (process.env.PATHLENS_BENCH_KERNELS_ONLY) {
    const kernelProfile = await kernelProfileSection(ZOO, (line) => console.log(line));
    fs.writeFileSync(path.join(ROOT, 'bench-kernels.json'), JSON.stringify({ date: new Date().toISOString(), kernelProfile }, null, 2));
    return;
  }
  const backends = await availableBackends();
  console.log(`backends: ${backends.join(', ')}; ${os.cpus().length} cores; node ${process.version}`);
  const rows: Row[] = [];
  const cores = defaultWorkerCount();
  const workerCounts = [...new Set([1, cores])];
  for (const c of cases().filter((c) => !only || only.some((o) => c.name.includes(o)))) {
    for (const backend of backends) {
      // Worker scaling is measured on the default engine and tfjs-node; the cpu fallback runs alone.
      for (const workers of backend === 'cpu' ? [1] : workerCounts) {
        const runs =
          c.name === 'tm-objects' && workers === cores && METHODS.has('guided-ig')
            ? [...RUNS, GUIDED_IG]
            : PATH_FAMILY_CASES.includes(c.name)
              ? [...RUNS, ...pathFamilyRuns()]
              : RUNS;
        try {
          for (const row of await benchCase(c, backend, workers, runs)) {
            rows.push(row);
            console.log(
              `${c.name} / ${backend} / ${workers} worker(s) / ${row.method}: ${row.wallMs.toFixed(0)} ms, ${row.evaluations} evaluations${row.note ? ` (${row.note})` : ''}`,
            );
          }
        } catch (err) {
          console.log(`${c.name} / ${backend} / ${workers} worker(s): failed: ${(err as Error).message}`);
        }
      }
    }
  }
  console.log('\n' + table(rows));
  const rules = await ruleSummaries(
    cases().filter((c) => !only || only.some((o) => c.name.includes(o))),
    defaultWorkerCount(),
  );
  console.log(
    '\nIG rules over every shipped sample (wasm): Gauss–Legendre 50 against the default (adaptive to 2 % map error and 1 % δ), true map error against 1025-point trapezoid',
  );
  console.log(ruleTable(rules));
  const limits = await limitRows(rows, cases());
  console.log('\nPhysical limit: FLOPs per evaluation (forward + input gradient) / single-thread matmul rate, per worker');
  console.log(limitTable(limits));
  const kernelProfile = await kernelProfileSection(ZOO, (line) => console.log(line));
  const fixed = await fixedCostSection();
  const trueMap = await trueMapErrorSection();
  const out = mergeResults({
    date: new Date().toISOString(),
    cores: os.cpus().length,
    node: process.version,
    rows,
    rules,
    limits,
    kernelProfile,
    ...fixed,
    ...trueMap,
  });
  console.log(`\nwrote ${out}`);
}

void main();
