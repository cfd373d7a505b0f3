/**
 * Bench row "true map error of the default rule on tm-objects" (issue 19 item 4): for each of the 9
 * samples, the default IG (adaptive to an estimated 2 % map error and 1 % δ) with its evaluations and
 * estimate, and its TRUE map error ‖A − A*‖₁/‖A*‖₁ against a dense reference A* (trapezoid on
 * REFERENCE_POINTS points, the 2048-interval convention). References are computed once and
 * cached under ~/.cache/pathlens-bench/true-map/, keyed by the model's bytes, the input file's bytes,
 * the job's target/output/preprocess and the reference rule, so later runs only pay for the default rule.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { relativeL1 } from '../src/core/path/mapError';
import { WorkerClient } from '../src/worker/client';
import type { MethodResult } from '../src/core/types';
import type { ExplainJob } from '../src/shared/protocol';
import { textTable } from './table';

export const REFERENCE_POINTS = Number(process.env.PATHLENS_BENCH_REFERENCE_POINTS ?? 2049);
export const CACHE_DIR = process.env.PATHLENS_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'pathlens-bench', 'true-map');

export interface TrueMapErrorRow {
  input: string;
  evaluations: number;
  estimated: number;
  trueError: number;
  relativeDelta: number;
  converged: boolean;
  wallMs: number;
  /** Whether A* came from the cache (else it was computed in this run). */
  referenceCached: boolean;
}

/** SHA-256 of model.json and every weight file its manifest names (files of a trusted zoo model). */
export function modelBytesHash(modelPath: string): string {
  const hash = createHash('sha256');
  const text = fs.readFileSync(modelPath);
  hash.update(text);
  const manifest = (JSON.parse(text.toString('utf8')) as { weightsManifest?: { paths: string[] }[] }).weightsManifest ?? [];
  for (const group of manifest) for (const p of group.paths) hash.update(fs.readFileSync(path.join(path.dirname(modelPath), p)));
  return hash.digest('hex');
}

export function referenceKey(modelHash: string, input: string, job: Pick<ExplainJob, 'target' | 'output' | 'preprocess'>): string {
  return createHash('sha256')
    .update(modelHash)
    .update(fs.readFileSync(input))
    .update(
      JSON.stringify({
        target: job.target,
        output: job.output,
        preprocess: job.preprocess ?? null,
        rule: 'trapezoid',
        points: REFERENCE_POINTS,
      }),
    )
    .digest('hex')
    .slice(0, 32);
}

/** The cached reference map, or null when absent or not `size` floats long. */
export function readReference(key: string, size?: number): Float32Array | null {
  try {
    const buf = fs.readFileSync(path.join(CACHE_DIR, `${key}.f32`));
    const map = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    return size === undefined || map.length === size ? map : null;
  } catch {
    return null;
  }
}

export function writeReference(key: string, map: Float32Array, meta: Record<string, unknown>): void {
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  fs.writeFileSync(path.join(CACHE_DIR, `${key}.f32`), Buffer.from(map.buffer, map.byteOffset, map.byteLength));
  fs.writeFileSync(path.join(CACHE_DIR, `${key}.json`), JSON.stringify({ ...meta, date: new Date().toISOString() }, null, 2));
}

async function explainOne(client: WorkerClient, job: ExplainJob, input: string, options: ExplainJob['options']): Promise<MethodResult> {
  const out = await client.explain({ ...job, inputs: [input], options }, () => {}).result;
  const first = out.inputs[0]!;
  if (first.error) throw new Error(`${path.basename(input)}: ${first.error}`);
  return first.results[0]!;
}

async function reference(
  client: WorkerClient,
  job: ExplainJob,
  input: string,
  key: string,
): Promise<{ map: Float32Array; cached: boolean }> {
  const cached = readReference(key);
  if (cached) return { map: cached, cached: true };
  const result = await explainOne(client, job, input, { rule: 'trapezoid', steps: REFERENCE_POINTS });
  const map = Float32Array.from(result.attribution.data);
  writeReference(key, map, {
    model: job.modelPath,
    input,
    rule: 'trapezoid',
    points: REFERENCE_POINTS,
    target: job.target,
    output: job.output,
  });
  return { map, cached: false };
}

/** The default rule on one input, timed on its own, against its (cached) dense reference. */
async function measureRow(
  client: WorkerClient,
  job: ExplainJob,
  input: string,
  modelHash: string,
  label: string,
): Promise<TrueMapErrorRow> {
  const ref = await reference(client, job, input, referenceKey(modelHash, input, job));
  const started = performance.now();
  const result = await explainOne(client, job, input, {});
  return {
    input: label,
    evaluations: result.timing.evaluations,
    estimated: result.accuracy?.mapError ?? NaN,
    trueError: relativeL1(ref.map, result.attribution.data),
    relativeDelta: result.completeness?.relative ?? NaN,
    converged: result.accuracy?.converged ?? false,
    wallMs: performance.now() - started,
    referenceCached: ref.cached,
  };
}

/** The rows for every tm-objects sample, in one worker pool (the default rule timed on its own). */
export async function trueMapErrorRows(
  distDir: string,
  zoo: string,
  workers: number,
  log: (line: string) => void,
): Promise<TrueMapErrorRow[]> {
  const modelPath = path.join(zoo, 'tm-objects/model.json');
  const samples = fs
    .readdirSync(path.join(zoo, 'tm-objects/samples'))
    .sort()
    .slice(0, Number(process.env.PATHLENS_BENCH_TRUE_MAP_SAMPLES ?? Infinity));
  const job: ExplainJob = { modelPath, inputs: [], methods: ['ig'], target: 'top', output: 'logit', options: {} };
  const modelHash = modelBytesHash(modelPath);
  const client = new WorkerClient({ workerScript: path.join(distDir, 'worker.js'), backend: 'wasm', workers });
  const rows: TrueMapErrorRow[] = [];
  try {
    await client.start();
    for (const sample of samples) {
      const row = await measureRow(client, job, path.join(zoo, 'tm-objects/samples', sample), modelHash, sample);
      rows.push(row);
      log(`tm-objects ${sample}: ${row.evaluations} evaluations, estimated ${pct(row.estimated)}, true ${pct(row.trueError)}`);
    }
  } finally {
    await client.dispose();
  }
  return rows;
}

/** The zoo's other image models whose default maps must stay honest too (the cases of the dense grids). */
export const OTHER_ZOO_CASES = [
  { model: 'mobilenet-v1-025-graph', sample: 'tm-objects/samples/apple_a11.jpeg', preprocess: 'unit' },
  { model: 'sign-digits-64', sample: 'sign-digits-64/samples/0.jpeg', preprocess: 'unit' },
  { model: 'sign-digits-64', sample: 'sign-digits-64/samples/3.jpeg', preprocess: 'unit' },
  { model: 'mnist-cnn', sample: 'mnist-cnn/samples/sample_digit.png', preprocess: 'raw255' },
];

/** The same rows for OTHER_ZOO_CASES (models missing from the zoo are left out). */
export async function otherZooRows(distDir: string, zoo: string, workers: number, log: (line: string) => void): Promise<TrueMapErrorRow[]> {
  const client = new WorkerClient({ workerScript: path.join(distDir, 'worker.js'), backend: 'wasm', workers });
  const rows: TrueMapErrorRow[] = [];
  try {
    await client.start();
    for (const c of OTHER_ZOO_CASES) {
      const modelPath = path.join(zoo, c.model, 'model.json');
      if (!fs.existsSync(modelPath)) continue;
      const job: ExplainJob = {
        modelPath,
        inputs: [],
        methods: ['ig'],
        target: 'top',
        output: 'logit',
        preprocess: c.preprocess,
        options: {},
      };
      const label = `${c.model} ${path.basename(c.sample)}`;
      const row = await measureRow(client, job, path.join(zoo, c.sample), modelBytesHash(modelPath), label);
      rows.push(row);
      log(`${label}: ${row.evaluations} evaluations, estimated ${pct(row.estimated)}, true ${pct(row.trueError)}`);
    }
  } finally {
    await client.dispose();
  }
  return rows;
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

export function trueMapErrorTable(rows: TrueMapErrorRow[]): string {
  const total = rows.reduce((s, r) => s + r.evaluations, 0);
  const lines = rows.map((r) => [
    r.input,
    String(r.evaluations),
    pct(r.estimated),
    pct(r.trueError),
    (r.estimated / r.trueError).toFixed(2),
    pct(r.relativeDelta),
    r.converged ? 'yes' : 'no',
    (r.wallMs / 1000).toFixed(1),
    r.referenceCached ? 'cached' : 'computed',
  ]);
  const worst = Math.max(...rows.map((r) => r.trueError));
  lines.push([
    `all ${rows.length}`,
    String(total),
    '',
    `max ${pct(worst)}`,
    '',
    '',
    `${rows.filter((r) => r.converged).length}/${rows.length}`,
    '',
    '',
  ]);
  return textTable(
    ['input', 'evaluations', 'estimated', 'true', 'est/true', 'δ', 'converged', 'wall s', `A* (${REFERENCE_POINTS}-pt trapezoid)`],
    lines,
  );
}
