/**
 * `pathlens neurons`: which units of a layer carry a prediction (total conductance or layer IG), or —
 * with --region — which units explain a rectangle of the input. Prints a ranked table, or JSON.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { NEURON_METHODS, type NeuronMethod, type NeuronsResult, type Region } from '../shared/neurons';
import type { NeuronsJob, WorkerEvent } from '../shared/protocol';
import type { BackendChoice } from '../shared/types';
import { NEURON_DEFAULTS } from '../core/neurons/analyze';
import { QUADRATURE_RULES } from '../core/path/quadrature';
import { MAX_STEPS } from '../core/safety/limits';
import type { RunningJob, WorkerClient } from '../worker/client';
import { BACKENDS, memoryBudgetFrom, oneOf, outputFrom, targetFrom, wholeNumber, type Usage, parseFlags } from './flags';
import { progressPrinter } from './progress';

export const NEURONS_HELP = `neurons options (pathlens neurons --model M --input X --layer L [options]):
  --layer <name>         the layer (or graph node) to split the model at; its output after its built-in
                         activation (pathlens info lists layers and shapes)
  --method <m>           conductance (default): Σ_j w_j ∂F/∂h_k · dh_k/dα at each path point; the units'
                         shares sum to F(x) − F(x'). layer-ig: IG in the layer's activation space
                         (Captum LayerIntegratedGradients)
  --region x0,y0,x1,y1   conductance restricted to a rectangle of input pixels (x = column, y = row,
                         end exclusive, all channels): the units' shares sum to the region's IG mass
  --top <k>              units listed (default: ${NEURON_DEFAULTS.top})
  --steps <n>, --rule <r>
                         path quadrature (default: ${NEURON_DEFAULTS.steps}, ${NEURON_DEFAULTS.rule}; at most ${MAX_STEPS} points;
                         ${QUADRATURE_RULES.join(' | ')})
  --target, --output, --baseline, --preprocess, --backend, --memory-budget-mb, --seed: as for explain
  --json                 print the result JSON: {layer, method, shape, attribution: {data}, completeness,
                         top: [{index, value}], …}
  --out <dir>            also write neurons.json there
  Per-unit input maps: pathlens explain … --neuron <layer>:<row,col,channel | k> --method conductance|ig
`;

export interface NeuronsCommand {
  kind: 'neurons';
  job: NeuronsJob;
  backend: BackendChoice;
  json: boolean;
  out: string | null;
  verbose: boolean;
}

function regionFrom(value: string | undefined, usage: Usage): Region | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((v) => !Number.isInteger(v) || v < 0)) {
    throw usage(`--region must be four whole numbers x0,y0,x1,y1 (column, row, end exclusive) (got '${value}')`);
  }
  const [x0, y0, x1, y1] = parts as [number, number, number, number];
  if (x1 <= x0 || y1 <= y0) throw usage(`--region ${value} is empty: x1 must exceed x0 and y1 must exceed y0`);
  return { x0, y0, x1, y1 };
}

const NEURON_FLAGS = {
  model: { type: 'string' },
  input: { type: 'string' },
  layer: { type: 'string' },
  method: { type: 'string' },
  region: { type: 'string' },
  top: { type: 'string' },
  steps: { type: 'string' },
  rule: { type: 'string' },
  target: { type: 'string' },
  output: { type: 'string' },
  baseline: { type: 'string' },
  preprocess: { type: 'string' },
  backend: { type: 'string' },
  'memory-budget-mb': { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  out: { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseNeuronsCommand(argv: string[], usage: Usage): NeuronsCommand | { kind: 'help' } {
  const v = parseFlags(argv, NEURON_FLAGS, usage);
  if (v.help) return { kind: 'help' };
  if (!v.model) throw usage('--model <model file> is required');
  if (!v.input) throw usage('--input <file> is required (one input)');
  if (!v.layer) throw usage("--layer <name> is required ('pathlens info --model …' lists the layers)");
  const method: NeuronMethod = oneOf(v.method, NEURON_METHODS, '--method', usage) ?? 'conductance';
  const region = regionFrom(v.region, usage);
  if (region && method !== 'conductance') throw usage('--region needs --method conductance');
  const job: NeuronsJob = {
    modelPath: v.model,
    input: v.input,
    layer: v.layer,
    method,
    region,
    top: wholeNumber(v.top, '--top', usage),
    steps: wholeNumber(v.steps, '--steps', usage),
    rule: oneOf(v.rule, QUADRATURE_RULES, '--rule', usage),
    target: targetFrom(v.target, usage),
    output: outputFrom(v.output, usage),
    baseline: v.baseline,
    preprocess: v.preprocess,
    memoryBudgetMB: memoryBudgetFrom(v['memory-budget-mb'], usage),
    seed: wholeNumber(v.seed, '--seed', usage, Number.MIN_SAFE_INTEGER),
  };
  if (job.steps !== undefined && job.steps > MAX_STEPS) throw usage(`--steps must be at most ${MAX_STEPS} (got ${job.steps})`);
  const backend = oneOf(v.backend, BACKENDS, '--backend', usage) ?? 'auto';
  return { kind: 'neurons', job, backend, json: v.json ?? false, out: v.out ?? null, verbose: v.verbose ?? false };
}

function formatIndex(index: number[]): string {
  return index.length === 1 ? String(index[0]) : `[${index.join(', ')}]`;
}

export function formatNeurons(r: NeuronsResult): string {
  const result = r.result;
  if (!result) return `${r.input}: no layer result`;
  const c = result.completeness;
  const what = result.region
    ? `region x ${result.region.x0}–${result.region.x1}, y ${result.region.y0}–${result.region.y1}: Σ units ${c.sum.toFixed(4)} vs region IG ${c.expected.toFixed(4)}`
    : `Σ units ${c.sum.toFixed(4)} vs F(x) − F(x') ${c.expected.toFixed(4)}`;
  const lines = [
    `${r.input}: predicted ${r.prediction.label ?? r.prediction.index}; explaining ${r.target.label ?? r.target.index} (${r.target.output} ${r.target.score.toFixed(4)})`,
    `layer ${result.layer} [${result.shape.join(', ')}], ${result.method}, ${result.params.steps} points ${result.params.rule}, baseline ${result.params.baseline}`,
    `${what} (δ ${(c.relative * 100).toFixed(2)} %)`,
    `top units (${result.timing.ms.toFixed(0)} ms, ${result.timing.evaluations} evaluations):`,
    ...result.top.map((u, i) => `  ${String(i + 1).padStart(3)}. unit ${formatIndex(u.index).padEnd(16)} ${u.value.toPrecision(5)}`),
  ];
  return lines.join('\n');
}

export async function runNeuronsCommand(
  client: WorkerClient,
  command: NeuronsCommand,
  track: (job: RunningJob<NeuronsResult>) => void,
  stderr: (line: string) => void,
): Promise<number> {
  const backend = await client.start();
  if (!command.json)
    stderr(`pathlens: neurons of ${command.job.layer} (${command.job.method}) on ${command.job.modelPath} (backend ${backend})`);
  const printProgress = progressPrinter(stderr);
  const job = client.neurons(command.job, (event: WorkerEvent) => {
    if (event.kind === 'progress') printProgress(event.progress);
  });
  track(job);
  const result = await job.result;
  const json = JSON.stringify({
    model: result.modelPath,
    input: result.input,
    prediction: result.prediction,
    target: result.target,
    ...result.result,
  });
  if (command.out) {
    await mkdir(command.out, { recursive: true });
    const file = path.join(command.out, 'neurons.json');
    await writeFile(file, json + '\n');
    stderr(`wrote ${path.resolve(file)}`);
  }
  process.stdout.write((command.json ? json : formatNeurons(result)) + '\n');
  return 0;
}
