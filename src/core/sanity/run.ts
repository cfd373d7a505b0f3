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
import * as tf from '@tensorflow/tfjs-core';
import { baselineKey, baselineResolver } from '../attribution/baselines';
import { optionsFor, type MethodContext } from '../attribution/method';
import { currentBackend } from '../engine/backend';
import { Evaluator } from '../engine/evaluator';
import { CancelledError, PathLensError } from '../errors';
import { predictionOf } from '../explain';
import type { LoadedModel } from '../model/load';
import type { BaselineSpec, CancellationSignal, MethodResult, PreparedInput, Preprocessing, ProgressCallback, Target } from '../types';
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
import { buildModel, perturbedWeights, readModelWeights, reinitialise, type ModelWeights, type WeightedLayer } from './weights';

export interface SanityHooks {
  signal?: CancellationSignal;
  onProgress?: ProgressCallback;
  onEvent?: (event: SanityEvent) => void;
  makeBaseline: (spec: BaselineSpec, input: PreparedInput) => { data: Float32Array; name: string };
  referenceSet?: (path: string) => Promise<Float32Array[]>;
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
  const { methods, seed, levels, draws, thresholds, topK } = validateSanityRequest(request);
  const emit = (event: SanityEvent) => hooks.onEvent?.(event);
  const checkCancelled = () => {
    if (hooks.signal?.cancelled) throw new CancelledError();
  };
  const weights = readModelWeights(modelPath);
  const layers: SanityLayer[] = weights.layers.map((l) => ({
    name: l.name,
    label: l.label,
    className: l.className,
    params: l.params,
    weights: l.weights.map((w) => w.name),
  }));
  const steps = plan(request.check, weights.layers, levels);
  const methodInfo = methods.map((m) => ({ name: m.name, title: m.title, complete: m.complete }));
  const inputInfo = { path: input.path, kind: input.kind, shape: input.shape, ...(input.display ? { display: input.display } : {}) };
  emit({ type: 'plan', check: request.check, input: inputInfo, seed, thresholds, topK, methods: methodInfo, layers, steps });

  const prediction = predictionOf(model, input);
  const targetIndex = request.target === 'top' ? prediction.index : request.target;
  if (!Number.isInteger(targetIndex) || targetIndex < 0 || targetIndex >= model.numClasses) {
    throw new PathLensError(
      'target',
      `target class ${targetIndex} is out of range: the model has ${model.numClasses} classes (0–${model.numClasses - 1})`,
    );
  }

  // Baseline arrays depend on the input only: made once, F(x') per model.
  const baselineData = new Map<string, { data: Float32Array; name: string }>();
  // Modified models share the original's architecture, so its measured chunk size holds for them too
  // (saves one measuring pass per model).
  let chunkSize: number | undefined;
  const mapsOf = async (m: LoadedModel, stage: string): Promise<{ results: MethodResult[]; inputValue: number }> => {
    const evaluator = new Evaluator(
      { model: m, target: targetIndex, output: request.output },
      {
        memoryBudgetMB: request.memoryBudgetMB,
        signal: hooks.signal,
        chunkSize,
        onProgress: hooks.onProgress ? (p) => hooks.onProgress!({ ...p, stage: `${stage} · ${p.stage}` }) : undefined,
      },
    );
    chunkSize ??= await evaluator.chunkSize();
    const [inputValue] = await evaluator.values(1, () => tf.tensor(input.data, [1, ...m.inputShape]), 'F(x)');
    const context: MethodContext = {
      evaluator,
      input,
      inputValue: inputValue!,
      // Baseline data is built once per run; F at it once per model.
      baseline: baselineResolver(evaluator, (spec) => {
        const key = baselineKey(spec);
        let made = baselineData.get(key);
        if (!made) baselineData.set(key, (made = hooks.makeBaseline(spec, input)));
        return made;
      }),
      ...(hooks.referenceSet ? { referenceSet: hooks.referenceSet } : {}),
    };
    const results: MethodResult[] = [];
    for (const method of methods) {
      evaluator.checkCancelled();
      results.push(await method.run(context, optionsFor(request.options, method.name)));
    }
    return { results, inputValue: inputValue! };
  };

  const original = await mapsOf(model, 'original');
  const labels = model.summary.labels;
  const target: Target = {
    index: targetIndex,
    output: request.output,
    score: original.inputValue,
    ...(labels ? { label: labels[targetIndex] } : {}),
  };
  emit({ type: 'original', prediction, target, results: original.results });
  const reference: PreparedMap[] = original.results.map((r) => prepareMap(r.attribution.data, r.attribution.shape));
  const similaritiesOf = (results: MethodResult[]): Record<string, Similarity> =>
    Object.fromEntries(
      results.map((r, i) => [methods[i]!.name, similarity(reference[i]!, prepareMap(r.attribution.data, r.attribution.shape), { topK })]),
    );

  // Random weights per layer, made once (cascading reuses them cumulatively).
  const random = new Map<string, { data: Map<string, Float32Array>; how: Reinitialisation[] }>();
  const randomFor = (layer: WeightedLayer) => {
    let r = random.get(layer.name);
    if (!r) {
      r = { data: new Map(), how: [] };
      for (const w of layer.weights) {
        const { data, how } = reinitialise(weights, layer, w, seed);
        r.data.set(w.name, data);
        r.how.push(how);
      }
      random.set(layer.name, r);
    }
    return r;
  };
  const layerByName = new Map(weights.layers.map((l) => [l.name, l]));
  let modelsBuilt = 0;
  const withModel = async <T>(overrides: Map<string, Float32Array>, use: (m: LoadedModel) => Promise<T>): Promise<T> => {
    const m = await buildModel(weights, overrides);
    modelsBuilt++;
    try {
      return await use(m);
    } finally {
      m.dispose();
    }
  };

  const results: SanityStepResult[] = [];
  const total = request.check === 'perturbation' ? steps.length * draws : steps.length;
  let done = 0;
  for (const step of steps) {
    checkCancelled();
    const stage = `${request.check} ${step.index + 1}/${steps.length} (${step.label})`;
    hooks.onProgress?.({ stage: `sanity: ${stage}`, done, total });
    let stepResult: SanityStepResult;
    if (request.check === 'perturbation') {
      stepResult = await perturbationStep(step, stage);
    } else {
      const overrides = new Map<string, Float32Array>();
      for (const name of step.randomized) for (const [w, data] of randomFor(layerByName.get(name)!).data) overrides.set(w, data);
      stepResult = await withModel(overrides, async (m) => {
        const p = predictionOf(m, input);
        const maps = await mapsOf(m, stage);
        return {
          ...step,
          reinitialised: randomFor(layerByName.get(step.randomized[step.randomized.length - 1]!)!).how,
          prediction: { index: p.index, score: p.score },
          results: maps.results,
          similarities: similaritiesOf(maps.results),
        };
      });
      done++;
    }
    results.push(stepResult);
    emit({ type: 'step', step: stepResult });
  }
  hooks.onProgress?.({ stage: `sanity: ${request.check}`, done: total, total });

  async function perturbationStep(step: SanityStepInfo, stage: string): Promise<SanityStepResult> {
    const drawsOut: NonNullable<SanityStepResult['draws']>['draws'] = [];
    const perDraw: Record<string, Similarity[]> = Object.fromEntries(methods.map((m) => [m.name, []]));
    let shown: MethodResult[] = [];
    let shownPrediction: SanityStepResult['prediction'] = null;
    for (let d = 0; d < draws; d++) {
      checkCancelled();
      const drawSeed = `${seed}:perturb:${step.level}:${d}`;
      await withModel(perturbedWeights(weights as ModelWeights, step.level!, drawSeed), async (m) => {
        const p = predictionOf(m, input);
        const kept = p.index === prediction.index;
        drawsOut.push({ seed: drawSeed, predicted: p.index, kept });
        if (!kept) return;
        const maps = await mapsOf(m, `${stage} draw ${d + 1}/${draws}`);
        const sims = similaritiesOf(maps.results);
        for (const m2 of methods) perDraw[m2.name]!.push(sims[m2.name]!);
        if (shown.length === 0) {
          shown = maps.results;
          shownPrediction = { index: p.index, score: p.score };
        }
      });
      done++;
      hooks.onProgress?.({ stage: `sanity: ${stage}`, done, total });
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

  const verdicts = methods.map((m, i) => {
    const mag = reference[i]!.magnitude;
    const constant = mag.every((v) => v === mag[0]);
    return verdictFor(m.name, request.check, results, thresholds, constant);
  });
  emit({ type: 'verdicts', verdicts });

  return {
    model: model.summary,
    backend: currentBackend(),
    preprocessing,
    input: inputInfo,
    check: request.check,
    seed,
    thresholds,
    topK,
    methods: methodInfo,
    layers,
    prediction,
    target,
    original: original.results,
    steps: results,
    verdicts,
    timing: { ms: Math.round(performance.now() - started), modelsBuilt },
  };
}
