/**
 * Running a sanity check (ALGORITHMS.md §9) on one input:
 * - cascading randomization (Adebayo et al. 2018): from the output layer downwards, cumulatively
 *   re-initialise each weighted layer; maps recomputed after each step;
 * - independent randomization: one layer at a time, the others trained;
 * - model perturbation (GGIG paper): w + N(0, (level·σ_w)²) on every weighted layer's tensors, a few
 *   draws per level; draws whose top-1 class on the input changes are discarded (count reported).
 * The original maps are computed once on the loaded (cached) model. Each modified model is a separate
 * instance built from the artifacts, used for every method of its step and disposed right after.
 * The explained class stays the original target in every step (the randomized model's own top class
 * is reported, not explained).
 */
import { baselineKey } from '../attribution/baselines';
import { createMethodContext, type MethodResources } from '../attribution/context';
import { optionsFor } from '../attribution/method';
import { currentBackend } from '../engine/backend';
import { Evaluator } from '../engine/evaluator';
import { CancelledError } from '../errors';
import { predictionOf, resolveTarget } from '../explain';
import type { LoadedModel } from '../model/load';
import type { CancellationSignal, MethodResult, PreparedInput, Preprocessing, ProgressCallback, Target } from '../types';
import { METRICS, prepareMap, similarity, type PreparedMap, type Similarity } from './metrics';
import {
  type SanityCheck,
  type SanityEvent,
  type SanityLayer,
  type SanityResult,
  type SanityStepInfo,
  type SanityStepResult,
  type Reinitialisation,
} from './types';
import { validateSanityRequest, type SanityRequest } from './validate';
import { verdictFor } from './verdict';
import { readOnnxModelWeights } from './onnxWeights';
import { buildModel, perturbedWeights, readModelWeights, reinitialise, type ModelWeights, type WeightedLayer } from './weights';

export interface SanityHooks extends MethodResources {
  signal?: CancellationSignal;
  onProgress?: ProgressCallback;
  onEvent?: (event: SanityEvent) => void;
}

const pct = (level: number) => `${+(level * 100).toPrecision(3)}%`;

function plan(check: SanityCheck, layers: WeightedLayer[], levels: number[]): SanityStepInfo[] {
  const fromOutput = [...layers].reverse();
  if (check === 'cascading') {
    return fromOutput.map((layer, i) => ({
      index: i,
      label: layer.label,
      randomized: fromOutput.slice(0, i + 1).map((l) => l.name),
      layerIndex: i + 1,
    }));
  }
  if (check === 'independent')
    return fromOutput.map((layer, i) => ({ index: i, label: layer.label, randomized: [layer.name], layerIndex: i + 1 }));
  return levels.map((level, i) => ({ index: i, label: pct(level), randomized: [], level }));
}

function meanSimilarity(list: Similarity[]): Similarity {
  const out = {} as Similarity;
  for (const metric of METRICS) {
    const values = list.map((s) => s[metric]).filter((v): v is number => v !== null);
    out[metric] = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
  }
  return out;
}

const nullSimilarity = (): Similarity => Object.fromEntries(METRICS.map((m) => [m, null])) as Similarity;

export async function runSanity(
  modelPath: string,
  model: LoadedModel,
  input: PreparedInput,
  request: SanityRequest,
  hooks: SanityHooks,
  preprocessing: Preprocessing | null = null,
): Promise<SanityResult> {
  const started = performance.now();
  const run = new SanityRun(modelPath, model, input, request, hooks);
  const plan = run.announcePlan();
  const original = await run.originalMaps();
  const steps = await run.runSteps(plan.steps);
  const verdicts = run.verdicts(steps);
  return {
    model: model.summary,
    backend: currentBackend(),
    preprocessing,
    input: plan.input,
    check: request.check,
    seed: run.resolved.seed,
    thresholds: run.resolved.thresholds,
    topK: run.resolved.topK,
    methods: plan.methods,
    layers: plan.layers,
    prediction: run.prediction,
    target: original.target,
    original: original.results,
    steps,
    verdicts,
    timing: { ms: Math.round(performance.now() - started), modelsBuilt: run.modelsBuilt },
  };
}

type Resolved = ReturnType<typeof validateSanityRequest>;

/** One sanity check's state and its named steps: plan, original maps, one step per layer/level, verdicts. */
class SanityRun {
  readonly resolved: Resolved;
  /** The unmodified model's prediction on the input (set by `originalMaps`). */
  prediction!: ReturnType<typeof predictionOf>;
  modelsBuilt = 0;
  private readonly weights: ModelWeights;
  private targetIndex = 0;
  /** Baseline arrays depend on the input only: made once, F(x') per model. */
  private readonly baselineData = new Map<string, { data: Float32Array; name: string }>();
  /** Random weights per layer, made once (cascading reuses them cumulatively). */
  private readonly random = new Map<string, { data: Map<string, Float32Array>; how: Reinitialisation[] }>();
  /** Modified models share the original's architecture, so its measured chunk size holds for them too. */
  private chunkSize: number | undefined;
  private reference: PreparedMap[] = [];
  private done = 0;
  private total = 0;

  constructor(
    modelPath: string,
    private readonly model: LoadedModel,
    private readonly input: PreparedInput,
    private readonly request: SanityRequest,
    private readonly hooks: SanityHooks,
  ) {
    this.resolved = validateSanityRequest(request);
    this.weights = model.onnx ? readOnnxModelWeights(model) : readModelWeights(modelPath);
  }

  private emit(event: SanityEvent): void {
    this.hooks.onEvent?.(event);
  }

  private checkCancelled(): void {
    if (this.hooks.signal?.cancelled) throw new CancelledError();
  }

  /** The plan event: methods, weighted layers, the steps (layers or noise levels). */
  announcePlan() {
    const { methods, seed, levels, thresholds, topK } = this.resolved;
    const layers: SanityLayer[] = this.weights.layers.map((l) => ({
      name: l.name,
      label: l.label,
      className: l.className,
      params: l.params,
      weights: l.weights.map((w) => w.name),
    }));
    const steps = plan(this.request.check, this.weights.layers, levels);
    const methodInfo = methods.map((m) => ({ name: m.name, title: m.title, complete: m.complete }));
    const input = this.input;
    const inputInfo = { path: input.path, kind: input.kind, shape: input.shape, ...(input.display ? { display: input.display } : {}) };
    this.emit({ type: 'plan', check: this.request.check, input: inputInfo, seed, thresholds, topK, methods: methodInfo, layers, steps });
    return { layers, steps, methods: methodInfo, input: inputInfo };
  }

  /** The maps of the unmodified model (the reference every step is compared with). */
  async originalMaps(): Promise<{ results: MethodResult[]; target: Target }> {
    const model = this.model;
    this.prediction = predictionOf(model, this.input);
    const targetIndex = (this.targetIndex = resolveTarget(model, this.prediction, this.request.target));
    const original = await this.mapsOf(model, 'original');
    const labels = model.summary.labels;
    const target: Target = {
      index: targetIndex,
      output: this.request.output,
      score: original.inputValue,
      ...(labels ? { label: labels[targetIndex] } : {}),
    };
    this.emit({ type: 'original', prediction: this.prediction, target, results: original.results });
    this.reference = original.results.map((r) => prepareMap(r.attribution.data, r.attribution.shape));
    return { results: original.results, target };
  }

  /** Every method's map on model `m`, with F(x). */
  private async mapsOf(m: LoadedModel, stage: string): Promise<{ results: MethodResult[]; inputValue: number }> {
    const { hooks, input } = this;
    const evaluator = new Evaluator(
      { model: m, target: this.targetIndex, output: this.request.output },
      {
        memoryBudgetMB: this.request.memoryBudgetMB,
        signal: hooks.signal,
        chunkSize: this.chunkSize,
        onProgress: hooks.onProgress ? (p) => hooks.onProgress!({ ...p, stage: `${stage} · ${p.stage}` }) : undefined,
      },
    );
    this.chunkSize ??= await evaluator.chunkSize();
    const context = await createMethodContext(evaluator, input, {
      ...hooks,
      // Baseline data is built once per run; F at it once per model.
      makeBaseline: (spec) => {
        const key = baselineKey(spec);
        let made = this.baselineData.get(key);
        if (!made) this.baselineData.set(key, (made = hooks.makeBaseline(spec, input)));
        return made;
      },
    });
    const results: MethodResult[] = [];
    for (const method of this.resolved.methods) {
      evaluator.checkCancelled();
      results.push(await method.run(context, optionsFor(this.request.options, method.name)));
    }
    return { results, inputValue: context.inputValue };
  }

  private similaritiesOf(results: MethodResult[]): Record<string, Similarity> {
    const { methods, topK } = this.resolved;
    return Object.fromEntries(
      results.map((r, i) => [
        methods[i]!.name,
        similarity(this.reference[i]!, prepareMap(r.attribution.data, r.attribution.shape), { topK }),
      ]),
    );
  }

  private randomFor(layer: WeightedLayer) {
    let r = this.random.get(layer.name);
    if (!r) {
      r = { data: new Map(), how: [] };
      for (const w of layer.weights) {
        const { data, how } = reinitialise(this.weights, layer, w, this.resolved.seed);
        r.data.set(w.name, data);
        r.how.push(how);
      }
      this.random.set(layer.name, r);
    }
    return r;
  }

  /** A model with these weights replaced, used and disposed. */
  private async withModel<T>(overrides: Map<string, Float32Array>, use: (m: LoadedModel) => Promise<T>): Promise<T> {
    const m = await buildModel(this.weights, overrides);
    this.modelsBuilt++;
    try {
      return await use(m);
    } finally {
      m.dispose();
    }
  }

  async runSteps(steps: SanityStepInfo[]): Promise<SanityStepResult[]> {
    const { check } = this.request;
    const results: SanityStepResult[] = [];
    this.total = check === 'perturbation' ? steps.length * this.resolved.draws : steps.length;
    for (const step of steps) {
      this.checkCancelled();
      const stage = `${check} ${step.index + 1}/${steps.length} (${step.label})`;
      this.hooks.onProgress?.({ stage: `sanity: ${stage}`, done: this.done, total: this.total });
      const stepResult = check === 'perturbation' ? await this.perturbationStep(step, stage) : await this.randomizationStep(step, stage);
      results.push(stepResult);
      this.emit({ type: 'step', step: stepResult });
    }
    this.hooks.onProgress?.({ stage: `sanity: ${check}`, done: this.total, total: this.total });
    return results;
  }

  /** Cascading / independent: the step's layers re-initialised, maps recomputed. */
  private async randomizationStep(step: SanityStepInfo, stage: string): Promise<SanityStepResult> {
    const layerByName = new Map(this.weights.layers.map((l) => [l.name, l]));
    const overrides = new Map<string, Float32Array>();
    for (const name of step.randomized) for (const [w, data] of this.randomFor(layerByName.get(name)!).data) overrides.set(w, data);
    const result = await this.withModel(overrides, async (m) => {
      const p = predictionOf(m, this.input);
      const maps = await this.mapsOf(m, stage);
      return {
        ...step,
        reinitialised: this.randomFor(layerByName.get(step.randomized[step.randomized.length - 1]!)!).how,
        prediction: { index: p.index, score: p.score },
        results: maps.results,
        similarities: this.similaritiesOf(maps.results),
      };
    });
    this.done++;
    return result;
  }

  /** Perturbation: a few noisy draws at the step's level; draws that change the top-1 class are discarded. */
  private async perturbationStep(step: SanityStepInfo, stage: string): Promise<SanityStepResult> {
    const { methods, draws, seed } = this.resolved;
    const drawsOut: NonNullable<SanityStepResult['draws']>['draws'] = [];
    const perDraw: Record<string, Similarity[]> = Object.fromEntries(methods.map((m) => [m.name, []]));
    let shown: MethodResult[] = [];
    let shownPrediction: SanityStepResult['prediction'] = null;
    for (let d = 0; d < draws; d++) {
      this.checkCancelled();
      const drawSeed = `${seed}:perturb:${step.level}:${d}`;
      await this.withModel(perturbedWeights(this.weights, step.level!, drawSeed), async (m) => {
        const p = predictionOf(m, this.input);
        const kept = p.index === this.prediction.index;
        drawsOut.push({ seed: drawSeed, predicted: p.index, kept });
        if (!kept) return;
        const maps = await this.mapsOf(m, `${stage} draw ${d + 1}/${draws}`);
        const sims = this.similaritiesOf(maps.results);
        for (const m2 of methods) perDraw[m2.name]!.push(sims[m2.name]!);
        if (shown.length === 0) {
          shown = maps.results;
          shownPrediction = { index: p.index, score: p.score };
        }
      });
      this.done++;
      this.hooks.onProgress?.({ stage: `sanity: ${stage}`, done: this.done, total: this.total });
    }
    const kept = drawsOut.filter((d) => d.kept).length;
    return {
      ...step,
      prediction: shownPrediction,
      draws: { drawn: draws, kept, draws: drawsOut },
      results: shown,
      similarities: Object.fromEntries(methods.map((m) => [m.name, kept ? meanSimilarity(perDraw[m.name]!) : nullSimilarity()])),
      perDraw,
    };
  }

  verdicts(steps: SanityStepResult[]) {
    const verdicts = this.resolved.methods.map((m, i) => {
      const mag = this.reference[i]!.magnitude;
      const constant = mag.every((v) => v === mag[0]);
      return verdictFor(m.name, this.request.check, steps, this.resolved.thresholds, constant);
    });
    this.emit({ type: 'verdicts', verdicts });
    return verdicts;
  }
}
