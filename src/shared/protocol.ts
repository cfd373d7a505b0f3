/**
 * The one typed protocol for messages between the extension host (or CLI), the attribution worker
 * and the webview. Everything here is structured-clone safe (typed arrays pass as they are).
 */
import type {
  BackendChoice,
  BackendName,
  ExplainResult,
  InputResult,
  MethodResult,
  ModelSummary,
  OutputKind,
  Prediction,
  PreparedInput,
  Preprocessing,
  Progress,
  QuadratureRuleName,
  Target,
} from './types';
import type { ErrorCode } from './errors';
import type { MethodInfo, MethodNeeds, NEED_OPTIONS, ParameterValue, ParameterValues } from './methods';
import type { SanityCheck, SanityEvent, SanityResult, SanitySettings } from './sanity';
import type { LayerChoice, NeuronMethod, NeuronsResult, Region } from './neurons';
import type { EvaluatedInput, EvaluateReport, MetricName, Shard, SummaryRow } from './evaluate';
import { METRIC_NAMES } from './evaluate';

export type { MethodInfo, ParameterSpec } from './methods';

// ---------------------------------------------------------------------------------------------
// Host → worker

/**
 * Method options as they travel, derived from the method definitions: every parameter by its spec
 * name, typed by its spec (number, switch or text; the CLI and the panel check values against the
 * specs), the options naming what methods need (`NEED_OPTIONS`), and per-method overrides (the
 * panel's parameters, the ig.* settings). Only the parameters that code outside the methods reads
 * are spelled out.
 */
export type JobMethodOptions = {
  [option in (typeof NEED_OPTIONS)[keyof MethodNeeds]]?: string;
} & {
  /** The path methods' baseline: a name (`NAMED_BASELINES`) or a file path; neurons and evaluate read it too. */
  baseline?: string;
  /** Random baselines, noise and samples; the panel's follow-up jobs reuse it. */
  seed?: number;
  /** Options for one method only (by name), on top of the shared ones. */
  methodOverrides?: Record<string, ParameterValues>;
  [parameter: string]: ParameterValue | Record<string, ParameterValues> | undefined;
};

export interface ExplainJob {
  modelPath: string;
  /** Files or folders (folders expand to their images / .json / .csv files). */
  inputs: string[];
  methods: string[];
  target: 'top' | number;
  output: OutputKind;
  /** Preset name or `mean-std:…`; omitted = sidecar / detection / default. */
  preprocess?: string;
  options: JobMethodOptions;
  memoryBudgetMB?: number;
  /** At most this many rows per CSV (keeps a huge table from flooding a report). */
  maxRows?: number;
  /** Use at most this many threads of the pool for this job (default: all). */
  workers?: number;
}

/**
 * A sanity check (ALGORITHMS.md §9) of the chosen methods on one input: model randomization
 * (cascading / independent) or model perturbation. Streams `sanity` events (plan, original maps, one
 * per step, verdicts) and ends with `sanity-done`.
 */
export interface SanityJob extends SanitySettings {
  modelPath: string;
  /** One input: an image, a .json tensor, or a CSV (its first row). */
  input: string;
  methods: string[];
  preprocess?: string;
  options: JobMethodOptions;
}

export type WorkerRequest =
  | { kind: 'explain'; jobId: number; job: ExplainJob; cancelFlag?: SharedArrayBuffer }
  | { kind: 'info'; jobId: number; modelPath: string; cancelFlag?: SharedArrayBuffer }
  | { kind: 'sanity'; jobId: number; job: SanityJob; cancelFlag?: SharedArrayBuffer }
  | { kind: 'cancel'; jobId: number }
  /** The worker's TF.js tensor count and bytes (leak checks, diagnostics). */
  | { kind: 'memory'; jobId: number }
  /** Fit patterns (PatternNet / PatternAttribution / PGIG) for a layers model in one pass over a data set. */
  | { kind: 'patterns-fit'; jobId: number; job: PatternsFitJob; cancelFlag?: SharedArrayBuffer }
  /** Split the model at one layer: which units carry the prediction (or explain a region of the input). */
  | { kind: 'neurons'; jobId: number; job: NeuronsJob; cancelFlag?: SharedArrayBuffer }
  /** Write a finished result as a file (the HTML report encodes a PNG per map: worker work). */
  | { kind: 'export'; jobId: number; job: ExportJob; cancelFlag?: SharedArrayBuffer }
  /** Faithfulness curves (EVALUATION.md): explain each input, perturb by each map, score the curves. */
  | { kind: 'evaluate'; jobId: number; job: EvaluateJob; cancelFlag?: SharedArrayBuffer }
  /** One perturbed copy of an evaluated input (the panel shows it when a curve point is clicked). */
  | { kind: 'evaluate-step'; jobId: number; job: EvaluateStepJob; cancelFlag?: SharedArrayBuffer };

/** `pathlens evaluate` / the panel's Evaluate view: the explain job plus the metric settings. */
export interface EvaluateJob extends ExplainJob {
  metrics: MetricName[];
  evalSteps: number;
  patch: number | null;
  /** Seed of the random reference ranking (and of the methods, as `options.seed`). */
  seed: number;
  shard: Shard | null;
  /** Input positions already done (cached by the caller): skipped. */
  done: number[];
  /** Bootstrap resamples of the summary the job returns over the inputs it evaluated (default 1000). */
  bootstrap?: number;
  /**
   * Maps computed already (the panel's comparison), by input position: those inputs are scored with
   * exactly these maps, prediction and target instead of being explained again; the others are skipped.
   */
  maps?: EvaluateMaps[];
}

/** One input's maps as the panel has them (its target may differ from the job's after a class change). */
export interface EvaluateMaps {
  /** Position among the job's inputs. */
  index: number;
  path: string;
  prediction: Prediction;
  target: Target;
  results: Pick<MethodResult, 'method' | 'params' | 'attribution'>[];
}

/**
 * The perturbed copy x^(k) of one evaluated input at step k of one metric (EVALUATION.md §5), for the
 * map `attribution` (null: the seeded random reference ranking of that input).
 */
export interface EvaluateStepJob {
  modelPath: string;
  /** The evaluate job's inputs and loading options: `index` is a position among them. */
  inputs: string[];
  maxRows?: number;
  preprocess?: string;
  baseline?: string;
  memoryBudgetMB?: number;
  index: number;
  attribution: Float32Array | null;
  metric: MetricName;
  evalSteps: number;
  patch: number | null;
  seed: number;
  step: number;
}

/** The perturbed copy: as an image (model input size, pixels) when the input is one, else its values. */
export interface PerturbedStep {
  index: number;
  metric: MetricName;
  step: number;
  fraction: number;
  /** Features replaced (deletion, MoRF, LeRF) or taken from x (insertion) so far: m_k of D. */
  changed: number;
  features: number;
  display?: { width: number; height: number; rgba: Uint8Array };
  /** Non-image inputs: the copy's values in model space, and per element whether it changed. */
  values?: Float32Array;
  changedMask?: Uint8Array;
}

/** What an evaluate job reports at its start and end (the per-input entries stream as events). */
export interface EvaluatePlan {
  model: ModelSummary;
  backend: BackendName;
  preprocessing: Preprocessing | null;
  /** Inputs of the unsharded run, of this shard, and still to evaluate in this run. */
  inputs: number;
  inShard: number;
  todo: number;
  /** At the end: the leaderboard over the inputs this job evaluated (the panel shows it as is). */
  summary?: SummaryRow[];
}

/** A finished explanation written to `file`: `html` (the self-contained report) or `json` (result.json). */
export interface ExportJob {
  result: ExplainResult;
  format: 'html' | 'json';
  file: string;
  /** The panel's evaluation of these maps, when it ran: the HTML report gets its faithfulness section. */
  evaluation?: EvaluateReport;
}

export interface ReportExported {
  file: string;
  bytes: number;
}

/** `pathlens neurons` / the panel's Neurons view: one input, one layer. */
export interface NeuronsJob {
  modelPath: string;
  /** One input file (an image, a .json tensor, or a CSV's first row). */
  input: string;
  layer: string;
  method: NeuronMethod;
  region?: Region;
  /** Only this unit's view (`[row, col, channel]` or `[k]`): its input map by `unitMethod`, and activation. */
  unit?: number[];
  unitMethod?: 'conductance' | 'ig';
  top?: number;
  steps?: number;
  rule?: QuadratureRuleName;
  target: 'top' | number;
  output: OutputKind;
  baseline?: string;
  preprocess?: string;
  memoryBudgetMB?: number;
  seed?: number;
}

export interface PatternsFitJob {
  modelPath: string;
  /** Folders of images, .csv or .json array files. */
  data: string[];
  estimator?: 'two-component' | 'linear';
  maxSamples?: number;
  /** Image preprocessing (as for explain); omitted = sidecar / detection / default. */
  preprocess?: string;
  /** Output file (default: `<model dir>/.pathlens/patterns-<hash>.bin`). */
  out?: string;
  memoryBudgetMB?: number;
}

/** What a pattern fit produced. */
export interface PatternsFitted {
  file: string;
  estimator: string;
  samples: number;
  layers: { name: string; className: string; shape: number[]; estimator: string; foldedBatchNorm: string | null }[];
  ms: number;
}

export interface WorkerInit {
  backend: BackendChoice;
  wasmDir?: string;
  /** Threads evaluating gradients for one job, this one included (default: the number of cores). */
  workers?: number;
  /** 'evaluator': a pool thread that only evaluates point chunks for its coordinator. */
  role?: 'coordinator' | 'evaluator';
  /** `performance.now()` when the parent created the thread (threads share the process's time origin). */
  spawnedAt?: number;
  /** Run this thread and its pool below normal CPU priority (an interactive host shares the process). */
  lowPriority?: boolean;
  /** Start the pool threads with this one (a job that will need them follows at once, e.g. the CLI's). */
  prestartPool?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Coordinator worker ↔ pool (evaluator) workers

/**
 * A chunk of path points with a declarative reduction, so the same chunk can run in this thread or
 * be shipped to a pool worker (closures cannot cross threads).
 */
export interface PointChunk {
  /** Row-major [count, ...inputShape] points; absent when `path` describes them. */
  points?: Float32Array;
  /** The points described instead of shipped: the thread that evaluates them builds them. */
  path?: PathPoints;
  count: number;
  /**
   * Per-point multipliers m_j (row-major, count × size): the reductions below then use
   * g_j = ∇F(p_j) ⊙ m_j in place of ∇F(p_j) (gradient × input, path velocities, x − x′_j).
   */
  multipliers?: Float32Array;
  /** Per-point weights: the reply carries Σ_j w_j g_j. */
  weights?: Float32Array;
  /** The reply carries g_j · direction per point. */
  direction?: Float32Array;
  /** The reply carries Σ_j g_j ⊙ g_j. */
  sumOfSquares?: boolean;
  /** The reply carries Σ_i g_j,i per point. */
  totals?: boolean;
  /** The reply carries every gradient ∇F(p_j) (count × size). */
  keepGradients?: boolean;
}

export interface PointChunkResult {
  value: Float32Array;
  /** ‖∇F(p_j)‖₂ per point. */
  gradNorm: Float32Array;
  weightedSum?: Float32Array;
  directional?: Float32Array;
  sumOfSquares?: Float32Array;
  totals?: Float32Array;
  gradients?: Float32Array;
}

/**
 * Measured cost of one forward + input-gradient evaluation on one thread: the transient bytes of a
 * point and the wall time per point at each batch size probed (the fastest batch wins).
 */
export interface BatchProbe {
  bytesPerPoint: number;
  /** Ascending batch sizes with their best measured ms per point. */
  sizes: { batch: number; msPerPoint: number }[];
  /** Bytes one thread could use when probed: larger sizes were not tried (unless the probe stopped early). */
  budgetBytes: number;
  /** True when a larger batch was already slower, so sizes beyond the last one need no probe. */
  stoppedEarly: boolean;
}

/** A chunk with the class it explains: one pool request may carry chunks of several inputs. */
export interface TargetedChunk {
  target: number;
  chunk: PointChunk;
}

/**
 * A straight path's fixed arrays: x′ and x − x′ (float32, as `pathDirection` rounds it). A pool
 * thread receives them once (with the first chunk on the path it gets) and keeps them by `id`
 * until its coordinator releases them (the job ended, or the thread's path cache is full).
 */
export interface PathArrays {
  id: number;
  baseline: Float32Array;
  direction: Float32Array;
}

/** Points γ(α_j) = x′ + α_j·(x − x′) (each rounded once to float32), j < alphas.length. */
export interface PathPoints extends PathArrays {
  alphas: number[];
}

/** A chunk as posted to a pool thread: a path by its id (the thread holds its arrays). */
export interface PoolChunk extends Omit<PointChunk, 'path'> {
  path?: { id: number; alphas: number[] };
  /** `direction` is the path's own x − x′ (not sent again). */
  pathDirection?: boolean;
}

/**
 * One version of a model's files as the coordinator read them (worker/modelCache.ts): `stamp` names
 * it, `read` carries its validated artifacts (core/model/artifacts ReadArtifacts) when the receiver
 * may not hold this version yet.
 */
export interface WireModelSource {
  stamp: string;
  read?: unknown;
}

export type EvaluatorRequest =
  | {
      kind: 'chunk';
      id: number;
      modelPath: string;
      output: OutputKind;
      /** Per-example shape of the chunks' points (the model's symbolic dims bound to it). */
      inputShape: number[];
      /** Computed as one batch (examples are independent); each part gets its own reductions. */
      parts: { target: number; chunk: PoolChunk }[];
      /** Paths to drop first (the coordinator's cache bound), then paths to keep from now on. */
      release?: number[];
      paths?: PathArrays[];
    }
  /** Drop these paths (their job ended). */
  | { kind: 'release'; id: number; paths: number[] }
  /** What the thread holds: paths and TF.js tensors (tests: nothing leaks across jobs). */
  | { kind: 'stats'; id: number }
  /**
   * Load (or find cached) the model now, so the first chunk does not wait for it: the coordinator's
   * version of its files (`source`, with the artifacts it read and validated when the thread may
   * not hold that version yet); chunks then compute on this version.
   */
  | { kind: 'load'; id: number; modelPath: string; memoryBudgetMB?: number; source?: WireModelSource }
  /** Measure throughput per batch size on this thread (see BatchProbe). */
  | { kind: 'probe'; id: number; modelPath: string; output: OutputKind; inputShape: number[]; budgetBytes: number };

export type EvaluatorEvent =
  | { kind: 'ready'; backend: BackendName }
  | { kind: 'fatal'; error: WireError }
  /** One result per part of the request, in order. */
  | { kind: 'chunk-result'; id: number; results: PointChunkResult[] }
  | { kind: 'loaded'; id: number }
  /** The thread loaded a model (a cache miss), whichever request caused it; `fromDisk`: it read the files itself. */
  | { kind: 'model-read'; modelPath: string; fromDisk: boolean }
  | { kind: 'probed'; id: number; probe: BatchProbe }
  | { kind: 'released'; id: number }
  | { kind: 'stats'; id: number; stats: PoolThreadStats }
  | { kind: 'failed'; id: number; error: WireError };

export interface PoolThreadStats {
  paths: number;
  numTensors: number;
}

/** Start-up cost of a worker thread, measured inside it. */
export interface WorkerStartup {
  /** From the thread's creation to its entry code running (thread start and bundle load). */
  moduleLoadMs: number;
  backendInitMs: number;
  /** The V8 code cache of the bundle (worker/boot.ts): 'hit', 'miss', 'rejected' or 'off'. */
  codeCache?: string;
}

/** Fixed-cost phases of a job, reported as each ends (the pool's start overlaps the model load). */
export type JobPhase = 'model load' | 'inputs' | 'pool start' | 'batch profile';

// ---------------------------------------------------------------------------------------------
// Worker → host

/** An input as the UI needs it before any attribution exists: prediction, target, the image. */
export interface InputStarted extends Omit<InputResult, 'results'> {
  kind: PreparedInput['kind'];
  shape: number[];
  display?: PreparedInput['display'];
  featureNames?: string[];
  values?: Float32Array;
}

export type WorkerEvent =
  | { kind: 'ready'; backend: BackendName; startup?: WorkerStartup }
  /** A fixed-cost phase of the job ended; `detail` says e.g. whether a cached profile was used. */
  | { kind: 'phase'; jobId: number; phase: JobPhase; ms: number; detail?: string }
  | { kind: 'fatal'; error: WireError }
  | { kind: 'progress'; jobId: number; progress: Progress }
  | { kind: 'started'; jobId: number; model: ModelSummary; backend: BackendName; preprocessing: Preprocessing | null; inputCount: number }
  | { kind: 'input'; jobId: number; inputIndex: number; input: InputStarted }
  | { kind: 'result'; jobId: number; inputIndex: number; result: MethodResult }
  | { kind: 'explained'; jobId: number; result: ExplainResult }
  /**
   * Sanity-check progress, in order: 'plan' (methods, weighted layers, the planned steps/levels, seed,
   * thresholds), 'original' (prediction, target, the unmodified maps), one 'step' per layer/level (its
   * maps — the grid's column —, the similarity of each method's map to the original on every metric,
   * perturbation draws kept), 'verdicts'. Every payload is complete on its own.
   */
  | { kind: 'sanity'; jobId: number; event: SanityEvent }
  | { kind: 'sanity-done'; jobId: number; result: SanityResult }
  | { kind: 'info'; jobId: number; summary: ModelSummary; preprocessing: Preprocessing | null }
  /**
   * `modelLoads`: models loaded by this worker and its pool threads since it started;
   * `modelFileReads`: how many of those loads read the model's files (the others got them handed over).
   */
  | { kind: 'memory'; jobId: number; numTensors: number; numBytes: number; modelLoads?: number; modelFileReads?: number }
  | { kind: 'patterns-fitted'; jobId: number; result: PatternsFitted }
  | { kind: 'neurons-done'; jobId: number; result: NeuronsResult }
  | { kind: 'exported'; jobId: number; result: ReportExported }
  | { kind: 'evaluate-plan'; jobId: number; plan: EvaluatePlan }
  | { kind: 'evaluate-input'; jobId: number; input: EvaluatedInput }
  | { kind: 'evaluate-done'; jobId: number; result: EvaluatePlan }
  | { kind: 'evaluate-step-done'; jobId: number; result: PerturbedStep }
  | { kind: 'error'; jobId: number; error: WireError };

export interface WireError {
  code: ErrorCode;
  message: string;
  stack?: string;
}

// ---------------------------------------------------------------------------------------------
// Host ↔ webview (the PathLens panel)

/** Host → webview. */
export type HostToWebview =
  /** A run starts (or restarts): clear the panel for this model. */
  | {
      type: 'run';
      runId: number;
      model: ModelSummary;
      backend: BackendName;
      preprocessing: Preprocessing | null;
      methods: MethodInfo[];
      inputCount: number;
    }
  | { type: 'input'; runId: number; inputIndex: number; input: InputStarted }
  | { type: 'result'; runId: number; inputIndex: number; result: MethodResult }
  | { type: 'progress'; runId: number; progress: Progress }
  | { type: 'done'; runId: number; cancelled: boolean }
  /** An error for the whole run (inputIndex absent) or one input. */
  | { type: 'error'; runId: number; inputIndex?: number; error: WireError }
  /** User settings that shape the display. */
  | { type: 'settings'; colormap: string; divergingColormap: string }
  /**
   * The "Sanity checks" view (independent of the explain run): 'sanity-start' clears it for a new
   * check, then the worker's sanity events (plan, original, one per step, verdicts) as they arrive,
   * progress, and 'sanity-done' (cancelled, or failed with `error`).
   */
  | { type: 'sanity-start'; sanityId: number; check: SanityCheck; input: string; methods: MethodInfo[] }
  | { type: 'sanity'; sanityId: number; event: SanityEvent }
  | { type: 'sanity-progress'; sanityId: number; progress: Progress }
  | { type: 'sanity-done'; sanityId: number; cancelled: boolean; error?: WireError }
  /**
   * The "Neurons" view: the layers the model can be split at (sent with each run), then per request
   * 'neurons-start', progress, the result (a layer's ranked units, or one unit's view) and 'neurons-done'.
   */
  | { type: 'neurons-layers'; layers: LayerChoice[] }
  | { type: 'neurons-start'; neuronsId: number; request: NeuronsRequest }
  | { type: 'neurons-progress'; neuronsId: number; progress: Progress }
  | { type: 'neurons-result'; neuronsId: number; result: NeuronsResult }
  | { type: 'neurons-done'; neuronsId: number; cancelled: boolean; error?: WireError }
  /**
   * The "Evaluate" view: 'evaluate-start' clears it for a new evaluation of the comparison's maps, then
   * progress, one 'evaluate-input' per input (its curves), 'evaluate-done' with the leaderboard (or
   * cancelled / failed); 'evaluate-step' answers a clicked curve point with the perturbed input.
   */
  | {
      type: 'evaluate-start';
      evaluateId: number;
      settings: EvaluateViewSettings;
      methods: string[];
      inputs: { index: number; path: string }[];
    }
  | { type: 'evaluate-progress'; evaluateId: number; progress: Progress }
  | { type: 'evaluate-input'; evaluateId: number; input: EvaluatedInput }
  | { type: 'evaluate-done'; evaluateId: number; cancelled: boolean; summary?: SummaryRow[]; error?: WireError }
  | { type: 'evaluate-step'; evaluateId: number; request: EvaluateStepRequest; result?: PerturbedStep; error?: WireError };

/** The Evaluate view's settings (EVALUATION.md's flags). */
export interface EvaluateViewSettings {
  metrics: MetricName[];
  evalSteps: number;
  patch: number | null;
  bootstrap: number;
}

/** A clicked curve point: input, method (or 'random'), metric and step k. */
export interface EvaluateStepRequest {
  inputIndex: number;
  method: string;
  metric: MetricName;
  step: number;
}

/** What the Neurons view asks for: a layer's units (optionally for a region), or one unit's view. */
export interface NeuronsRequest {
  inputIndex: number;
  layer: string;
  method: NeuronMethod;
  region?: Region;
  unit?: number[];
}

/** Webview → host. Validate with `parseWebviewMessage` before use: the webview is untrusted. */
export type WebviewToHost =
  | { type: 'ready' }
  /** Explain the input again for another class (index into the model's outputs). */
  | { type: 'setTarget'; inputIndex: number; target: number }
  /** Recompute one map with changed parameters. */
  | { type: 'recompute'; inputIndex: number; method: string; params: Record<string, string | number | boolean> }
  | { type: 'cancel' }
  /** Save something the user exported: a PNG (data: URL), the result JSON, or the HTML report. */
  | { type: 'export'; format: 'png'; fileName: string; dataUrl: string }
  | { type: 'export'; format: 'json' | 'html' }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | ({ type: 'neurons' } & NeuronsRequest)
  /** Evaluate the comparison's maps (every input and method the panel shows). */
  | ({ type: 'evaluate' } & EvaluateViewSettings)
  | ({ type: 'evaluate-step' } & EvaluateStepRequest);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 1_000_000;
const isShortString = (v: unknown, max = 200): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** The message if it is well-formed, else null (callers log and drop it). */
export function parseWebviewMessage(raw: unknown): WebviewToHost | null {
  if (!isObject(raw) || typeof raw.type !== 'string') return null;
  switch (raw.type) {
    case 'ready':
    case 'cancel':
      return { type: raw.type };
    case 'setTarget':
      return isIndex(raw.inputIndex) && isIndex(raw.target) ? { type: 'setTarget', inputIndex: raw.inputIndex, target: raw.target } : null;
    case 'recompute': {
      if (!isIndex(raw.inputIndex) || !isShortString(raw.method, 64) || !isObject(raw.params)) return null;
      const params: Record<string, string | number | boolean> = {};
      for (const [key, value] of Object.entries(raw.params)) {
        if (!/^[a-zA-Z][\w-]{0,63}$/.test(key)) return null;
        if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'boolean' && !isShortString(value, 1000)) return null;
        params[key] = value as string | number | boolean;
      }
      return { type: 'recompute', inputIndex: raw.inputIndex, method: raw.method, params };
    }
    case 'export':
      if (raw.format === 'json' || raw.format === 'html') return { type: 'export', format: raw.format };
      if (
        raw.format === 'png' &&
        isShortString(raw.fileName) &&
        /^[\w.\- ]+\.png$/.test(raw.fileName) &&
        typeof raw.dataUrl === 'string' &&
        raw.dataUrl.startsWith('data:image/png;base64,') &&
        raw.dataUrl.length < 50_000_000
      ) {
        return { type: 'export', format: 'png', fileName: raw.fileName, dataUrl: raw.dataUrl };
      }
      return null;
    case 'log':
      return (raw.level === 'info' || raw.level === 'warn' || raw.level === 'error') && isShortString(raw.message, 10_000)
        ? { type: 'log', level: raw.level, message: raw.message }
        : null;
    case 'neurons':
      return parseNeuronsRequest(raw);
    case 'evaluate':
      return parseEvaluateRequest(raw);
    case 'evaluate-step':
      return isIndex(raw.inputIndex) && isShortString(raw.method, 64) && isMetric(raw.metric) && isIndex(raw.step)
        ? { type: 'evaluate-step', inputIndex: raw.inputIndex, method: raw.method, metric: raw.metric, step: raw.step }
        : null;
    default:
      return null;
  }
}

const isSmallIndexList = (v: unknown): v is number[] => Array.isArray(v) && v.length >= 1 && v.length <= 4 && v.every(isIndex);

function parseNeuronsRequest(raw: Record<string, unknown>): WebviewToHost | null {
  if (!isIndex(raw.inputIndex) || !isShortString(raw.layer, 500)) return null;
  if (raw.method !== 'conductance' && raw.method !== 'layer-ig') return null;
  const request: WebviewToHost = { type: 'neurons', inputIndex: raw.inputIndex, layer: raw.layer, method: raw.method };
  if (raw.unit !== undefined) {
    if (!isSmallIndexList(raw.unit)) return null;
    request.unit = [...raw.unit];
  }
  if (raw.region !== undefined) {
    const r = raw.region;
    if (!isObject(r) || ![r.x0, r.y0, r.x1, r.y1].every(isIndex)) return null;
    const region = { x0: r.x0 as number, y0: r.y0 as number, x1: r.x1 as number, y1: r.y1 as number };
    if (region.x1 <= region.x0 || region.y1 <= region.y0) return null;
    request.region = region;
  }
  return request;
}

const isMetric = (v: unknown): v is MetricName => typeof v === 'string' && (METRIC_NAMES as readonly string[]).includes(v);
const isWhole = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Limits as the CLI's: steps within the safety limit's spirit, bootstrap bounded so a click cannot stall the worker. */
function parseEvaluateRequest(raw: Record<string, unknown>): WebviewToHost | null {
  if (!Array.isArray(raw.metrics) || raw.metrics.length === 0 || !raw.metrics.every(isMetric)) return null;
  if (!isWhole(raw.evalSteps, 1, 1000) || !isWhole(raw.bootstrap, 1, 100_000)) return null;
  if (raw.patch !== null && !isWhole(raw.patch, 1, 4096)) return null;
  const metrics = METRIC_NAMES.filter((m) => (raw.metrics as string[]).includes(m));
  return { type: 'evaluate', metrics, evalSteps: raw.evalSteps, patch: raw.patch as number | null, bootstrap: raw.bootstrap };
}
