import { describe, expect, it } from 'vitest';
import type { ExplainResult, MethodResult, ModelSummary } from '../src/core/types';
import type { ExplainJob, InputStarted, WorkerEvent } from '../src/shared/protocol';
import { inputFile, modelPathFromState, RunState } from '../src/extension/runState';
import { describeMethods } from '../src/core/methods/catalog';
import { MethodCatalog } from '../src/shared/methods';

const catalog = new MethodCatalog(describeMethods());
const methodInfos = (names?: readonly string[]) => catalog.infos(names);
import { buildJob, DEFAULT_SETTINGS } from '../src/extension/settings';

const model: ModelSummary = {
  path: '/m/model.json',
  format: 'layers-model',
  inputs: [{ name: 'x', shape: [null, 4, 4, 1], dtype: 'float32' }],
  outputs: [{ name: 'y', shape: [null, 3], dtype: 'float32' }],
  layers: [],
  totalParams: 10,
  finalActivation: 'softmax',
  labels: ['a', 'b', 'c'],
  labelsSource: 'labels.txt',
  weightBytes: 40,
};
const started = (p: string, target = 1): InputStarted => ({
  path: p,
  kind: 'image',
  shape: [4, 4, 1],
  prediction: { index: 1, score: 0.9, label: 'b', top: [{ index: 1, score: 0.9, label: 'b' }] },
  target: { index: target, label: ['a', 'b', 'c'][target], output: 'logit', score: 2 },
});
const result = (method: string, value = 1): MethodResult => ({
  method,
  params: {},
  attribution: { shape: [4, 4, 1], data: new Float32Array(16).fill(value) },
  completeness: null,
  timing: { ms: 1, evaluations: 1 },
});
const job: ExplainJob = buildJob(DEFAULT_SETTINGS, '/m/model.json', ['/m/a.png', '/m/t.csv'], ['ig', 'gradient']);

function fullRun(state: RunState) {
  state.beginFull(job);
  const events: WorkerEvent[] = [
    { kind: 'progress', jobId: 1, progress: { stage: 'load', done: 0, total: 1 } },
    { kind: 'started', jobId: 1, model, backend: 'wasm', preprocessing: null, inputCount: 2 },
    { kind: 'input', jobId: 1, inputIndex: 0, input: started('/m/a.png') },
    { kind: 'result', jobId: 1, inputIndex: 0, result: result('ig') },
    { kind: 'result', jobId: 1, inputIndex: 0, result: result('gradient') },
    { kind: 'input', jobId: 1, inputIndex: 1, input: started('/m/t.csv#row2') },
    { kind: 'result', jobId: 1, inputIndex: 1, result: result('ig') },
  ];
  return events.flatMap((e) => state.onEvent({ kind: 'full' }, e));
}

describe('RunState', () => {
  it('translates worker events into panel messages for a full run', () => {
    const state = new RunState(methodInfos);
    const messages = fullRun(state);
    expect(messages.map((m) => m.type)).toEqual(['progress', 'run', 'input', 'result', 'result', 'input', 'result']);
    const run = messages[1]!;
    expect(run).toMatchObject({ type: 'run', runId: 1, backend: 'wasm', inputCount: 2 });
    if (run.type === 'run') expect(run.methods.map((m) => m.name)).toEqual(['ig', 'gradient']);
    expect(messages.every((m) => 'runId' in m && m.runId === 1)).toBe(true);
    expect(state.running).toBe(true);
    const end = state.finish({ kind: 'full' }, { result: state.toResult()! });
    expect(end).toEqual([{ type: 'done', runId: 1, cancelled: false }]);
    expect(state.running).toBe(false);
  });

  it('replays everything to a reloaded webview', () => {
    const state = new RunState(methodInfos);
    const live = fullRun(state).filter((m) => m.type !== 'progress');
    state.finish({ kind: 'full' }, { cancelled: true });
    const replay = state.replay();
    expect(replay.slice(0, live.length)).toEqual(live);
    expect(replay.at(-1)).toEqual({ type: 'done', runId: 1, cancelled: true });
  });

  it('reports a run error and per-input errors, and keeps them for replay', () => {
    const state = new RunState(methodInfos);
    fullRun(state);
    const r = state.toResult()!;
    r.inputs[1]!.error = 'unreadable';
    const end = state.finish({ kind: 'full' }, { result: r });
    expect(end[0]).toMatchObject({ type: 'error', runId: 1, inputIndex: 1 });
    expect(state.replay().some((m) => m.type === 'error' && m.inputIndex === 1)).toBe(true);

    const failed = new RunState(methodInfos);
    failed.beginFull(job);
    const out = failed.finish({ kind: 'full' }, { error: { code: 'model-json', message: 'bad model' } });
    expect(out).toEqual([
      { type: 'error', runId: 1, error: { code: 'model-json', message: 'bad model' } },
      { type: 'done', runId: 1, cancelled: false },
    ]);
    expect(failed.replay()[0]).toMatchObject({ type: 'error' });
  });

  it('treats a cancelled error as a cancellation, not an error', () => {
    const state = new RunState(methodInfos);
    fullRun(state);
    expect(state.finish({ kind: 'full' }, { error: { code: 'cancelled', message: 'Cancelled by the user.' } })).toEqual([
      { type: 'done', runId: 1, cancelled: true },
    ]);
  });

  it('re-runs one input for a new target and maps worker indices back to the panel', () => {
    const state = new RunState(methodInfos);
    fullRun(state);
    state.finish({ kind: 'full' }, { result: state.toResult()! });
    const scope = { kind: 'target' as const, inputIndex: 1, target: 2 };
    const subs = state.subJobs(scope, (inputs, methods, target, params) =>
      buildJob(DEFAULT_SETTINGS, '/m/model.json', inputs, methods, target, params),
    )!;
    expect(subs).toHaveLength(1);
    const sub = subs[0]!;
    expect(sub.inputs).toEqual(['/m/t.csv']);
    expect(sub.methods).toEqual(['ig', 'gradient']);
    expect(sub.target).toBe(2);
    state.beginSub();
    const messages = [
      { kind: 'started', jobId: 2, model, backend: 'wasm', preprocessing: null, inputCount: 3 },
      { kind: 'input', jobId: 2, inputIndex: 0, input: started('/m/t.csv#row1', 2) },
      { kind: 'result', jobId: 2, inputIndex: 0, result: result('ig', 5) },
      { kind: 'input', jobId: 2, inputIndex: 1, input: started('/m/t.csv#row2', 2) },
      { kind: 'result', jobId: 2, inputIndex: 1, result: result('ig', 7) },
    ].flatMap((e) => state.onEvent(scope, e as WorkerEvent));
    expect(messages).toEqual([
      { type: 'input', runId: 1, inputIndex: 1, input: started('/m/t.csv#row2', 2) },
      { type: 'result', runId: 1, inputIndex: 1, result: result('ig', 7) },
    ]);
    const r = state.toResult()!;
    expect(r.inputs[1]!.target.index).toBe(2);
    expect(r.inputs[1]!.results.map((x) => x.method)).toEqual(['ig']);
    expect(r.inputs[0]!.results).toHaveLength(2);
  });

  it('recomputes one map with parameters, keeping the input target', () => {
    const state = new RunState(methodInfos);
    fullRun(state);
    const scope = { kind: 'recompute' as const, inputIndex: 0, method: 'ig', params: { steps: 300 } };
    const [sub] = state.subJobs(scope, (inputs, methods, target, params) =>
      buildJob(DEFAULT_SETTINGS, '/m/model.json', inputs, methods, target, params),
    )!;
    expect(sub).toMatchObject({ inputs: ['/m/a.png'], methods: ['ig'], target: 1, options: { steps: 300 } });
    expect(state.subJobs({ ...scope, method: 'smoothgrad' }, () => job)).toBeNull();
    expect(state.subJobs({ ...scope, inputIndex: 9 }, () => job)).toBeNull();
    state.beginSub();
    const msgs = [
      { kind: 'input', jobId: 3, inputIndex: 0, input: started('/m/a.png') },
      { kind: 'result', jobId: 3, inputIndex: 0, result: result('ig', 9) },
    ].flatMap((e) => state.onEvent(scope, e as WorkerEvent));
    expect(msgs).toEqual([{ type: 'result', runId: 1, inputIndex: 0, result: result('ig', 9) }]);
    const r: ExplainResult = state.toResult()!;
    expect(r.inputs[0]!.results.map((x) => [x.method, x.attribution.data[0]])).toEqual([
      ['ig', 9],
      ['gradient', 1],
    ]);
  });

  it('keeps the parameters set via recompute when the target changes (one job per parameter group)', () => {
    const state = new RunState(methodInfos);
    fullRun(state);
    state.finish({ kind: 'full' }, { result: state.toResult()! });
    const build = (inputs: string[], methods: string[], target: 'top' | number, params?: Record<string, string | number | boolean>) =>
      buildJob(DEFAULT_SETTINGS, '/m/model.json', inputs, methods, target, params);
    state.subJobs({ kind: 'recompute', inputIndex: 0, method: 'ig', params: { steps: 300, rule: 'trapezoid' } }, build);
    expect(state.paramsFor(0, 'ig')).toEqual({ steps: 300, rule: 'trapezoid' });
    const scope = { kind: 'target' as const, inputIndex: 0, target: 2 };
    const jobs = state.subJobs(scope, build)!;
    expect(jobs.map((j) => [j.methods, j.target, j.options.methodOverrides?.ig?.steps, j.options.methodOverrides?.ig?.rule])).toEqual([
      [['ig'], 2, 300, 'trapezoid'],
      [['gradient'], 2, DEFAULT_SETTINGS.igSteps, DEFAULT_SETTINGS.igRule],
    ]);
    // Another input keeps the settings; both of its methods share one job.
    expect(state.subJobs({ ...scope, inputIndex: 1 }, build)!.map((j) => j.methods)).toEqual([['ig', 'gradient']]);
    // The two jobs' results end up side by side for the new target (the second job does not clear the first).
    state.beginSub();
    const events = [
      { kind: 'input', jobId: 4, inputIndex: 0, input: started('/m/a.png', 2) },
      { kind: 'result', jobId: 4, inputIndex: 0, result: result('ig', 3) },
      { kind: 'input', jobId: 5, inputIndex: 0, input: started('/m/a.png', 2) },
      { kind: 'result', jobId: 5, inputIndex: 0, result: result('gradient', 4) },
    ];
    events.flatMap((e) => state.onEvent(scope, e as WorkerEvent));
    const r = state.toResult()!;
    expect(r.inputs[0]!.target.index).toBe(2);
    expect(r.inputs[0]!.results.map((x) => [x.method, x.attribution.data[0]])).toEqual([
      ['ig', 3],
      ['gradient', 4],
    ]);
    // A new full run forgets them.
    state.beginFull(job);
    expect(state.paramsFor(0, 'ig')).toBeUndefined();
  });

  it('carries the reference set (and a pattern file) of the full job into target and recompute jobs', () => {
    const state = new RunState(methodInfos);
    const egJob = buildJob(DEFAULT_SETTINGS, '/m/model.json', ['/m/a.png'], ['expected-gradients', 'ig'], 'top', { reference: '/m/refs' });
    state.beginFull(egJob);
    state.onEvent({ kind: 'full' }, { kind: 'started', jobId: 1, model, backend: 'wasm', preprocessing: null, inputCount: 1 });
    state.onEvent({ kind: 'full' }, { kind: 'input', jobId: 1, inputIndex: 0, input: started('/m/a.png') });
    const build = (inputs: string[], methods: string[], target: 'top' | number, params?: Record<string, string | number | boolean>) =>
      buildJob(DEFAULT_SETTINGS, '/m/model.json', inputs, methods, target, params);
    const [target] = state.subJobs({ kind: 'target', inputIndex: 0, target: 0 }, build)!;
    expect(target!.options.reference).toBe('/m/refs');
    const [recompute] = state.subJobs({ kind: 'recompute', inputIndex: 0, method: 'expected-gradients', params: { samples: 8 } }, build)!;
    expect(recompute!.options).toMatchObject({ reference: '/m/refs', samples: 8 });
  });

  it('starts a new run id for each full run', () => {
    const state = new RunState(methodInfos);
    fullRun(state);
    expect(state.beginFull(job)).toBe(2);
    expect(state.toResult()).toBeNull();
    expect(state.replay()).toEqual([]);
  });
});

describe('helpers', () => {
  it('inputFile strips CSV row suffixes only', () => {
    expect(inputFile('/d/t.csv#row3')).toBe('/d/t.csv');
    expect(inputFile('/d/a#b.png')).toBe('/d/a#b.png');
  });

  it('modelPathFromState reads the webview state', () => {
    expect(modelPathFromState({ version: 1, model: { path: '/m/model.json' } })).toBe('/m/model.json');
    expect(modelPathFromState({ model: { path: 'relative/model.json' } })).toBeNull();
    expect(modelPathFromState(undefined)).toBeNull();
    expect(modelPathFromState({ model: null })).toBeNull();
  });
});
