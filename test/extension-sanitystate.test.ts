import { describe, expect, it } from 'vitest';
import type { SanityEvent } from '../src/core/sanity/types';
import type { WorkerEvent } from '../src/shared/protocol';
import { describeMethods } from '../src/core/methods/catalog';
import { MethodCatalog } from '../src/shared/methods';

const catalog = new MethodCatalog(describeMethods());
const methodInfos = (names?: readonly string[]) => catalog.infos(names);
import { buildSanityJob, SanityRunState } from '../src/extension/sanityState';
import { buildJob, DEFAULT_SETTINGS } from '../src/extension/settings';

const settings = { ...DEFAULT_SETTINGS, igSteps: 12, preprocess: 'raw255', output: 'probability' as const };

describe('sanity checks in the extension', () => {
  it('builds the sanity job from the settings like an explain job', () => {
    const job = buildSanityJob(settings, '/m/model.json', '/m/a.png', ['ig', 'gradient'], 'cascading');
    expect(job).toEqual({
      modelPath: '/m/model.json',
      input: '/m/a.png',
      methods: ['ig', 'gradient'],
      check: 'cascading',
      target: 'top',
      output: 'probability',
      preprocess: 'raw255',
      options: buildJob(settings, '/m/model.json', ['/m/a.png'], ['ig', 'gradient']).options,
      memoryBudgetMB: DEFAULT_SETTINGS.memoryBudgetMB,
      seed: 0,
    });
    // The ig.* settings reach IG (as they do in an explain run).
    expect(JSON.stringify(job.options)).toContain('"steps":12');
    const eg = buildSanityJob(DEFAULT_SETTINGS, '/m/model.json', '/m/a.png', ['expected-gradients'], 'perturbation', {
      reference: '/m/refs',
    });
    expect(eg.options.reference).toBe('/m/refs');
    expect(eg.preprocess).toBeUndefined();
  });

  it('streams worker events to the panel and replays them to a reloaded webview', () => {
    const state = new SanityRunState(methodInfos);
    expect(state.replay()).toEqual([]);
    const job = buildSanityJob(settings, '/m/model.json', '/m/a.png', ['ig'], 'cascading');
    const start = state.begin(job);
    expect(start).toEqual([{ type: 'sanity-start', sanityId: 1, check: 'cascading', input: '/m/a.png', methods: methodInfos(['ig']) }]);
    expect(state.running).toBe(true);
    const verdicts: SanityEvent = {
      type: 'verdicts',
      verdicts: [{ method: 'ig', check: 'cascading', status: 'pass', metric: 'spearmanAbs', reason: 'passes' }],
    };
    const events: WorkerEvent[] = [
      { kind: 'progress', jobId: 3, progress: { stage: 'sanity', done: 1, total: 4 } },
      { kind: 'sanity', jobId: 3, event: verdicts },
      { kind: 'memory', jobId: 3, numTensors: 1, numBytes: 4 },
    ];
    const live = events.flatMap((e) => state.onEvent(e));
    expect(live).toEqual([
      { type: 'sanity-progress', sanityId: 1, progress: { stage: 'sanity', done: 1, total: 4 } },
      { type: 'sanity', sanityId: 1, event: verdicts },
    ]);
    // Mid-run replay: no progress, no done.
    expect(state.replay()).toEqual([...start, live[1]]);
    expect(state.finish({ ok: true })).toEqual([{ type: 'sanity-done', sanityId: 1, cancelled: false }]);
    expect(state.running).toBe(false);
    expect(state.replay().at(-1)).toEqual({ type: 'sanity-done', sanityId: 1, cancelled: false });
  });

  it('reports cancellation and errors, and a new check starts a new id', () => {
    const state = new SanityRunState(methodInfos);
    state.begin(buildSanityJob(settings, '/m/model.json', '/m/a.png', ['ig'], 'independent'));
    expect(state.finish({ error: { code: 'cancelled', message: 'Cancelled by the user.' } })).toEqual([
      { type: 'sanity-done', sanityId: 1, cancelled: true },
    ]);
    const second = state.begin(buildSanityJob(settings, '/m/model.json', '/m/b.png', ['gradient'], 'perturbation'));
    expect(second[0]).toMatchObject({ type: 'sanity-start', sanityId: 2, check: 'perturbation' });
    const error = { code: 'usage' as const, message: 'unknown method' };
    expect(state.finish({ error })).toEqual([{ type: 'sanity-done', sanityId: 2, cancelled: false, error }]);
    expect(state.replay()).toEqual([...second, { type: 'sanity-done', sanityId: 2, cancelled: false, error }]);
  });
});
