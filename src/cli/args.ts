/**
 * Command-line parsing for `pathlens`: turns argv into a typed command, or a UsageError (exit 2).
 */
import { PathLensError } from '../shared/errors';
import { checkOptionLimits, checkWorkers } from '../core/safety';
import { getMethod } from '../core/methods';
import { describeMethods } from '../core/methods/catalog';
import { flagDefaults, methodHelp, methodListHelp, methodParametersHelp, wrapWords } from '../shared/methods';
import { validateOptions } from '../core/attribution/method';
import { IG_RULES } from '../core/methods/ig';
import { DEFAULT_MEMORY_BUDGET_MB, MAX_MEMORY_BUDGET_MB, MIN_MEMORY_BUDGET_MB } from '../shared/limits';
import { parseSanityCommand, SANITY_HELP, type SanityCommand } from './sanity';
import { NEURONS_HELP, parseNeuronsCommand, type NeuronsCommand } from './neurons';
import { EVALUATE_HELP, parseEvaluateCommand, type EvaluateCommand } from './evaluate';
import { NAMED_BASELINES, type BackendChoice } from '../shared/types';
import { SANITY_CHECKS } from '../shared/sanity';
import {
  BACKENDS,
  memoryBudgetFrom,
  methodFlags,
  methodOptionsFrom,
  methodsFrom,
  oneOf as oneOfFlag,
  outputFrom,
  targetFrom,
  wholeNumber,
  type Usage,
  parseFlags,
} from './flags';
import type { ExplainJob, PatternsFitJob } from '../shared/protocol';

export class UsageError extends Error {}

export const HELP = `pathlens — explain TF.js model predictions with path-attribution methods

Usage:
  pathlens explain --model <model.json|.keras|.h5|.onnx> --input <file|folder> [--input ...] [options]
  pathlens info --model <model.json|.keras|.h5|.onnx> [--json]
  pathlens neurons --model <model.json|.keras|.h5|.onnx> --input <file> --layer <name> [--method conductance|layer-ig]
                  [--region x0,y0,x1,y1] [--top k] [--json] [--out DIR]
  pathlens sanity --model <model.json|.keras|.h5|.onnx> --input <file> --method <list> --check ${SANITY_CHECKS.join('|')}
                 [--levels 0.005,0.01,...] [--seed N] [--out DIR] [--json]
  pathlens patterns fit --model <model.json|.keras|.h5|.onnx> --data <folder|file.csv|file.json> [options]
  pathlens evaluate --model <model.json|.keras|.h5|.onnx> --input <file|folder> --method <list> [--metric …] [--shard i/n]
  pathlens evaluate merge <result.json|folder> [...]
  pathlens help

explain options:
  --method <list>        comma-separated methods (default: ig)
{{METHOD_LIST}}
                         The three pattern methods need a layers model and fitted patterns
                         (pathlens patterns fit); --patterns <file> picks a pattern file, else the
                         ones saved beside the model for its current weights are used.
  --target top|<index>   class to explain (default: top, the top-1 prediction of each input)
  --output logit|probability
                         explained scalar (default: logit = the input of a final softmax/sigmoid;
                         for models without one, the raw output)
  --baseline <b>         ${NAMED_BASELINES.join(' | ')} | <file.json|image>
                         (default: zero, in model input space). black/white are pixel 0/255 after
                         preprocessing; uniform and gaussian are seeded (--seed); blur is the input
                         blurred with σ = max(H,W)/20 px.
  --steps <n>            path points/steps of fixed rules; each method's own default when omitted
{{STEPS_DEFAULTS}}
  --rule <r>             ${IG_RULES.join(' | ')}
                         (ig default: adaptive). adaptive refines the path where the map needs it
                         (reusing every evaluation) until its estimated map error ≤ --map-tolerance
                         and |δ| ≤ tolerance·|F(x) − F(x')|. A fixed rule also runs at half the
                         points to estimate its map error (+50 % evaluations).
                         Every path result reports accuracy.mapError ≈ ‖A − A*‖₁/‖A*‖₁ (A* = the
                         exact integral); a run that stops at the cap is converged: false.
  --patterns <file>      pattern-net, pattern-attribution, pgig: pattern file (default: the one in
                         <model dir>/.pathlens/ fitted for the model's current weights)
  --neuron <layer>:<index>
                         explain one internal unit instead of the output: --method conductance (its
                         share of IG over the input, Σ = its total conductance) or ig (IG of its
                         activation). index = row,col,channel (conv layer) or k (dense layer)
  Every other method parameter is a flag too: see 'method parameters' below.
  --preprocess <p>       unit [0,1] | signed [-1,1] | raw255 | imagenet | mean-std:<m,m,m>/<s,s,s>
                         (mean/std in 0..255 pixel units). Default: pathlens.json beside the model,
                         else detected (Teachable Machine → signed), else unit. Reports state which.
  --backend <b>          ${BACKENDS.join(' | ')} (default: auto = tfjs-node if installed,
                         else wasm, else cpu)
  --memory-budget-mb <n> memory for batched path points in MB, shared by all workers, from
                         ${MIN_MEMORY_BUDGET_MB} to ${MAX_MEMORY_BUDGET_MB} (default: ${DEFAULT_MEMORY_BUDGET_MB})
  --workers <n>          threads evaluating gradients in parallel (default: the number of cores)
  --seed <n>             seed for random baselines, noise and samples (default: 0)
  --max-rows <n>         at most n rows per CSV input
  --out <dir>            write result.json, one overlay PNG per (input, method) and index.html
  --json                 print only the result JSON on stdout (progress goes to stderr)
  --verbose              print stack traces for unexpected errors

Inputs: PNG/JPEG images (resized bilinearly to the model's input size, alpha dropped, gray↔RGB
matched), .json nested arrays in the model's input shape (used as-is), .csv tables (one input per
row, optional header). A folder stands for all such files in it.

Exit codes: 0 success, 1 failure (one line on stderr saying what and where), 2 usage error.

${NEURONS_HELP}
${EVALUATE_HELP}
${SANITY_HELP}
patterns fit options (one streaming pass; progress on stderr; Ctrl-C cancels):
  --data <path>          folder of images, .csv table or .json array file; repeat for several
  --estimator <e>        two-component (default; ReLU layers, linear elsewhere) | linear
  --max-samples <n>      use at most n samples (default: all)
  --preprocess <p>       image preprocessing, as for explain
  --out <file>           where to write (default: <model dir>/.pathlens/patterns-<weights hash>.bin,
                         found automatically by explain)
  --backend, --memory-budget-mb, --verbose as for explain
  Conv2D / Dense / DepthwiseConv2D layers get patterns (BatchNormalization right after one is folded
  into it); layers without a pattern rule (LSTM, attention, …) are reported by name.

Examples:
  pathlens explain --model examples/shapes/model.json --input examples/shapes/images --method ig,gradient --out report
  pathlens explain --model model.json --input cat.png --steps 128 --rule trapezoid --baseline blur --json
  pathlens patterns fit --model examples/stress-test/model.json --data examples/stress-test/data.csv
  pathlens explain --model examples/stress-test/model.json --input examples/stress-test/inputs --method ig,pattern-attribution,pgig
`;

/** The full help: the hand-written text with the method list, --steps defaults and per-method parameters derived from the catalog. */
export function helpText(): string {
  const methods = describeMethods();
  const pad = ' '.repeat(25);
  const text = HELP.replace('{{METHOD_LIST}}\n', methodListHelp(methods, 25, 104)).replace(
    '{{STEPS_DEFAULTS}}\n',
    `${wrapWords(`(${flagDefaults(methods, 'steps')})`, pad, pad, 104).join('\n')}\n`,
  );
  const at = text.indexOf('\nInputs: PNG');
  return `${text.slice(0, at)}\n${methodParametersHelp(methods)}${text.slice(at)}`;
}

/** `pathlens help --json`: every method with its parameters, from the same catalog. */
export function helpJson(): string {
  return `${JSON.stringify(methodHelp(describeMethods()), null, 2)}\n`;
}

export type Command =
  | { kind: 'help'; json?: boolean }
  | SanityCommand
  | NeuronsCommand
  | EvaluateCommand
  | { kind: 'info'; modelPath: string; json: boolean; backend: BackendChoice; verbose: boolean }
  | {
      kind: 'explain';
      job: ExplainJob;
      backend: BackendChoice;
      workers: number | undefined;
      out: string | null;
      json: boolean;
      verbose: boolean;
    }
  | { kind: 'patterns-fit'; job: PatternsFitJob; backend: BackendChoice; json: boolean; verbose: boolean };

/** `pathlens patterns fit …` */
function parsePatternsCommand(argv: string[]): Command {
  const [sub, ...rest] = argv;
  if (sub !== 'fit')
    throw new UsageError(
      `unknown patterns command '${sub ?? ''}' (use: pathlens patterns fit --model <model.json|.keras|.h5|.onnx> --data <path>)`,
    );
  const v = parseFlags(
    rest,
    {
      model: { type: 'string' },
      data: { type: 'string', multiple: true },
      estimator: { type: 'string' },
      'max-samples': { type: 'string' },
      preprocess: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string' },
      'memory-budget-mb': { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    (message) => new UsageError(message),
  );
  if (v.help) return { kind: 'help' };
  if (!v.model) throw new UsageError('--model <model.json|.keras|.h5|.onnx> is required');
  if (!v.data || v.data.length === 0) throw new UsageError('--data <folder|file.csv|file.json> is required (repeat it for several)');
  return {
    kind: 'patterns-fit',
    job: {
      modelPath: v.model,
      data: v.data,
      estimator: oneOf(v.estimator, ['two-component', 'linear'] as const, '--estimator'),
      maxSamples: positiveInteger(v['max-samples'], '--max-samples'),
      preprocess: v.preprocess,
      out: v.out === undefined ? undefined : outFolder(v.out)!,
      memoryBudgetMB: memoryBudgetFrom(v['memory-budget-mb'], usage),
    },
    backend: oneOf(v.backend, BACKENDS, '--backend') ?? 'auto',
    json: v.json ?? false,
    verbose: v.verbose ?? false,
  };
}

const usage: Usage = (message) => new UsageError(message);

/** --out: an empty value would silently write nothing; the folder itself is checked when writing. */
export function outFolder(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (value.trim() === '') throw new UsageError("--out needs a folder (got '')");
  return value;
}

function cappedWorkers(workers: number | undefined): number | undefined {
  try {
    return checkWorkers(workers);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
const positiveInteger = (value: string | undefined, flag: string) => wholeNumber(value, flag, usage);
const oneOf = <T extends string>(value: string | undefined, allowed: readonly T[], flag: string) => oneOfFlag(value, allowed, flag, usage);

/** --neuron: a parameter of the neuron methods, so a derived flag. */
function neuronFlag(v: Record<string, unknown>): string | undefined {
  return typeof v.neuron === 'string' ? v.neuron : undefined;
}

/** With --neuron, `--method conductance|ig` names the unit's maps (neuron-conductance, neuron-ig). */
function neuronMethods(neuron: string | undefined, methods: string[]): string[] {
  if (neuron === undefined) return methods;
  return methods.map((m) => {
    if (m === 'conductance' || m === 'ig') return `neuron-${m}`;
    if (m.startsWith('neuron-')) return m;
    throw new UsageError(`with --neuron, --method must be conductance or ig (got '${m}')`);
  });
}

export function parseCommand(argv: string[]): Command {
  const [command, ...rest] = argv;
  if (command === 'help' && rest.length > 0) {
    if (rest.length === 1 && rest[0] === '--json') return { kind: 'help', json: true };
    throw new UsageError(`help takes only --json (got '${rest.join(' ')}')`);
  }
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return { kind: 'help' };
  if (command === 'sanity') return parseSanityCommand(rest, (message) => new UsageError(message));
  if (command === 'neurons') return parseNeuronsCommand(rest, (message) => new UsageError(message));
  if (command === 'patterns') return parsePatternsCommand(rest);
  if (command === 'evaluate') return parseEvaluateCommand(rest, (message) => new UsageError(message));
  const v = parseFlags(
    rest,
    {
      ...methodFlags(),
      input: { type: 'string', multiple: true },
      workers: { type: 'string' },
      'max-rows': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    (message) => new UsageError(message),
  );
  if (v.help) return { kind: 'help' };
  const backend = oneOf(v.backend, BACKENDS, '--backend') ?? 'auto';
  if (!v.model) throw new UsageError('--model <model.json|.keras|.h5|.onnx> is required');
  const verbose = v.verbose ?? false;
  if (command === 'info') return { kind: 'info', modelPath: v.model, json: v.json ?? false, backend, verbose };
  if (command !== 'explain') throw new UsageError(`unknown command '${command}' (use explain, info, patterns fit or help)`);
  if (!v.input || v.input.length === 0) throw new UsageError('--input <file|folder> is required (repeat it for several inputs)');

  const job: ExplainJob = {
    modelPath: v.model,
    inputs: v.input,
    methods: neuronMethods(neuronFlag(v), methodsFrom(v.method, 'ig')),
    target: targetFrom(v.target, usage),
    output: outputFrom(v.output, usage),
    preprocess: v.preprocess,
    options: methodOptionsFrom(v, usage),
    memoryBudgetMB: memoryBudgetFrom(v['memory-budget-mb'], usage),
    maxRows: positiveInteger(v['max-rows'], '--max-rows'),
  };
  // Method names and parameter ranges are usage errors (exit 2), caught before any model is loaded.
  for (const name of job.methods) {
    try {
      checkOptionLimits(job.options);
      validateOptions(getMethod(name), { ...job.options, baseline: undefined });
    } catch (err) {
      if (err instanceof PathLensError && err.code === 'usage') throw new UsageError(err.message);
      throw err;
    }
  }
  return {
    kind: 'explain',
    job,
    backend,
    workers: cappedWorkers(positiveInteger(v.workers, '--workers')),
    out: outFolder(v.out),
    json: v.json ?? false,
    verbose,
  };
}
