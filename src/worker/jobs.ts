/**
 * The jobs the worker runs, as plain async functions (testable without a thread): load the model
 * (cached), prepare inputs, explain, and stream events.
 */
import * as path from 'node:path';
import { currentBackend } from '../core/engine/backend';
import { describeError, PathLensError } from '../shared/errors';
import { explainInputs, predictionOf, validateRequest, type ExplainHooks, type ExplainRequest } from '../core/explain';
import { ADAPTIVE_DEFAULTS } from '../core/path/adaptive';
import type { MethodResources } from '../core/attribution/context';
import { checkReferenceSet } from '../core/methods/expectedGradients';
import { baselineName, loadInputs, makeBaseline, resolvePreprocessing } from '../core/input';
import type { LoadedModel } from '../core/model/load';
import type { ModelCache } from './modelCache';
import type { BatchPlan } from '../core/engine/evaluator';
import { mergeProbes, probeBatchSizes } from '../core/engine/batchProbe';
import { DEFAULT_MEMORY_BUDGET_MB, MB } from '../core/safety/limits';
import type { BatchPlanner } from './batchPlan';
import type {
  BaselineSpec,
  CancellationSignal,
  ExplainResult,
  ModelSummary,
  Preprocessing,
  PreparedInput,
  OutputKind,
  Progress,
} from '../shared/types';
import { NAMED_BASELINES } from '../shared/types';
import { isOnnxModelFileName } from '../shared/fileNames';
import type { BatchProbe, ExplainJob, JobPhase, PatternsFitJob, PatternsFitted, WorkerEvent } from '../shared/protocol';
import { METHODS, methodsNeeding } from '../core/methods';
import { fitModelPatterns, loadPatterns } from '../core/patterns/store';
import { readModelArtifacts } from '../core/model/artifacts';
import { defaultCropFor } from '../core/model/sidecars';
import { bindInputShape } from '../core/model/inputLayout';

// The model cache moved to ./modelCache (pool threads build from the coordinator's read); kept importable here.
export { ModelCache, modelFileStamp } from './modelCache';

type Emit = (event: WorkerEvent) => void;
export type PhaseListener = (phase: JobPhase, ms: number, detail?: string) => void;

/** The threads a job computes on: pool threads (this thread dispatches), or none (this thread computes). */
export interface JobThreads {
  /** Pool threads for this job (0: this thread computes alone). */
  count: number;
  remotesFor: NonNullable<ExplainHooks['remotesFor']>;
  /** Starts the threads and has each load the model. */
  prepare(modelPath: string, memoryBudgetMB: number | undefined): Promise<void>;
  /** Every thread's throughput per batch size, measured at once. */
  probe(modelPath: string, output: OutputKind, inputShape: number[], budgetPerThread: number): Promise<BatchProbe[]>;
}

/** Progress reaches the host at most this often (plus every stage's end), so it never floods it. */
export const PROGRESS_INTERVAL_MS = 100;

export function throttle(intervalMs: number, send: (p: Progress) => void, now = () => Date.now()): (p: Progress) => void {
  let last = -Infinity;
  return (p) => {
    const t = now();
    if (t - last < intervalMs && p.done < p.total && p.done > 0) return;
    last = t;
    send(p);
  };
}

export function parseBaseline(value: string | undefined): BaselineSpec | undefined {
  if (value === undefined) return undefined;
  return (NAMED_BASELINES as readonly string[]).includes(value) ? (value as BaselineSpec) : { file: path.resolve(value) };
}

export function preprocessingFor(model: LoadedModel, job: Pick<ExplainJob, 'modelPath' | 'preprocess'>): Preprocessing | null {
  // Only image models (rank-3 inputs) are preprocessed; tensors and tables are used as given.
  if (model.inputShape.length !== 3) return null;
  return resolvePreprocessing({
    explicit: job.preprocess,
    modelDir: path.dirname(path.resolve(job.modelPath)),
    inModel: model.summary.inputPreprocessingLayer,
    suggested: model.summary.suggestedPreprocessing,
  });
}

/**
 * Pattern methods fit and replay signal/distractor patterns per layer of a TF.js layers model; an
 * imported ONNX graph has no such layers, so they are refused before anything loads.
 */
export function refusePatternMethodsOnOnnx(methods: readonly string[], modelPath: string, what?: string): void {
  const [method] = methodsNeeding(methods, 'patterns');
  if (!method || !isOnnxModelFileName(modelPath)) return;
  throw new PathLensError(
    'model-unsupported',
    `${what ?? method} cannot run on the ONNX model ${path.basename(modelPath)}: the pattern methods (${methodsNeeding([...METHODS.keys()], 'patterns').join(', ')}) need patterns fitted per layer of a TF.js layers model, which an imported ONNX graph does not have; use ig, guided-ig, blur-ig or another path method`,
  );
}

export async function runInfoJob(
  modelPath: string,
  cache: ModelCache,
): Promise<{ summary: ModelSummary; preprocessing: Preprocessing | null }> {
  const model = await cache.get(modelPath);
  return { summary: withLayerShapes(model), preprocessing: preprocessingFor(model, { modelPath }) };
}

/** The summary with every layer's output shape that the internal-layer access knows (graph nodes too). */
function withLayerShapes(model: LoadedModel): ModelSummary {
  const shapes = new Map((model.internals?.list() ?? []).map((l) => [l.name, l.shape]));
  const layers = model.summary.layers.map((l) => {
    const shape = l.outputShape ? null : shapes.get(l.name);
    return shape ? { ...l, outputShape: [null, ...shape] } : l;
  });
  return { ...model.summary, layers };
}

/** A job's model, inputs and the hooks every method needs (baselines, reference sets, patterns). */
export interface PreparedExplain {
  model: LoadedModel;
  preprocessing: Preprocessing | null;
  inputs: PreparedInput[];
  request: ExplainRequest;
  hooks: Pick<ExplainHooks, 'makeBaseline' | 'referenceSet' | 'patterns'>;
  /** Releases the patterns; call when the job ends. */
  dispose(): void;
}

/**
 * Validates the request, loads the (cached) model and the inputs, and loads what the methods need once
 * per job (reference sets, patterns) before any computation, so a missing file fails the job at once.
 */
export async function prepareExplain(job: ExplainJob, cache: ModelCache, onPhase: PhaseListener = () => {}): Promise<PreparedExplain> {
  let phaseStart = performance.now();
  const phase = (name: JobPhase, detail?: string) => {
    const now = performance.now();
    onPhase(name, now - phaseStart, detail);
    phaseStart = now;
  };
  const request: ExplainRequest = {
    methods: job.methods,
    target: job.target,
    output: job.output,
    options: { ...job.options, baseline: parseBaseline(job.options.baseline) },
    memoryBudgetMB: job.memoryBudgetMB,
  };
  validateRequest(request);
  const reads = cache.reads;
  const cached = await cache.get(job.modelPath, job.memoryBudgetMB);
  phase('model load', cache.reads > reads ? 'read from disk' : 'cached in the worker');
  const preprocessing = preprocessingFor(cached, job);
  const crop = defaultCropFor(job.modelPath);
  const inputs = await loadInputs(job.inputs, cached, preprocessing, { maxRows: job.maxRows, crop });
  if (inputs.length === 0)
    throw new PathLensError('input', `no usable inputs in ${job.inputs.join(', ')} (expected .png, .jpg, .json or .csv files)`);
  const model = bindInputShape(cached, inputs);
  phase('inputs', `${inputs.length} input(s)`);
  const seed = typeof job.options.seed === 'number' ? job.options.seed : 0;
  const resources = jobResources(job.modelPath, model, preprocessing, seed);
  if (typeof job.options.reference === 'string' && methodsNeeding(job.methods, 'referenceSet').length > 0)
    await resources.referenceSet(job.options.reference);
  // Patterns (PatternNet, PatternAttribution, PGIG): a missing or stale pattern file fails the job here.
  refusePatternMethodsOnOnnx(job.methods, job.modelPath);
  const needsPatterns = methodsNeeding(job.methods, 'patterns').length > 0;
  const patterns = needsPatterns
    ? await loadPatterns(job.modelPath, typeof job.options.patterns === 'string' ? job.options.patterns : undefined)
    : null;
  const hooks: PreparedExplain['hooks'] = {
    ...resources,
    ...(patterns ? { patterns: async () => patterns } : {}),
  };
  return { model, preprocessing, inputs, request, hooks, dispose: () => patterns?.dispose() };
}

/**
 * A job's baselines and reference sets, read like its inputs (preprocessing, crop, tensor layout):
 * what the method context needs from files (`createMethodContext`).
 */
export function jobResources(
  modelPath: string,
  model: LoadedModel,
  preprocessing: Preprocessing | null,
  seed: number,
): MethodResources & Required<Pick<MethodResources, 'referenceSet'>> {
  const crop = defaultCropFor(modelPath);
  return {
    makeBaseline: (spec, input) => ({
      data: makeBaseline(spec, input, { preprocessing, seed, imageOptions: { crop }, tensorLayout: model.tensorLayout }),
      name: typeof spec === 'string' ? spec : path.basename(baselineName(spec).replace(/^file:/, '')),
    }),
    referenceSet: referenceSetLoader(model, preprocessing, crop),
  };
}

/** Reference sets (Expected Gradients) load like inputs, once per job, checked against the input shape. */
function referenceSetLoader(model: LoadedModel, preprocessing: Preprocessing | null, crop: ReturnType<typeof defaultCropFor>) {
  const referenceSets = new Map<string, Promise<Float32Array[]>>();
  return (file: string) => {
    const key = path.resolve(file);
    let cached = referenceSets.get(key);
    if (!cached) {
      cached = loadInputs([key], model, preprocessing, { crop }).then((refs) => {
        const data = refs.map((r) => r.data);
        checkReferenceSet(
          data,
          model.inputShape.reduce((a, b) => a * b, 1),
          file,
          model.inputShape,
        );
        return data;
      });
      referenceSets.set(key, cached);
    }
    return cached;
  };
}

export async function runExplainJob(
  jobId: number,
  job: ExplainJob,
  cache: ModelCache,
  signal: CancellationSignal,
  emit: Emit,
  threads?: JobThreads,
  planner?: BatchPlanner,
): Promise<ExplainResult> {
  const onPhase: PhaseListener = (phase, ms, detail) => emit({ kind: 'phase', jobId, phase, ms, detail });
  const jobStart = performance.now();
  // Pool threads load the model while this thread does: both wait only for the slower.
  const poolReady = threads && threads.count > 0 ? threads.prepare(job.modelPath, job.memoryBudgetMB) : null;
  poolReady?.catch(() => {}); // awaited below; a failed preparation must not be reported unhandled meanwhile
  const prepared = await prepareExplain(job, cache, onPhase);
  const { model, preprocessing, inputs, request } = prepared;
  const backend = currentBackend();
  emit({ kind: 'started', jobId, model: model.summary, backend, preprocessing, inputCount: inputs.length });
  try {
    if (poolReady) {
      // While the pool threads load, this thread's first forward pass (cold kernels and memory) is
      // paid here rather than on the first input's critical path; its result is discarded.
      warmUp(model, inputs[0]!);
      await poolReady;
      onPhase('pool start', performance.now() - jobStart, `${threads!.count} thread(s), from the job's start`);
    }
    const batchPlan = planner ? await planBatches(planner, model, job, backend, threads, onPhase) : undefined;
    const results = await explainInputs(model, inputs, request, {
      ...prepared.hooks,
      signal,
      // Chunks of the inputs in flight share pool requests up to the fastest measured batch.
      remotesFor:
        threads && threads.count > 0
          ? (target, output, inputShape, order) =>
              threads.remotesFor(target, output, inputShape, { ...order, mergeUpTo: batchPlan?.mergeBatch })
          : undefined,
      concurrentInputs: concurrentInputs(threads?.count ?? 0, model, job.memoryBudgetMB),
      batchPlan,
      onProgress: throttle(PROGRESS_INTERVAL_MS, (progress) => emit({ kind: 'progress', jobId, progress })),
      onInput: (inputIndex, started) =>
        emit({ kind: 'input', jobId, inputIndex, input: { ...started, ...describeInput(inputs[inputIndex]!) } }),
      onResult: (inputIndex, result) => emit({ kind: 'result', jobId, inputIndex, result }),
    });
    return { model: model.summary, backend, preprocessing, inputs: results };
  } finally {
    prepared.dispose();
  }
}

/**
 * Inputs explained at once with `threads` pool threads: one more than the threads, so one input's
 * chunks keep the threads busy while the others do their work between rounds (reductions, the
 * next points), as far as the gradients adaptive maps keep (each up to its default cap) fit the
 * memory budget. One without pool threads (this thread computes: nothing to overlap).
 */
export function concurrentInputs(threads: number, model: LoadedModel, memoryBudgetMB = DEFAULT_MEMORY_BUDGET_MB): number {
  if (threads < 1) return 1;
  const keptPerInput = ADAPTIVE_DEFAULTS.maxEvaluations * model.inputShape.reduce((a, b) => a * b, 1) * 4;
  return Math.max(1, Math.min(threads + 1, Math.floor((memoryBudgetMB * MB) / keptPerInput)));
}

/** One prediction of `input` (errors are the input's own to report later, when it is explained). */
function warmUp(model: LoadedModel, input: PreparedInput): void {
  try {
    predictionOf(model, input);
  } catch {
    // reported with the input
  }
}

/** The job's measured batch plan: known, cached on disk, or probed in the threads that will compute. */
async function planBatches(
  planner: BatchPlanner,
  model: LoadedModel,
  job: ExplainJob,
  backend: string,
  threads: JobThreads | undefined,
  onPhase: PhaseListener,
): Promise<BatchPlan | undefined> {
  const started = performance.now();
  const pool = threads && threads.count > 0 ? threads : null;
  const planned = planner.plan({
    model,
    modelPath: job.modelPath,
    backend,
    threads: pool ? pool.count : 1,
    budgetBytes: (job.memoryBudgetMB ?? DEFAULT_MEMORY_BUDGET_MB) * MB,
    probe: async (budgetPerThread) =>
      pool
        ? mergeProbes(await pool.probe(job.modelPath, job.output, model.inputShape, budgetPerThread))
        : probeBatchSizes({ model, target: 0, output: job.output }, budgetPerThread),
  });
  try {
    const { plan, source } = await planned;
    onPhase('batch profile', performance.now() - started, `batch ${plan.batch} per thread (${source})`);
    return plan;
  } catch (err) {
    // A model the probe cannot run fails each input with its own error (as without a plan).
    onPhase('batch profile', performance.now() - started, `probe failed (${describeError(err).message}); chunks sized by memory`);
    return undefined;
  }
}

/** Fits patterns for a layers model over a data set (one streaming pass) and saves them beside it. */
export async function runPatternsFitJob(
  jobId: number,
  job: PatternsFitJob,
  cache: ModelCache,
  signal: CancellationSignal,
  emit: Emit,
): Promise<PatternsFitted> {
  refusePatternMethodsOnOnnx(['pattern-net'], job.modelPath, 'fitting patterns');
  if (readModelArtifacts(job.modelPath).format !== 'layers-model') {
    throw new PathLensError(
      'model-unsupported',
      `pattern methods (pattern-net, pattern-attribution, pgig) need a TF.js layers model; ${job.modelPath} is a graph model`,
    );
  }
  // The model (cached) decides whether inputs are images and so how they are preprocessed.
  const preprocessing = preprocessingFor(await cache.get(job.modelPath), job);
  const { file, header, ms } = await fitModelPatterns(
    {
      modelPath: job.modelPath,
      data: job.data,
      estimator: job.estimator,
      maxSamples: job.maxSamples,
      preprocessing,
      crop: defaultCropFor(job.modelPath),
      out: job.out,
      memoryBudgetMB: job.memoryBudgetMB,
    },
    { signal, onProgress: throttle(PROGRESS_INTERVAL_MS, (progress) => emit({ kind: 'progress', jobId, progress })) },
  );
  return {
    file,
    estimator: header.estimator,
    samples: header.samples,
    layers: header.layers.map(({ name, className, shape, estimator, foldedBatchNorm }) => ({
      name,
      className,
      shape,
      estimator,
      foldedBatchNorm,
    })),
    ms,
  };
}

function describeInput(input: PreparedInput) {
  return {
    kind: input.kind,
    shape: input.shape,
    display: input.display,
    featureNames: input.featureNames,
    values: input.kind === 'image' ? undefined : input.data,
  };
}
