/**
 * `pathlens sanity`: argument parsing, running the check in the worker, and its outputs (text table,
 * JSON, and with --out a directory with sanity.json and grid.png).
 *
 * JSON (stdout with --json, and sanity.json): same conventions as explain's result.json — typed arrays
 * become number arrays, non-finite numbers become null. Per method: its verdict, its original map
 * (`original`, as in explain's results) and per step (layer or noise level) the similarity on every
 * metric. stdout leaves out the per-step maps (they can be large); sanity.json in --out has them as
 * `steps[i].attribution`.
 */
import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import * as path from 'node:path';
import { PathLensError } from '../shared/errors';
import { getMethod } from '../core/methods';
import { prepareOutputFolder, writeFileAtomic } from '../core/safety';
import { encodePng, isSpatial, renderOverlay, sanitizeForJson, type RgbaImageData } from '../core/report';
import { METRIC_LABELS, METRICS, type MetricName } from '../core/sanity/metrics';
import { DEFAULT_THRESHOLDS, SANITY_CHECKS, type SanityResult } from '../shared/sanity';
import { validateSanityRequest } from '../core/sanity/validate';
import type { BackendChoice } from '../shared/types';
import type { SanityJob, WorkerEvent } from '../shared/protocol';
import type { RunningJob, WorkerClient } from '../worker/client';
import {
  BACKENDS,
  memoryBudgetFrom,
  finiteNumber,
  methodFlags,
  methodOptionsFrom,
  methodsFrom,
  numberList,
  oneOf,
  outputFrom,
  targetFrom,
  wholeNumber,
  type Usage,
  parseFlags,
} from './flags';
import { progressPrinter } from './progress';

export const SANITY_HELP = `sanity options (pathlens sanity --model M --input I --method … --check …):
  --check <c>            ${SANITY_CHECKS.join(' | ')} (default: ${SANITY_CHECKS[0]})
                         cascading: re-initialise weighted layers from the output down, cumulatively
                         (each layer's own Keras initializer, else a seeded normal matching the trained
                         weights' std); independent: one layer at a time; perturbation: Gaussian noise
                         of --levels × each weight tensor's std, --draws models per level, only models
                         keeping the input's predicted class are used (counts reported)
  --input <file>         ONE input (image, .json tensor, or the first row of a .csv)
  --method <list>        methods as for explain (default: gradient,ig)
  --levels <list>        perturbation noise levels (default: 0.005,0.01,0.02,0.05,0.1)
  --draws <n>            perturbed models per level (default: 3)
  --seed <n>             seed of re-initialisations and noise (default: 0; reported)
  --metric <m>           verdict metric: ${METRICS.join(' | ')} (default: spearmanAbs)
  --randomization-threshold <t>
                         randomization passes when the metric falls below t (default: ${DEFAULT_THRESHOLDS.randomization})
  --independent-share <s>
                         independent passes when ≥ s of the layers each change the map (default: ${DEFAULT_THRESHOLDS.independentShare})
  --stability-threshold <t>
                         a perturbation level is stable when the mean metric ≥ t (default: ${DEFAULT_THRESHOLDS.stability})
  --top-k <f>            fraction for the top-k% intersection metric (default: 0.1)
  --target, --output, --baseline, --steps, --rule, method flags, --preprocess, --backend,
  --memory-budget-mb, --json, --verbose: as for explain
  --out <dir>            write sanity.json (with every step's maps) and grid.png (rows = methods,
                         columns = original, then each step)
  Similarities: Spearman of |attr| and of signed attr (average ranks for ties), SSIM (7×7 window,
  maps scaled to [0,1]), Pearson of HOG features (9 bins, L2-Hys 2×2-cell blocks), top-k%
  intersection; images are aggregated over channels first.
`;

export interface SanityCommand {
  kind: 'sanity';
  job: SanityJob;
  backend: BackendChoice;
  out: string | null;
  json: boolean;
  verbose: boolean;
}

/** Parses `pathlens sanity …` (argv after the command name); `usage` makes the CLI's usage error. */
export function parseSanityCommand(argv: string[], usage: Usage): SanityCommand {
  const v = parseFlags(
    argv,
    {
      ...methodFlags(),
      input: { type: 'string', multiple: true },
      check: { type: 'string' },
      levels: { type: 'string' },
      draws: { type: 'string' },
      metric: { type: 'string' },
      'randomization-threshold': { type: 'string' },
      'independent-share': { type: 'string' },
      'stability-threshold': { type: 'string' },
      'top-k': { type: 'string' },
      out: { type: 'string' },
    },
    usage,
  );
  if (!v.model) throw usage('--model <model.json|.keras|.h5|.onnx> is required');
  if (!v.input || v.input.length !== 1) throw usage('--input <file> is required, exactly once (a sanity check runs on one input)');
  const backend = oneOf(v.backend, BACKENDS, '--backend', usage) ?? 'auto';
  const check = oneOf(v.check, SANITY_CHECKS, '--check', usage) ?? SANITY_CHECKS[0];
  const options = methodOptionsFrom(v, usage);
  const seed = options.seed ?? 0;
  const metric = oneOf<MetricName>(v.metric, METRICS, '--metric', usage);
  const thresholds = Object.fromEntries(
    Object.entries({
      metric,
      randomization: finiteNumber(v['randomization-threshold'], '--randomization-threshold', usage),
      independentShare: finiteNumber(v['independent-share'], '--independent-share', usage),
      stability: finiteNumber(v['stability-threshold'], '--stability-threshold', usage),
    }).filter(([, value]) => value !== undefined),
  );
  const job: SanityJob = {
    modelPath: v.model,
    input: v.input[0]!,
    methods: methodsFrom(v.method, 'gradient,ig'),
    check,
    target: targetFrom(v.target, usage),
    output: outputFrom(v.output, usage),
    preprocess: v.preprocess,
    options,
    memoryBudgetMB: memoryBudgetFrom(v['memory-budget-mb'], usage),
    seed,
    levels: v.levels === undefined ? undefined : numberList(v.levels, '--levels', usage),
    draws: wholeNumber(v.draws, '--draws', usage),
    thresholds,
    topK: finiteNumber(v['top-k'], '--top-k', usage),
  };
  // Methods, options, levels and thresholds are usage errors (exit 2), caught before any model is loaded.
  try {
    for (const name of job.methods) getMethod(name);
    validateSanityRequest({
      check: job.check,
      methods: job.methods,
      target: job.target,
      output: job.output,
      options: { ...job.options, baseline: undefined },
      seed: job.seed,
      levels: job.levels,
      draws: job.draws,
      thresholds: job.thresholds,
      topK: job.topK,
    });
  } catch (err) {
    if (err instanceof PathLensError && err.code === 'usage') throw usage(err.message);
    throw err;
  }
  if (v.out !== undefined && v.out.trim() === '') throw usage("--out needs a folder (got '')");
  return { kind: 'sanity', job, backend, out: v.out ?? null, json: v.json ?? false, verbose: v.verbose ?? false };
}

// ---------------------------------------------------------------------------------------------
// Output

/** The JSON document (see the file comment); `withMaps` adds every step's attribution. */
export function sanityJson(result: SanityResult, withMaps: boolean): unknown {
  const { display: _display, ...input } = result.input;
  return sanitizeForJson({
    model: result.model,
    backend: result.backend,
    preprocessing: result.preprocessing,
    input,
    check: result.check,
    seed: result.seed,
    thresholds: result.thresholds,
    topK: result.topK,
    prediction: result.prediction,
    target: result.target,
    layers: result.layers,
    steps: result.steps.map((s) => ({
      index: s.index,
      label: s.label,
      randomized: s.randomized,
      ...(s.layerIndex !== undefined ? { layerIndex: s.layerIndex } : {}),
      ...(s.level !== undefined ? { level: s.level } : {}),
      prediction: s.prediction,
      ...(s.draws ? { draws: s.draws } : {}),
      ...(s.reinitialised ? { reinitialised: s.reinitialised } : {}),
    })),
    methods: result.methods.map((m, i) => ({
      method: m.name,
      title: m.title,
      verdict: result.verdicts[i],
      original: { ...result.original[i]!, attribution: mapJson(result.original[i]!.attribution) },
      steps: result.steps.map((s) => ({
        label: s.label,
        ...(s.layerIndex !== undefined ? { layerIndex: s.layerIndex } : {}),
        ...(s.level !== undefined ? { level: s.level } : {}),
        similarity: s.similarities[m.name],
        ...(s.perDraw ? { perDraw: s.perDraw[m.name] } : {}),
        ...(withMaps && s.results[i] ? { attribution: mapJson(s.results[i]!.attribution) } : {}),
      })),
    })),
    timing: result.timing,
  });
}

/**
 * JSON with arrays of plain numbers on one line (as explain's result.json), produced in pieces so a
 * large document (every step's maps of an image model) is streamed instead of built as one string.
 */
export function* compactJsonChunks(value: unknown, indent = ''): Generator<string> {
  if (value === null || typeof value !== 'object') {
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) {
      yield '[]';
      return;
    }
    if (value.every((v) => v === null || typeof v === 'number')) {
      for (let i = 0; i < value.length; i += 4096)
        yield (
          (i === 0 ? '[' : ',') +
          value
            .slice(i, i + 4096)
            .map((v) => JSON.stringify(v))
            .join(',')
        );
      yield ']';
      return;
    }
    yield '[\n';
    for (const [i, v] of value.entries()) {
      yield inner;
      yield* compactJsonChunks(v, inner);
      yield i < value.length - 1 ? ',\n' : '\n';
    }
    yield indent + ']';
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) {
    yield '{}';
    return;
  }
  yield '{\n';
  for (const [i, [k, v]] of entries.entries()) {
    yield `${inner}${JSON.stringify(k)}: `;
    yield* compactJsonChunks(v, inner);
    yield i < entries.length - 1 ? ',\n' : '\n';
  }
  yield indent + '}';
}

export function compactJson(value: unknown): string {
  return [...compactJsonChunks(value)].join('');
}

/** Float32 maps with 9 significant digits (exact for float32), as explain's result.json. */
function mapJson(attr: { shape: number[]; data: Float32Array }): { shape: number[]; data: (number | null)[] } {
  return { shape: [...attr.shape], data: Array.from(attr.data, (v) => (Number.isFinite(v) ? Number(v.toPrecision(9)) : null)) };
}

const f2 = (v: number | null | undefined) => (v === null || v === undefined ? '  —  ' : v.toFixed(2).padStart(5));

export function formatSanity(result: SanityResult): string {
  const p = result.prediction;
  const t = result.target;
  const lines = [
    `${result.check} on ${result.input.path}: predicted ${p.label ?? p.index} (${p.score.toFixed(4)}); explaining ${t.label ?? t.index} (${t.output} ${t.score.toFixed(4)}); seed ${result.seed}; ${result.timing.modelsBuilt} models built in ${(result.timing.ms / 1000).toFixed(1)} s`,
  ];
  const widths = result.steps.map((s) => Math.min(20, Math.max(6, s.label.length)));
  const header = result.steps.map((s, j) => s.label.slice(-widths[j]!).padStart(widths[j]!)).join(' ');
  if (result.check === 'perturbation')
    lines.push(`  kept (same class): ${result.steps.map((s) => `${s.label} ${s.draws?.kept}/${s.draws?.drawn}`).join(', ')}`);
  for (const [i, m] of result.methods.entries()) {
    lines.push('', `${m.name.padEnd(22)}${header}`);
    for (const metric of METRICS) {
      const label = METRIC_LABELS[metric];
      lines.push(`  ${label.padEnd(20)}${result.steps.map((s, j) => f2(s.similarities[m.name]?.[metric]).padStart(widths[j]!)).join(' ')}`);
    }
    lines.push(`  ${result.verdicts[i]!.reason}`);
  }
  return lines.join('\n');
}

/** One tile per map, upscaled (nearest) so small maps stay visible. */
function tile(attr: { shape: number[]; data: Float32Array }, display: RgbaImageData | null): RgbaImageData | null {
  if (!isSpatial(attr.shape)) return null;
  const img = renderOverlay(attr, display, { sign: 'absolute' });
  const scale = Math.max(1, Math.floor(112 / Math.max(img.width, img.height)));
  if (scale === 1) return img;
  const width = img.width * scale,
    height = img.height * scale;
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      rgba.set(
        img.rgba.subarray(
          (Math.floor(y / scale) * img.width + Math.floor(x / scale)) * 4,
          (Math.floor(y / scale) * img.width + Math.floor(x / scale)) * 4 + 4,
        ),
        (y * width + x) * 4,
      );
  return { width, height, rgba };
}

/** Rows = methods, columns = original then each step (Adebayo et al.'s figure); null for non-image maps. */
export function sanityGrid(result: SanityResult): Uint8Array | null {
  const display = result.input.display
    ? { width: result.input.display.width, height: result.input.display.height, rgba: result.input.display.rgba }
    : null;
  const rows = result.methods.map((_, i) =>
    [result.original[i]!, ...result.steps.map((s) => s.results[i] ?? null)].map((r) => (r ? tile(r.attribution, display) : null)),
  );
  const first = rows[0]?.[0];
  if (!first) return null;
  const gap = 4;
  const cols = rows[0]!.length;
  const width = cols * (first.width + gap) - gap;
  const height = rows.length * (first.height + gap) - gap;
  const rgba = new Uint8Array(width * height * 4).fill(255);
  rows.forEach((row, r) =>
    row.forEach((img, c) => {
      if (!img) return;
      for (let y = 0; y < img.height; y++) {
        const offset = ((r * (first.height + gap) + y) * width + c * (first.width + gap)) * 4;
        rgba.set(img.rgba.subarray(y * img.width * 4, (y + 1) * img.width * 4), offset);
      }
    }),
  );
  return encodePng({ width, height, rgba });
}

export async function writeSanityReport(dir: string, result: SanityResult): Promise<string[]> {
  const folder = prepareOutputFolder(dir);
  const written = [path.join(dir, 'sanity.json')];
  // Streamed (the maps can be large) to a temporary name, renamed when complete.
  const temp = path.join(folder, `.sanity.json.${process.pid}.tmp`);
  const stream = createWriteStream(temp, { flags: 'wx' });
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  for (const chunk of compactJsonChunks(sanityJson(result, true))) {
    if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', resolve));
  }
  stream.end('\n');
  await done;
  await rename(temp, path.join(folder, 'sanity.json'));
  const grid = sanityGrid(result);
  if (grid) {
    written.push(path.join(dir, 'grid.png'));
    writeFileAtomic(folder, 'grid.png', grid);
  }
  return written;
}

/** Runs the command in the worker; `track` receives the running job (for Ctrl-C). Returns the exit code. */
export async function runSanityCommand(
  client: WorkerClient,
  command: SanityCommand,
  track: (job: RunningJob<SanityResult>) => void,
  stderr: (line: string) => void,
): Promise<number> {
  const backend = await client.start();
  if (!command.json)
    stderr(`pathlens: sanity ${command.job.check} of ${command.job.methods.join(', ')} on ${command.job.modelPath} (backend ${backend})`);
  const printProgress = progressPrinter(stderr);
  const job = client.sanity(command.job, (event: WorkerEvent) => {
    if (event.kind === 'progress') printProgress(event.progress);
    else if (event.kind === 'sanity' && event.event.type === 'step' && !command.json) {
      const s = event.event.step;
      const metric = DEFAULT_THRESHOLDS.metric;
      stderr(
        `  step ${s.index + 1} (${s.label}): ${Object.entries(s.similarities)
          .map(([m, sim]) => `${m} ${METRIC_LABELS[metric]} ${f2(sim[metric]).trim()}`)
          .join(', ')}`,
      );
    }
  });
  track(job);
  const result = await job.result;
  if (command.out) {
    const files = await writeSanityReport(command.out, result);
    stderr(`wrote ${files.map((f) => path.basename(f)).join(', ')} to ${path.resolve(command.out)}`);
  }
  process.stdout.write((command.json ? compactJson(sanityJson(result, false)) : formatSanity(result)) + '\n');
  return 0;
}
