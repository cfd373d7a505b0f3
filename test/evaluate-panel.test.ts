/**
 * What the panel's Evaluate view runs: the evaluate job on the comparison's own maps (scored as given,
 * not recomputed), the perturbed copy behind a clicked curve point (whose F is that point's value),
 * the host's EvaluateRunState (job, messages, step jobs, report) and the webview's messages.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/engine/backend';
import { EvaluateRunState } from '../src/extension/evaluateState';
import type { EvaluatedInput } from '../src/shared/evaluate';
import { parseWebviewMessage, type EvaluateJob, type EvaluateMaps, type ExplainJob, type WorkerEvent } from '../src/shared/protocol';
import type { ExplainResult } from '../src/shared/types';
import { runEvaluateJob, runEvaluateStepJob } from '../src/worker/evaluateJob';
import { ModelCache, runExplainJob } from '../src/worker/jobs';
import { linearModel } from './helpers/analyticModels';

const ZOO = path.resolve(__dirname, '../../shared/zoo');
const MNIST = path.join(ZOO, 'mnist-cnn/model.json');
const DIGIT = path.join(ZOO, 'mnist-cnn/samples/sample_digit.png');

let cache: ModelCache;

beforeAll(async () => {
  await initBackend('cpu');
  cache = new ModelCache();
});

function tableJob(): ExplainJob {
  const model = linearModel([1, -2, 3, 0.5], 0.1);
  const inputs = path.join(path.dirname(model), 'inputs');
  fs.mkdirSync(inputs);
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(inputs, `x${i}.json`), JSON.stringify([i + 1, 1 - i, 0.5, -i / 3]));
  return {
    modelPath: model,
    inputs: [inputs],
    methods: ['ig', 'gradient'],
    target: 'top',
    output: 'logit',
    options: { rule: 'gauss-legendre', steps: 8 },
  };
}

async function explain(job: ExplainJob): Promise<ExplainResult> {
  return runExplainJob(1, job, cache, { cancelled: false }, () => {});
}

function mapsOf(result: ExplainResult): EvaluateMaps[] {
  return result.inputs.map((input, index) => ({
    index,
    path: input.path,
    prediction: input.prediction,
    target: input.target,
    results: input.results,
  }));
}

async function evaluate(job: EvaluateJob): Promise<{ inputs: EvaluatedInput[]; events: WorkerEvent[] }> {
  const events: WorkerEvent[] = [];
  await runEvaluateJob(1, job, cache, { cancelled: false }, (e) => events.push(e));
  const inputs = events.flatMap((e) => (e.kind === 'evaluate-input' ? [e.input] : []));
  return { inputs, events };
}

const evaluateSettings = {
  metrics: ['deletion', 'insertion', 'lerf'] as EvaluateJob['metrics'],
  evalSteps: 4,
  patch: null,
  seed: 0,
  shard: null,
  done: [],
  bootstrap: 100,
};

describe('evaluate job on given maps', () => {
  it('scores the given maps exactly as recomputing them would, and really uses them', async () => {
    const job = tableJob();
    const explained = await explain(job);
    const recomputed = await evaluate({ ...job, ...evaluateSettings });
    const given = await evaluate({ ...job, ...evaluateSettings, maps: mapsOf(explained) });
    expect(given.inputs.map((i) => i.results)).toEqual(recomputed.inputs.map((i) => i.results));
    // Swapping the two methods' maps swaps their curves: the job scored the maps it was given.
    const swapped = mapsOf(explained).map((m) => ({
      ...m,
      results: [
        { ...m.results[0]!, attribution: m.results[1]!.attribution },
        { ...m.results[1]!, attribution: m.results[0]!.attribution },
      ],
    }));
    const scored = await evaluate({ ...job, ...evaluateSettings, maps: swapped });
    for (const [k, input] of scored.inputs.entries()) {
      expect(input.results[0]!.metrics).toEqual(recomputed.inputs[k]!.results[1]!.metrics);
      // Only the curves' copies were evaluated (3 metrics × 5 points × ig, gradient, random): no map was computed.
      expect(input.timing.evaluations).toBe(3 * 5 * 3);
      expect(recomputed.inputs[k]!.timing.evaluations).toBeGreaterThan(3 * 5 * 3);
    }
  });

  it('evaluates only the inputs given and refuses maps of another input', async () => {
    const job = tableJob();
    const maps = mapsOf(await explain(job));
    const only = await evaluate({ ...job, ...evaluateSettings, maps: [maps[2]!] });
    expect(only.inputs.map((i) => i.index)).toEqual([2]);
    await expect(evaluate({ ...job, ...evaluateSettings, maps: [{ ...maps[0]!, index: 1 }] })).rejects.toThrow(/do not belong to input 2/);
  });
});

describe('the perturbed copy behind a curve point', () => {
  it('is the copy whose F is the curve value (table input), with the changed elements marked', async () => {
    const job = tableJob();
    const maps = mapsOf(await explain(job));
    const { inputs } = await evaluate({ ...job, ...evaluateSettings, maps });
    const model = await cache.get(job.modelPath);
    for (const metric of ['deletion', 'insertion', 'lerf'] as const) {
      for (const [method, attribution] of [
        ['ig', maps[1]!.results[0]!.attribution.data],
        ['random', null],
      ] as const) {
        const step = await runEvaluateStepJob(
          { modelPath: job.modelPath, inputs: job.inputs, index: 1, attribution, metric, evalSteps: 4, patch: null, seed: 0, step: 2 },
          cache,
          { cancelled: false },
        );
        const f = tf.tidy(() => model.scores(tf.tensor(step.values!, [1, 4]), 'logit').arraySync() as number[][])[0]![
          maps[1]!.target.index
        ]!;
        const curve = inputs[1]!.results.find((r) => r.method === method)!.metrics[metric]!.curve;
        expect(f).toBeCloseTo(curve[2]!.value, 5);
        expect(step).toMatchObject({ changed: 2, features: 4, fraction: 0.5 });
        expect(Array.from(step.changedMask!).reduce((a, b) => a + b, 0)).toBe(2);
      }
    }
  });

  it('is drawn as an image for an image input: changed pixels show the baseline, the others the input', async () => {
    const job: ExplainJob = {
      modelPath: MNIST,
      inputs: [DIGIT],
      methods: ['gradient'],
      target: 'top',
      output: 'logit',
      preprocess: 'raw255',
      options: { baseline: 'white' },
    };
    const explained = await explain(job);
    const attribution = explained.inputs[0]!.results[0]!.attribution.data;
    const at = (step: number, metric: 'deletion' | 'insertion') =>
      runEvaluateStepJob(
        {
          modelPath: MNIST,
          inputs: [DIGIT],
          preprocess: 'raw255',
          baseline: 'white',
          index: 0,
          attribution,
          metric,
          evalSteps: 10,
          patch: 4,
          seed: 0,
          step,
        },
        cache,
        { cancelled: false },
      );
    const start = await at(0, 'deletion');
    const end = await at(10, 'deletion');
    const middle = await at(5, 'deletion');
    expect(start.display).toMatchObject({ width: 28, height: 28 });
    expect(middle).toMatchObject({ features: 49, changed: 25 });
    const grays = (d: typeof start.display) => Array.from({ length: 28 * 28 }, (_, i) => d!.rgba[i * 4]!);
    expect(grays(end.display).every((v) => v === 255)).toBe(true);
    expect(grays(start.display)).not.toEqual(grays(end.display));
    const mid = grays(middle.display);
    const white = mid.filter((v, i) => v === 255 && grays(start.display)[i] !== 255).length;
    expect(white).toBeGreaterThan(0);
    expect(mid.every((v, i) => v === 255 || v === grays(start.display)[i])).toBe(true);
    expect(grays((await at(0, 'insertion')).display).every((v) => v === 255)).toBe(true);
    await expect(at(11, 'deletion')).rejects.toThrow(/outside 0…10/);
  });
});

describe('the host side of the Evaluate view', () => {
  it('builds the job from the run, streams messages, answers curve points and reports', () => {
    const state = new EvaluateRunState();
    const job: ExplainJob = {
      modelPath: '/m/model.json',
      inputs: ['/m/a.png', '/m/b.png'],
      methods: ['ig', 'gradient'],
      target: 'top',
      output: 'logit',
      options: { seed: 7, baseline: 'black' },
    };
    const data = new Float32Array(4);
    const maps: EvaluateMaps[] = [
      {
        index: 1,
        path: '/m/b.png',
        prediction: { index: 0, score: 1, top: [] },
        target: { index: 0, output: 'logit', score: 1 },
        results: ['ig', 'gradient'].map((method) => ({ method, params: {}, attribution: { shape: [4], data } })),
      },
    ];
    const begun = state.begin({ job, maps }, { metrics: ['insertion'], evalSteps: 5, patch: 2, bootstrap: 50 });
    expect(begun.job).toMatchObject({
      seed: 7,
      metrics: ['insertion'],
      evalSteps: 5,
      patch: 2,
      bootstrap: 50,
      shard: null,
      done: [],
      maps,
    });
    expect(begun.messages).toEqual([
      {
        type: 'evaluate-start',
        evaluateId: 1,
        settings: { metrics: ['insertion'], evalSteps: 5, patch: 2, bootstrap: 50 },
        methods: ['ig', 'gradient'],
        inputs: [{ index: 1, path: '/m/b.png' }],
      },
    ]);
    expect(state.stepJob({ inputIndex: 1, method: 'random', metric: 'insertion', step: 5 })).toMatchObject({
      attribution: null,
      baseline: 'black',
      seed: 7,
      index: 1,
    });
    expect(state.stepJob({ inputIndex: 1, method: 'ig', metric: 'insertion', step: 3 })!.attribution).toBe(data);
    expect(state.stepJob({ inputIndex: 0, method: 'ig', metric: 'insertion', step: 3 })).toBeNull();
    expect(state.stepJob({ inputIndex: 1, method: 'ig', metric: 'deletion', step: 3 })).toBeNull();
    expect(state.stepJob({ inputIndex: 1, method: 'ig', metric: 'insertion', step: 6 })).toBeNull();
    expect(state.stepJob({ inputIndex: 1, method: 'smoothgrad', metric: 'insertion', step: 1 })).toBeNull();
    const input = { index: 1, path: '/m/b.png' } as EvaluatedInput;
    expect(state.onEvent({ kind: 'evaluate-input', jobId: 3, input })).toEqual([{ type: 'evaluate-input', evaluateId: 1, input }]);
    expect(state.report()).toBeNull();
    const summary = [
      {
        metric: 'insertion' as const,
        method: 'ig',
        score: 'auc' as const,
        better: 'higher' as const,
        n: 1,
        mean: 2,
        ci95: [2, 2] as [number, number],
        rank: 1,
      },
    ];
    const plan = {
      model: { path: '/m/model.json' } as never,
      backend: 'cpu' as const,
      preprocessing: null,
      inputs: 2,
      inShard: 1,
      todo: 1,
      summary,
    };
    expect(state.finish({ plan })).toEqual([{ type: 'evaluate-done', evaluateId: 1, cancelled: false, summary }]);
    expect(state.report()).toMatchObject({
      methods: ['ig', 'gradient'],
      baseline: 'black',
      seed: 7,
      bootstrap: 50,
      inputs: [input],
      summary,
      reference: { method: 'random', seed: 7 },
    });
    expect(state.replay().map((m) => m.type)).toEqual(['evaluate-start', 'evaluate-input', 'evaluate-done']);
    state.clear();
    expect(state.replay()).toEqual([]);
  });

  it('accepts only well-formed Evaluate messages from the webview', () => {
    expect(parseWebviewMessage({ type: 'evaluate', metrics: ['lerf', 'deletion'], evalSteps: 20, patch: null, bootstrap: 1000 })).toEqual({
      type: 'evaluate',
      metrics: ['deletion', 'lerf'],
      evalSteps: 20,
      patch: null,
      bootstrap: 1000,
    });
    for (const bad of [
      { metrics: [], evalSteps: 20, patch: null, bootstrap: 1000 },
      { metrics: ['auc'], evalSteps: 20, patch: null, bootstrap: 1000 },
      { metrics: ['deletion'], evalSteps: 0, patch: null, bootstrap: 1000 },
      { metrics: ['deletion'], evalSteps: 2.5, patch: null, bootstrap: 1000 },
      { metrics: ['deletion'], evalSteps: 20, patch: 0, bootstrap: 1000 },
      { metrics: ['deletion'], evalSteps: 20, patch: null, bootstrap: 1e9 },
    ])
      expect(parseWebviewMessage({ type: 'evaluate', ...bad })).toBeNull();
    expect(parseWebviewMessage({ type: 'evaluate-step', inputIndex: 0, method: 'ig', metric: 'insertion', step: 3 })).toEqual({
      type: 'evaluate-step',
      inputIndex: 0,
      method: 'ig',
      metric: 'insertion',
      step: 3,
    });
    expect(parseWebviewMessage({ type: 'evaluate-step', inputIndex: -1, method: 'ig', metric: 'insertion', step: 3 })).toBeNull();
    expect(parseWebviewMessage({ type: 'evaluate-step', inputIndex: 0, method: 'ig', metric: 'x', step: 3 })).toBeNull();
  });
});
