/**
 * `pathlens evaluate` (faithfulness curves, ../shared/EVALUATION.md) and `pathlens evaluate merge`:
 * argument parsing, the per-input cache under --out that makes a rerun resume, the progress bar with
 * ETA, and the JSON / leaderboard output.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildReport, mergeShards, parseShard, reportFileName } from '../core/evaluate/result';
import { prepareOutputFolder, writeFileAtomic } from '../core/safety';
import { renderEvaluateHtml } from '../core/report/evaluateHtml';
import { PathLensError } from '../shared/errors';
import {
  evaluateSettingsRecord,
  METRIC_NAMES,
  type EvaluatedInput,
  type EvaluateReport,
  type MetricName,
  type SummaryRow,
} from '../shared/evaluate';
import type { EvaluateJob, EvaluatePlan, WorkerEvent } from '../shared/protocol';
import type { BackendChoice } from '../shared/types';
import { WorkerError, type WorkerClient } from '../worker/client';
import { modelFileStamp } from '../worker/jobs';
import {
  BACKENDS,
  memoryBudgetFrom,
  methodFlags,
  methodOptionsFrom,
  methodsFrom,
  oneOf,
  outputFrom,
  parseFlags,
  parseFlagsAndOperands,
  targetFrom,
  wholeNumber,
  type Usage,
} from './flags';

export const EVALUATE_HELP = `evaluate options (faithfulness curves; ../shared/EVALUATION.md):
  pathlens evaluate --model M --input <file|folder> [--input ...] --method <list> [options]
  --metric <list>        ${METRIC_NAMES.join(',')} (default: all)
  --eval-steps <N>       curve steps, N + 1 points (default: 20)
  --patch <p>            images: p×p patches as features (default: single pixels)
  --bootstrap <B>        bootstrap resamples of the 95 % interval of the mean (default: 1000)
  --seed <s>             seed of the bootstrap, the random reference ranking and the methods (default: 0)
  --shard <i/n>          evaluate only inputs j with j mod n = i − 1; writes evaluate-shard-i-of-n.json
  --out <dir>            write DIR/evaluate.json; per-input results are cached in DIR/.evaluate-cache
                         so a rerun resumes where it stopped
  method flags (--target, --output, --baseline, --steps, --rule, …) as for explain
  pathlens evaluate merge <result.json|folder> [...] [--json] [--out DIR]
`;

export type EvaluateCommand =
  | {
      kind: 'evaluate';
      job: EvaluateJob;
      bootstrap: number;
      backend: BackendChoice;
      out: string | null;
      json: boolean;
      verbose: boolean;
    }
  | { kind: 'evaluate-merge'; sources: string[]; out: string | null; json: boolean; verbose: boolean; backend: BackendChoice };

function metricsFrom(value: string | undefined, usage: Usage): MetricName[] {
  const names = methodsFrom(value, METRIC_NAMES.join(','));
  for (const name of names) oneOf(name, METRIC_NAMES, '--metric', usage);
  if (names.length === 0) throw usage(`--metric needs at least one of ${METRIC_NAMES.join(', ')}`);
  // Canonical order, no repeats: shards given the same set in another order still merge.
  return METRIC_NAMES.filter((m) => names.includes(m));
}

export function parseEvaluateCommand(argv: string[], usage: Usage): EvaluateCommand {
  if (argv[0] === 'merge') {
    const mergeFlags = { json: { type: 'boolean' }, out: { type: 'string' }, verbose: { type: 'boolean' } } as const;
    const parsed = parseFlagsAndOperands(argv.slice(1), mergeFlags, usage);
    if (parsed.positionals.length === 0) throw usage('evaluate merge needs shard results: <result.json|folder> [...]');
    const out = parsed.values.out as string | undefined;
    if (out !== undefined && out.trim() === '') throw usage("--out needs a folder (got '')");
    return {
      kind: 'evaluate-merge',
      sources: parsed.positionals,
      out: out ?? null,
      json: Boolean(parsed.values.json),
      verbose: Boolean(parsed.values.verbose),
      backend: 'cpu',
    };
  }
  const options = {
    ...methodFlags(),
    input: { type: 'string', multiple: true },
    workers: { type: 'string' },
    'max-rows': { type: 'string' },
    out: { type: 'string' },
    metric: { type: 'string' },
    'eval-steps': { type: 'string' },
    patch: { type: 'string' },
    bootstrap: { type: 'string' },
    shard: { type: 'string' },
  } as const;
  const v = parseFlags(argv, options, usage) as Record<string, string | boolean | string[] | undefined>;
  const str = (name: string) => v[name] as string | undefined;
  if (!v.model) throw usage('--model <model.json|.keras|.h5|.onnx> is required');
  const inputs = v.input as string[] | undefined;
  if (!inputs || inputs.length === 0) throw usage('--input <file|folder> is required (repeat it for several inputs)');
  const evalSteps = wholeNumber(str('eval-steps'), '--eval-steps', usage) ?? 20;
  const patch = wholeNumber(str('patch'), '--patch', usage) ?? null;
  let shard = null;
  if (str('shard') !== undefined) {
    try {
      shard = parseShard(str('shard')!);
    } catch (err) {
      throw usage((err as Error).message);
    }
  }
  const methodOptions = methodOptionsFrom(v as never, usage);
  const out = str('out');
  if (out !== undefined && out.trim() === '') throw usage("--out needs a folder (got '')");
  const job: EvaluateJob = {
    modelPath: str('model')!,
    inputs,
    methods: methodsFrom(str('method'), 'ig'),
    target: targetFrom(str('target'), usage),
    output: outputFrom(str('output'), usage),
    preprocess: str('preprocess'),
    options: methodOptions,
    memoryBudgetMB: memoryBudgetFrom(str('memory-budget-mb'), usage),
    maxRows: wholeNumber(str('max-rows'), '--max-rows', usage),
    workers: wholeNumber(str('workers'), '--workers', usage),
    metrics: metricsFrom(str('metric'), usage),
    evalSteps,
    patch,
    seed: methodOptions.seed ?? 0,
    shard,
    done: [],
  };
  return {
    kind: 'evaluate',
    job,
    bootstrap: wholeNumber(str('bootstrap'), '--bootstrap', usage) ?? 1000,
    backend: oneOf(str('backend'), BACKENDS, '--backend', usage) ?? 'auto',
    out: out ?? null,
    json: Boolean(v.json),
    verbose: Boolean(v.verbose),
  };
}

/** The cache folder of one set of settings: a rerun with other settings never reuses an entry. */
function cacheFolder(out: string, job: EvaluateJob): string {
  const { modelPath, inputs, methods, target, output, preprocess, options, maxRows, metrics, evalSteps, patch, seed } = job;
  const key = JSON.stringify({
    model: path.resolve(modelPath),
    // A retrained or replaced model (same path, other weights) must not be served the old results.
    modelFiles: modelFileStamp(modelPath),
    inputs: inputs.map((i) => path.resolve(i)),
    methods,
    target,
    output,
    preprocess,
    options,
    maxRows,
    metrics,
    evalSteps,
    patch,
    seed,
  });
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return path.join(out, '.evaluate-cache', hash);
}

/** Cached entries by input position; unreadable or failed ones are recomputed. */
function readCache(folder: string): Map<number, EvaluatedInput> {
  const entries = new Map<number, EvaluatedInput>();
  if (!fs.existsSync(folder)) return entries;
  for (const name of fs.readdirSync(folder)) {
    const match = /^input-(\d+)\.json$/.exec(name);
    if (!match) continue;
    try {
      const entry = JSON.parse(fs.readFileSync(path.join(folder, name), 'utf8')) as EvaluatedInput;
      if (entry.index === Number(match[1]) && !entry.error) entries.set(entry.index, entry);
    } catch {
      // A torn or foreign file: recompute that input.
    }
  }
  return entries;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

/** `[####......] 12/40 inputs · 3.1 s/input · ETA 1m27s` at most once a second (and at the end). */
export function progressBar(print: (line: string) => void, total: number, now = () => Date.now(), intervalMs = 1000) {
  const started = now();
  let last = -Infinity;
  return (done: number) => {
    const t = now();
    if (t - last < intervalMs && done < total) return;
    last = t;
    const width = 24;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    const perInput = done > 0 ? (t - started) / 1000 / done : NaN;
    print(
      `  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} inputs · ${Number.isFinite(perInput) ? `${perInput.toFixed(2)} s/input` : '…'} · ETA ${formatDuration(perInput * (total - done))}`,
    );
  };
}

function leaderboard(rows: SummaryRow[]): string {
  const lines: string[] = [];
  for (const metric of METRIC_NAMES) {
    const of = rows.filter((r) => r.metric === metric).sort((a, b) => a.rank - b.rank);
    if (of.length === 0) continue;
    lines.push(`${metric} (${of[0]!.score}, ${of[0]!.better} is better, n = ${of[0]!.n})`);
    for (const r of of)
      lines.push(
        `  ${String(r.rank).padStart(2)}  ${r.method.padEnd(20)} ${r.mean.toFixed(4).padStart(10)}  95% CI [${r.ci95[0].toFixed(4)}, ${r.ci95[1].toFixed(4)}]`,
      );
  }
  return lines.join('\n');
}

function emitReport(report: EvaluateReport, out: string | null, json: boolean, stderr: (line: string) => void): void {
  const text = JSON.stringify(report, null, 2) + '\n';
  if (out) {
    const folder = prepareOutputFolder(out);
    const file = writeFileAtomic(folder, reportFileName(report.shard), text);
    // Shards share a folder and are merged later: only a whole run gets the HTML report.
    if (!report.shard) writeFileAtomic(folder, 'evaluate.html', renderEvaluateHtml(report));
    stderr(`wrote ${file}${report.shard ? '' : ` and ${path.join(folder, 'evaluate.html')}`}`);
  }
  process.stdout.write(json ? text : leaderboard(report.summary) + '\n');
}

export async function runEvaluateCommand(
  client: WorkerClient,
  command: Extract<EvaluateCommand, { kind: 'evaluate' }>,
  setRunning: (job: { cancel(): void }) => void,
  stderr: (line: string) => void,
): Promise<number> {
  const { job, out } = command;
  const cache = out ? cacheFolder(prepareOutputFolder(out), job) : null;
  const cached = cache ? readCache(cache) : new Map<number, EvaluatedInput>();
  const fresh: EvaluatedInput[] = [];
  let bar: ((done: number) => void) | null = null;
  let plan: EvaluatePlan | null = null;
  const running = client.evaluate({ ...job, done: [...cached.keys()] }, (event: WorkerEvent) => {
    if (event.kind === 'evaluate-plan') {
      plan = event.plan;
      const skipped = plan.inShard - plan.todo;
      stderr(
        `pathlens: evaluating ${job.methods.join(', ')} + random on ${plan.todo} inputs${skipped ? ` (${skipped} done earlier, from the cache)` : ''} (backend ${plan.backend})`,
      );
      bar = progressBar(stderr, plan.todo);
      bar(0);
    } else if (event.kind === 'evaluate-input') {
      fresh.push(event.input);
      if (cache && !event.input.error) {
        fs.mkdirSync(cache, { recursive: true });
        writeFileAtomic(cache, `input-${event.input.index}.json`, JSON.stringify(event.input));
      }
      bar?.(fresh.length);
    }
  });
  setRunning(running);
  let final: EvaluatePlan;
  try {
    final = await running.result;
  } catch (err) {
    // A usage error found once the model is known (--patch on a table) exits 2 like the others.
    if (err instanceof WorkerError && err.code === 'usage') {
      stderr(`pathlens: ${err.message}\nRun 'pathlens help' for usage.`);
      return 2;
    }
    throw err;
  }
  plan = plan ?? final;
  const kept = [...cached.values()].filter(
    (entry) => entry.index < final.inputs && (job.shard === null || entry.index % job.shard.count === job.shard.index - 1),
  );
  const report = buildReport(evaluateSettingsRecord(job, final, command.bootstrap), job.shard, [...kept, ...fresh]);
  emitReport(report, out, command.json, stderr);
  const failed = report.inputs.filter((i) => i.error);
  for (const f of failed) stderr(`pathlens: ${f.path}: ${f.error}`);
  return failed.length > 0 ? 1 : 0;
}

/** Shard result files named directly, or every evaluate-shard-*.json in a named folder. */
function shardFiles(sources: string[]): string[] {
  return sources.flatMap((source) => {
    let stat;
    try {
      stat = fs.statSync(source);
    } catch {
      throw new PathLensError('evaluate', `${source}: no such file or folder`);
    }
    if (!stat.isDirectory()) return [source];
    const files = fs
      .readdirSync(source)
      .filter((name) => /^evaluate-shard-\d+-of-\d+\.json$/.test(name))
      .sort()
      .map((name) => path.join(source, name));
    if (files.length === 0) throw new PathLensError('evaluate', `${source} holds no evaluate-shard-*.json files`);
    return files;
  });
}

export function runEvaluateMerge(command: Extract<EvaluateCommand, { kind: 'evaluate-merge' }>, stderr: (line: string) => void): number {
  const shards = shardFiles(command.sources).map((file) => {
    let report: EvaluateReport;
    try {
      report = JSON.parse(fs.readFileSync(file, 'utf8')) as EvaluateReport;
    } catch (err) {
      throw new PathLensError('evaluate', `${file} is not an evaluate result (${(err as Error).message.split('\n')[0]})`);
    }
    if (typeof report !== 'object' || report === null || !Array.isArray(report.inputs) || !Array.isArray(report.methods))
      throw new PathLensError('evaluate', `${file} is not an evaluate result (no inputs/methods)`);
    return { file, report };
  });
  emitReport(mergeShards(shards), command.out, command.json, stderr);
  return 0;
}
