/**
 * Bench rows for issue 19's fixed cost and time to an accurate map:
 * - "fixed cost": the CLI over every tm-objects sample in one process (`PATHLENS_TIMINGS=1`), phase by
 *   phase, with the batch profile probed (cold: no cache) and read from the cache (warm): start-up to
 *   the first progress event, the computing phase, and from the last map to the process's exit;
 * - "while computing": inputs run at once, so the time splits by thread, not by input: each thread's
 *   CPU time (pool threads, coordinator, main, V8's helpers) over the computing phase's wall;
 * - "time to 2 % map error": the same runs' wall time (model load included, default adaptive IG at
 *   map tolerance 0.02) against Captum's for the 9 images: bench/captum-tm-objects.json (the side-by-side
 *   run on this machine, scripts/dev/captum-side-by-side) when present, else the issue's 16.5 s;
 * - "second explanation": the extension's path in process (this thread plays the host): time from a
 *   second job's request to its first progress event on a warm worker, and the host's event-loop p99.
 * Medians over `PATHLENS_BENCH_FIXED_REPEATS` runs (default 3): the CPU is shared.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WorkerClient } from '../src/worker/client';
import type { RunTimingsReport } from '../src/cli/timings';
import type { ExplainResult } from '../src/core/types';
import type { ExplainJob, WorkerEvent } from '../src/shared/protocol';
import { textTable } from './table';

/** Captum's cheapest configuration reaching 2 % on all 9 tm-objects images (issue 19), and the target ratio. */
export const CAPTUM_SECONDS = 16.5;
export const TARGET_RATIO = 0.7;
/** The side-by-side measurement on this machine (scripts/dev/captum-side-by-side/side_by_side.py), when present. */
export const CAPTUM_RESULT_FILE = path.resolve(__dirname, '..', 'bench/captum-tm-objects.json');

/** Captum's time to 2 % on the 9 images: the side-by-side file's figure when it has one, else the issue's. */
export function captumFigure(file = CAPTUM_RESULT_FILE): { seconds: number; source: string } {
  const issue = { seconds: CAPTUM_SECONDS, source: "issue 19's figure (another machine)" };
  let json: {
    captumSeconds?: unknown;
    captumSecondsUnderLoad?: unknown;
    timing?: { measuredAt?: unknown; mode?: unknown; bestInternalBatchSize?: unknown; maxLoadAverage?: unknown };
  };
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return issue; // no side-by-side measurement here
  }
  const seconds = json.captumSeconds;
  const t = json.timing ?? {};
  if (typeof seconds !== 'number' || !(seconds > 0)) {
    const why = json.captumSecondsUnderLoad ? `its timing was taken at load average ${t.maxLoadAverage}` : 'it has no captumSeconds';
    return { ...issue, source: `${issue.source}; not ${path.basename(file)}: ${why} (rerun side_by_side.py --quick when quiet)` };
  }
  return {
    seconds,
    source: `${path.basename(file)}: PyTorch ${t.mode ?? ''} run ${t.measuredAt ?? ''}, GL per image, internal_batch_size ${t.bestInternalBatchSize ?? '?'}`,
  };
}
const CAPTUM = captumFigure();
const REPEATS = Number(process.env.PATHLENS_BENCH_FIXED_REPEATS ?? 3);

const median = (values: number[]) => {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface CliRun {
  wallMs: number;
  /** The spawn and the child's exit ('close') on the epoch clock, to compare with the child's own times. */
  spawnEpochMs: number;
  exitEpochMs: number;
  timings: RunTimingsReport;
  evaluations: number;
  /** Evaluations per input, in order. */
  inputEvaluations: number[];
  maxMapError: number;
  converged: number;
  inputs: number;
}

/** One `pathlens explain` process over `inputs`; its timings line and JSON result. */
function runCli(cli: string, modelPath: string, inputs: string, cacheDir: string): Promise<CliRun> {
  const started = performance.now();
  const spawnEpochMs = performance.timeOrigin + started;
  const child = spawn(process.execPath, [cli, 'explain', '--model', modelPath, '--input', inputs, '--method', 'ig', '--json'], {
    env: { ...process.env, PATHLENS_TIMINGS: '1', PATHLENS_CACHE_DIR: cacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => stdout.push(d));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const exitEpochMs = performance.timeOrigin + performance.now();
      const wallMs = performance.now() - started;
      const line = stderr.split('\n').find((l) => l.startsWith('pathlens timings: '));
      if (code !== 0 || !line) return reject(new Error(`CLI exited with ${code}: ${stderr.split('\n').slice(-3).join(' ')}`));
      const result = JSON.parse(Buffer.concat(stdout).toString()) as ExplainResult;
      const maps = result.inputs.flatMap((i) => i.results);
      resolve({
        wallMs,
        spawnEpochMs,
        exitEpochMs,
        timings: JSON.parse(line.slice('pathlens timings: '.length)) as RunTimingsReport,
        evaluations: maps.reduce((a, r) => a + r.timing.evaluations, 0),
        inputEvaluations: result.inputs.map((i) => i.results.reduce((a, r) => a + r.timing.evaluations, 0)),
        maxMapError: Math.max(...maps.map((r) => r.accuracy?.mapError ?? Infinity)),
        converged: maps.filter((r) => r.accuracy?.converged).length,
        inputs: result.inputs.length,
      });
    });
  });
}

/** Wall time of `node -e 0`: the process start (exec, Node bootstrap, exit) no code of ours can shorten. */
function bareNodeMs(): number {
  const times = Array.from({ length: 5 }, () => {
    const t = performance.now();
    execFileSync(process.execPath, ['-e', '0']);
    return performance.now() - t;
  });
  return median(times);
}

export interface FixedCostRow {
  phase: string;
  coldMs: number;
  warmMs: number;
  note: string;
}

const phaseMs = (run: CliRun, name: string) => run.timings.phases.find((p) => p.phase === name)?.ms ?? NaN;
const phaseDetail = (run: CliRun, name: string) => run.timings.phases.find((p) => p.phase === name)?.detail ?? '';
/** The last input's result, from the job's submission (inputs are computed at once: any may end last). */
const lastMapMs = (run: CliRun) => Math.max(...run.timings.inputDoneMs);
/** A time the child measured from its job's submission, on the bench's clock from the spawn. */
const sinceSpawn = (run: CliRun, sinceSubmitMs: number) =>
  run.timings.timeOriginEpochMs + run.timings.submittedAtMs + sinceSubmitMs - run.spawnEpochMs;
/** Computing: from the first progress event to the last input's result. */
const computingMs = (run: CliRun) => lastMapMs(run) - run.timings.firstProgressMs;

function fixedCostRows(cold: CliRun[], warm: CliRun[], bareMs: number): FixedCostRow[] {
  const row = (phase: string, of: (r: CliRun) => number, note = ''): FixedCostRow => ({
    phase,
    coldMs: median(cold.map(of)),
    warmMs: median(warm.map(of)),
    note,
  });
  return [
    { phase: 'process start + exit (node -e 0)', coldMs: bareMs, warmMs: bareMs, note: 'exec, Node bootstrap, exit: outside PathLens' },
    row('  Node bootstrap (in process)', (r) => r.timings.processStartMs),
    row('CLI module load', (r) => r.timings.moduleLoadMs, 'dist/cli.js'),
    row('worker start (spawn → ready)', (r) => r.timings.worker?.readyMs ?? NaN),
    row('  worker bundle load', (r) => r.timings.worker?.moduleLoadMs ?? NaN, 'dist/worker.js in the thread'),
    row('  backend init (wasm)', (r) => r.timings.worker?.backendInitMs ?? NaN),
    row('model load (coordinator)', (r) => phaseMs(r, 'model load')),
    row('inputs (decode 9 JPEGs)', (r) => phaseMs(r, 'inputs')),
    row('pool start (threads + their model loads)', (r) => phaseMs(r, 'pool start'), 'from the job start, overlaps the model load'),
    row('batch profile', (r) => phaseMs(r, 'batch profile'), `cold: ${phaseDetail(cold[0]!, 'batch profile')}`),
    row('job request → computing (first progress)', (r) => r.timings.firstProgressMs),
    row('process spawn → computing (first progress)', (r) => sinceSpawn(r, r.timings.firstProgressMs), 'start-up on the critical path'),
    row('computing (first progress → last map)', computingMs, 'all inputs, up to threads + 1 at once'),
    row('  ms per evaluation while computing', (r) => computingMs(r) / r.evaluations, 'computing wall / evaluations (all threads)'),
    row('last map → result written (--json to stdout)', (r) => r.timings.writtenMs - lastMapMs(r), 'serialisation on the main thread'),
    row('last map → process exit', (r) => r.exitEpochMs - r.spawnEpochMs - sinceSpawn(r, lastMapMs(r)), 'serialisation + teardown'),
    row(
      '  result written → process exit',
      (r) => r.exitEpochMs - r.spawnEpochMs - sinceSpawn(r, r.timings.writtenMs),
      'worker and pool teardown, exit',
    ),
    row('wall time, 9 images', (r) => r.wallMs),
  ];
}

export interface ComputingRow {
  measure: string;
  unit: string;
  cold: number;
  warm: number;
  note: string;
}

const threadsOf = (run: CliRun, role: string) => run.timings.threads.filter((t) => t.role === role);
const sumOf = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Where the CPU goes while computing (per-thread CPU from /proc: inputs overlap, so wall splits say little). */
function computingRows(cold: CliRun[], warm: CliRun[]): ComputingRow[] {
  const row = (measure: string, unit: string, of: (r: CliRun) => number, note = ''): ComputingRow => ({
    measure,
    unit,
    cold: median(cold.map(of)),
    warm: median(warm.map(of)),
    note,
  });
  const poolCpu = (r: CliRun) => threadsOf(r, 'evaluator').map((t) => t.computingCpuMs);
  const cores = os.availableParallelism();
  return [
    row('evaluations per second', '1/s', (r) => r.evaluations / (computingMs(r) / 1000), 'all inputs at once'),
    row('pool threads', 'count', (r) => threadsOf(r, 'evaluator').length),
    row('pool thread CPU (mean per thread)', 'ms', (r) => sumOf(poolCpu(r)) / poolCpu(r).length),
    row(
      'pool threads busy (CPU / computing wall, mean)',
      '%',
      (r) => (100 * sumOf(poolCpu(r))) / poolCpu(r).length / computingMs(r),
      '< 100: waiting for work or for a core',
    ),
    row(
      'coordinator CPU',
      'ms',
      (r) => sumOf(threadsOf(r, 'coordinator').map((t) => t.computingCpuMs)),
      'dispatch, panel sums, path points',
    ),
    row('main thread CPU', 'ms', (r) => sumOf(threadsOf(r, 'main').map((t) => t.computingCpuMs)), 'progress, results'),
    row('other threads CPU (V8 GC, compiler, libuv)', 'ms', (r) => sumOf(threadsOf(r, 'other').map((t) => t.computingCpuMs))),
    row(
      'process CPU / (wall × cores)',
      '%',
      (r) => (100 * sumOf(r.timings.threads.map((t) => t.computingCpuMs))) / computingMs(r) / cores,
      `${cores} cores`,
    ),
    row('whole run: coordinator CPU', 'ms', (r) => sumOf(threadsOf(r, 'coordinator').map((t) => t.cpuMs)), 'spawn → report'),
    row('whole run: main thread CPU', 'ms', (r) => sumOf(threadsOf(r, 'main').map((t) => t.cpuMs))),
    row('writing the result: main thread CPU', 'ms', (r) => sumOf(threadsOf(r, 'main').map((t) => t.writingCpuMs)), 'last map → written'),
  ];
}

export interface TimeToAccurateRow {
  mode: string;
  runs: number;
  wallSeconds: number;
  evaluations: number;
  maxEstimatedMapError: number;
  converged: string;
  captumSeconds: number;
  /** Where captumSeconds comes from (the side-by-side file or the issue). */
  captumSource: string;
  ratio: number;
  targetMet: boolean;
}

function accurateRow(mode: string, runs: CliRun[]): TimeToAccurateRow {
  const wallSeconds = median(runs.map((r) => r.wallMs)) / 1000;
  return {
    mode,
    runs: runs.length,
    wallSeconds,
    evaluations: median(runs.map((r) => r.evaluations)),
    maxEstimatedMapError: Math.max(...runs.map((r) => r.maxMapError)),
    converged: `${Math.min(...runs.map((r) => r.converged))}/${runs[0]!.inputs}`,
    captumSeconds: CAPTUM.seconds,
    captumSource: CAPTUM.source,
    ratio: wallSeconds / CAPTUM.seconds,
    targetMet: wallSeconds / CAPTUM.seconds <= TARGET_RATIO,
  };
}

/** Cold runs (no profile cache anywhere) and warm runs (the cache the first cold run wrote), alternated. */
export async function cliFixedCost(
  distDir: string,
  zoo: string,
  log: (line: string) => void,
): Promise<{ rows: FixedCostRow[]; computing: ComputingRow[]; accurate: TimeToAccurateRow[]; cold: CliRun[]; warm: CliRun[] }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-bench-fixed-'));
  const modelDir = path.join(work, 'tm-objects');
  fs.cpSync(path.join(zoo, 'tm-objects'), modelDir, { recursive: true });
  fs.chmodSync(modelDir, 0o755); // the zoo is read-only; the copy takes the profile cache
  const cli = path.join(distDir, 'cli.js');
  const modelPath = path.join(modelDir, 'model.json');
  const samples = path.join(modelDir, 'samples');
  const cacheDir = path.join(work, 'user-cache');
  const cold: CliRun[] = [];
  const warm: CliRun[] = [];
  const bare = bareNodeMs();
  for (let k = 0; k < REPEATS; k++) {
    fs.rmSync(path.join(modelDir, '.pathlens'), { recursive: true, force: true });
    fs.rmSync(cacheDir, { recursive: true, force: true });
    cold.push(await runCli(cli, modelPath, samples, cacheDir));
    log(`fixed cost: cold run ${k + 1}/${REPEATS}: ${(cold[k]!.wallMs / 1000).toFixed(1)} s, ${cold[k]!.evaluations} evaluations`);
    warm.push(await runCli(cli, modelPath, samples, cacheDir));
    log(`fixed cost: warm run ${k + 1}/${REPEATS}: ${(warm[k]!.wallMs / 1000).toFixed(1)} s, ${warm[k]!.evaluations} evaluations`);
  }
  fs.rmSync(work, { recursive: true, force: true });
  const accurate = [accurateRow('cold (batch profile probed)', cold), accurateRow('warm (batch profile cached)', warm)];
  return { rows: fixedCostRows(cold, warm, bare), computing: computingRows(cold, warm), accurate, cold, warm };
}

const figure = (v: number) => (!Number.isFinite(v) ? '—' : Math.abs(v) < 100 ? v.toFixed(1) : v.toFixed(0));

export function fixedCostTable(rows: FixedCostRow[]): string {
  return textTable(
    ['phase', 'cold ms (median)', 'warm ms (median)', 'note'],
    rows.map((r) => [r.phase, figure(r.coldMs), figure(r.warmMs), r.note]),
  );
}

export function computingTable(rows: ComputingRow[]): string {
  return textTable(
    ['while computing (first progress → last map)', 'unit', 'cold (median)', 'warm (median)', 'note'],
    rows.map((r) => [r.measure, r.unit, figure(r.cold), figure(r.warm), r.note]),
  );
}

export function accurateTable(rows: TimeToAccurateRow[]): string {
  return textTable(
    [
      'tm-objects, 9 images, one CLI process',
      'runs',
      'wall s (median)',
      'evaluations',
      'max est. map error',
      'converged',
      'Captum s',
      'ratio',
      '≤ 0.7',
    ],
    rows.map((r) => [
      r.mode,
      String(r.runs),
      r.wallSeconds.toFixed(1),
      String(r.evaluations),
      `${(r.maxEstimatedMapError * 100).toFixed(2)}%`,
      r.converged,
      r.captumSeconds.toFixed(1),
      r.ratio.toFixed(2),
      r.targetMet ? 'yes' : 'no',
    ]),
  );
}

export interface SecondJobRow {
  model: string;
  runs: number;
  firstJobToProgressMs: number;
  secondJobToProgressMs: number;
  secondJobToFirstResultMs: number;
  hostLagP99Ms: number;
  hostLagMaxMs: number;
}

/** Time from a job's request to its first progress event (computation started) and first result. */
async function timedJob(client: WorkerClient, job: ExplainJob): Promise<{ progressMs: number; resultMs: number }> {
  const started = performance.now();
  let progressMs = NaN;
  let resultMs = NaN;
  const onEvent = (e: WorkerEvent) => {
    if (e.kind === 'progress' && Number.isNaN(progressMs)) progressMs = performance.now() - started;
    if (e.kind === 'result' && Number.isNaN(resultMs)) resultMs = performance.now() - started;
  };
  const result = await client.explain(job, onEvent).result;
  if (result.inputs[0]?.error) throw new Error(result.inputs[0].error);
  return { progressMs, resultMs };
}

/**
 * The extension's warm path: one worker (with its pool) kept alive, a first job on the model, then
 * second jobs on other samples of the same model; this thread's event-loop delay is sampled throughout.
 */
export async function secondExplanation(distDir: string, zoo: string, workers: number): Promise<SecondJobRow> {
  const samples = fs.readdirSync(path.join(zoo, 'tm-objects/samples')).sort();
  const job = (k: number): ExplainJob => ({
    modelPath: path.join(zoo, 'tm-objects/model.json'),
    inputs: [path.join(zoo, 'tm-objects/samples', samples[k % samples.length]!)],
    methods: ['ig'],
    target: 'top',
    output: 'logit',
    options: {},
  });
  // As the extension starts it: compute threads below this (host) thread's priority.
  const client = new WorkerClient({ workerScript: path.join(distDir, 'worker.js'), backend: 'wasm', workers, lowPriority: true });
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  try {
    const first = await timedJob(client, job(0));
    const seconds: { progressMs: number; resultMs: number }[] = [];
    for (let k = 1; k <= REPEATS; k++) seconds.push(await timedJob(client, job(k)));
    return {
      model: 'tm-objects',
      runs: seconds.length,
      firstJobToProgressMs: first.progressMs,
      secondJobToProgressMs: median(seconds.map((s) => s.progressMs)),
      secondJobToFirstResultMs: median(seconds.map((s) => s.resultMs)),
      hostLagP99Ms: lag.percentile(99) / 1e6,
      hostLagMaxMs: lag.max / 1e6,
    };
  } finally {
    lag.disable();
    await client.dispose();
  }
}

export function secondJobTable(rows: SecondJobRow[]): string {
  return textTable(
    [
      'model',
      'second jobs',
      'first job → progress ms',
      'second job → progress ms (median)',
      '→ first map ms',
      'host lag p99 ms',
      'host lag max ms',
    ],
    rows.map((r) => [
      r.model,
      String(r.runs),
      r.firstJobToProgressMs.toFixed(0),
      r.secondJobToProgressMs.toFixed(0),
      r.secondJobToFirstResultMs.toFixed(0),
      r.hostLagP99Ms.toFixed(1),
      r.hostLagMaxMs.toFixed(1),
    ]),
  );
}
