/**
 * The evaluate JSON (../shared/EVALUATION.md §9): settings, per-input entries ordered by index, and the
 * summary recomputed from them; shard selection and merging (§8) with their refusals.
 */
import { PathLensError } from '../errors';
import {
  RANDOM_METHOD,
  type EvaluateReport,
  type EvaluatedInput,
  type EvaluateSettingsRecord,
  type MetricName,
  type Shard,
  type SummaryRow,
} from '../../shared/evaluate';
import { metricScore } from './metrics';
import { summarize } from './summary';

export type { EvaluateReport, EvaluateSettingsRecord, Shard };

/** `--shard i/n` → {index, count}; null when absent. Usage errors name the rule broken. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match) throw new RangeError(`--shard must look like i/n (e.g. 2/8), got '${text}'`);
  const [index, count] = [Number(match[1]), Number(match[2])];
  if (count < 1) throw new RangeError(`--shard ${text}: the shard count must be at least 1`);
  if (index < 1 || index > count) throw new RangeError(`--shard ${text}: the shard index must be between 1 and ${count}`);
  return { index, count };
}

/** Whether input position j (0-based, unsharded order) belongs to the shard (round-robin). */
export function inShard(j: number, shard: Shard | null): boolean {
  return shard === null || j % shard.count === shard.index - 1;
}

export function reportFileName(shard: Shard | null): string {
  return shard ? `evaluate-shard-${shard.index}-of-${shard.count}.json` : 'evaluate.json';
}

/** Methods on the leaderboard: the requested ones, then the random reference. */
export function leaderboardMethods(methods: readonly string[]): string[] {
  return [...methods, RANDOM_METHOD];
}

/** The summary of a set of per-input entries (failed inputs are listed but not scored). */
export function summaryOf(
  settings: Pick<EvaluateSettingsRecord, 'methods' | 'metrics' | 'bootstrap' | 'seed'>,
  inputs: EvaluatedInput[],
): SummaryRow[] {
  const scored = inputs.filter((i) => !i.error);
  if (scored.length === 0) return [];
  const scores = (metric: MetricName, method: string) =>
    scored.map((input) => {
      const entry = input.results.find((r) => r.method === method)?.metrics[metric];
      if (!entry) throw new PathLensError('evaluate', `input ${input.index} (${input.path}) has no ${metric} result for ${method}`);
      return metricScore(metric, entry);
    });
  return summarize(settings.metrics, leaderboardMethods(settings.methods), scores, settings.bootstrap, settings.seed);
}

export function buildReport(settings: EvaluateSettingsRecord, shard: Shard | null, inputs: EvaluatedInput[]): EvaluateReport {
  const ordered = [...inputs].sort((a, b) => a.index - b.index);
  return {
    ...settings,
    shard,
    reference: { method: RANDOM_METHOD, seed: settings.seed },
    inputs: ordered,
    summary: summaryOf(settings, ordered),
  };
}

/** The fields two shards must share (everything but the shard, its inputs and its summary). */
export function settingsKey(report: EvaluateSettingsRecord): string {
  const { model, methods, metrics, evalSteps, patch, target, output, baseline, seed, bootstrap, options, preprocessing } = report;
  return JSON.stringify({
    model: model.path,
    methods,
    metrics,
    evalSteps,
    patch,
    target,
    output,
    baseline,
    seed,
    bootstrap,
    options,
    preprocessing,
  });
}

/** Joins shard reports into what the unsharded run outputs, or refuses with one line. */
export function mergeShards(shards: { file: string; report: EvaluateReport }[]): EvaluateReport {
  if (shards.length === 0) throw new PathLensError('evaluate', 'no shard results to merge (expected evaluate-shard-*.json files)');
  const unsharded = shards.find((s) => !s.report.shard);
  if (unsharded) throw new PathLensError('evaluate', `${unsharded.file} is not a shard result (it has no "shard" field)`);
  const count = shards[0]!.report.shard!.count;
  const key = settingsKey(shards[0]!.report);
  const seen = new Map<number, string>();
  for (const { file, report } of shards) {
    const shard = report.shard!;
    if (shard.count !== count)
      throw new PathLensError('evaluate', `${file} is shard ${shard.index}/${shard.count} but ${shards[0]!.file} is one of ${count}`);
    if (settingsKey(report) !== key)
      throw new PathLensError(
        'evaluate',
        `${file} comes from different settings than ${shards[0]!.file} (${differingField(report, shards[0]!.report)})`,
      );
    const previous = seen.get(shard.index);
    if (previous) throw new PathLensError('evaluate', `shard ${shard.index}/${count} is given twice: ${previous} and ${file}`);
    seen.set(shard.index, file);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length > 0)
    throw new PathLensError('evaluate', `shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count} missing`);
  const { shard: _shard, inputs: _inputs, summary: _summary, reference: _reference, ...settings } = shards[0]!.report;
  return buildReport(
    settings,
    null,
    shards.flatMap((s) => s.report.inputs),
  );
}

function differingField(a: EvaluateSettingsRecord, b: EvaluateSettingsRecord): string {
  const fields = [
    'model',
    'methods',
    'metrics',
    'evalSteps',
    'patch',
    'target',
    'output',
    'baseline',
    'seed',
    'bootstrap',
    'options',
    'preprocessing',
  ] as const;
  const differs = fields.filter(
    (f) => JSON.stringify(f === 'model' ? a.model.path : a[f]) !== JSON.stringify(f === 'model' ? b.model.path : b[f]),
  );
  return differs.length > 0 ? `${differs.join(', ')} differ` : 'settings differ';
}
