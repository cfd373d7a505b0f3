/**
 * Bench rows "IG to 2 % map error": per zoo image model and every shipped sample, the default IG
 * (adaptive, refining until the estimated map error ≤ 2 % and |δ| ≤ 1 %) and Gauss–Legendre 50, with
 * their evaluations, wall time, estimated map error and true map error against a 1024-point midpoint
 * reference the bench computes itself (the truth is known only here, never in the product).
 */
import * as path from 'node:path';
import { relativeL1 } from '../src/core/path/mapError';
import { WorkerClient } from '../src/worker/client';
import type { MethodResult } from '../src/core/types';
import type { ExplainJob } from '../src/shared/protocol';
import { textTable } from './table';

/** Points of the midpoint reference A*: its own map error is far below the 2 % being checked. */
export const REFERENCE_POINTS = 1024;

export interface MapErrorCase {
  name: string;
  modelPath: string;
  inputs: string[];
  preprocess?: string;
}

export interface MapErrorRow {
  model: string;
  rule: string;
  inputs: number;
  medianEvaluations: number;
  maxEvaluations: number;
  /** Wall time per input (the rule's own run, not the reference), median and max, ms. */
  medianWallMs: number;
  maxWallMs: number;
  medianEstimated: number;
  maxEstimated: number;
  medianTrue: number;
  maxTrue: number;
  /** Worst true/estimated and estimated/true over the inputs (honest: ≤ 1.5 and ≤ 4). */
  worstTrueOverEstimated: number;
  worstEstimatedOverTrue: number;
  converged: number;
}

const RULES: { label: string; options: ExplainJob['options'] }[] = [
  { label: 'IG to 2 % map error (default adaptive)', options: {} },
  { label: 'IG gauss-legendre 50', options: { rule: 'gauss-legendre', steps: 50 } },
];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

interface Measured {
  result: MethodResult;
  wallMs: number;
}

async function runOne(client: WorkerClient, job: ExplainJob, input: string, options: ExplainJob['options']): Promise<Measured> {
  const started = performance.now();
  const out = await client.explain({ ...job, inputs: [input], options }, () => {}).result;
  const wallMs = performance.now() - started;
  const first = out.inputs[0]!;
  if (first.error) throw new Error(first.error);
  return { result: first.results[0]!, wallMs };
}

function summarise(model: string, rule: string, runs: Measured[], truths: number[]): MapErrorRow {
  const estimated = runs.map((r) => r.result.accuracy?.mapError ?? NaN);
  const evaluations = runs.map((r) => r.result.timing.evaluations);
  const walls = runs.map((r) => r.wallMs);
  return {
    model,
    rule,
    inputs: runs.length,
    medianEvaluations: median(evaluations),
    maxEvaluations: Math.max(...evaluations),
    medianWallMs: median(walls),
    maxWallMs: Math.max(...walls),
    medianEstimated: median(estimated),
    maxEstimated: Math.max(...estimated),
    medianTrue: median(truths),
    maxTrue: Math.max(...truths),
    worstTrueOverEstimated: Math.max(...truths.map((t, i) => t / estimated[i]!)),
    worstEstimatedOverTrue: Math.max(...truths.map((t, i) => estimated[i]! / t)),
    converged: runs.filter((r) => r.result.accuracy?.converged).length,
  };
}

/** One model: the reference and every rule on each input, in one worker pool. */
async function modelRows(c: MapErrorCase, workers: number, log: (line: string) => void): Promise<MapErrorRow[]> {
  const client = new WorkerClient({ workerScript: path.join(__dirname, 'worker.js'), backend: 'wasm', workers });
  const job: ExplainJob = {
    modelPath: c.modelPath,
    inputs: [],
    methods: ['ig'],
    target: 'top',
    output: 'logit',
    preprocess: c.preprocess,
    options: {},
    maxRows: 1,
  };
  const measured = RULES.map(() => [] as Measured[]);
  const truths = RULES.map(() => [] as number[]);
  try {
    await client.start();
    for (const input of c.inputs) {
      const reference = await runOne(client, job, input, { rule: 'riemann-middle', steps: REFERENCE_POINTS });
      for (const [k, rule] of RULES.entries()) {
        const run = await runOne(client, job, input, rule.options);
        const truth = relativeL1(reference.result.attribution.data, run.result.attribution.data);
        measured[k]!.push(run);
        truths[k]!.push(truth);
        log(
          `${c.name} ${path.basename(input)} ${rule.label}: ${run.result.timing.evaluations} evaluations, ${run.wallMs.toFixed(0)} ms, ` +
            `estimated ${pct(run.result.accuracy?.mapError ?? NaN)}, true ${pct(truth)}`,
        );
      }
    }
  } finally {
    await client.dispose();
  }
  return RULES.map((rule, k) => summarise(c.name, rule.label, measured[k]!, truths[k]!));
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

export async function mapErrorRows(cases: MapErrorCase[], workers: number, log: (line: string) => void): Promise<MapErrorRow[]> {
  const rows: MapErrorRow[] = [];
  for (const c of cases) {
    try {
      rows.push(...(await modelRows(c, workers, log)));
    } catch (err) {
      log(`${c.name}: map-error rows failed: ${(err as Error).message}`);
    }
  }
  return rows;
}

export function mapErrorTable(rows: MapErrorRow[]): string {
  const header = [
    'model',
    'rule',
    'inputs',
    'evals median/max',
    'wall ms median/max',
    'est. median/max',
    'true median/max',
    'true/est max',
    'est/true max',
    'converged',
  ];
  const lines = rows.map((r) => [
    r.model,
    r.rule,
    String(r.inputs),
    `${r.medianEvaluations} / ${r.maxEvaluations}`,
    `${r.medianWallMs.toFixed(0)} / ${r.maxWallMs.toFixed(0)}`,
    `${pct(r.medianEstimated)} / ${pct(r.maxEstimated)}`,
    `${pct(r.medianTrue)} / ${pct(r.maxTrue)}`,
    r.worstTrueOverEstimated.toFixed(2),
    r.worstEstimatedOverTrue.toFixed(2),
    `${r.converged}/${r.inputs}`,
  ]);
  return textTable(header, lines);
}
