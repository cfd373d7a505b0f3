import { describe, expect, it } from 'vitest';
import type { SanityStepResult } from '../../src/shared/sanity';
import { applySanityMessage, similaritySeries, stepX, xAxisLabel } from '../../webview/sanityState';
import { describeMethods } from '../../src/core/methods/catalog';
import { MethodCatalog } from '../../src/shared/methods';

const catalog = new MethodCatalog(describeMethods());
const methodInfos = (names?: readonly string[]) => catalog.infos(names);

const sim = (v: number | null) => ({ spearmanAbs: v, spearmanSigned: v, ssim: v, hog: v, topK: v });
const step = (index: number, extra: Partial<SanityStepResult>): SanityStepResult => ({
  index,
  label: `s${index}`,
  randomized: [],
  prediction: null,
  results: [],
  similarities: { ig: sim(0.5 - index / 10) },
  ...extra,
});

describe('sanity view state', () => {
  it('orders plot points by layer index / noise level and starts at the original (similarity 1)', () => {
    let s = applySanityMessage(null, {
      type: 'sanity-start',
      sanityId: 2,
      check: 'perturbation',
      input: '/a.png',
      methods: methodInfos(['ig']),
    })!;
    s = applySanityMessage(s, { type: 'sanity', sanityId: 2, event: { type: 'step', step: step(1, { level: 0.05 }) } })!;
    s = applySanityMessage(s, {
      type: 'sanity',
      sanityId: 2,
      event: { type: 'step', step: step(0, { level: 0.01, similarities: { ig: sim(null) } }) },
    })!;
    expect(similaritySeries(s, 'ssim')).toEqual({ x: [0, 1, 5], series: [{ method: 'ig', values: [null, null, 0.4] }] });
    s = applySanityMessage(s, {
      type: 'sanity',
      sanityId: 2,
      event: {
        type: 'original',
        prediction: { index: 0, score: 1, top: [] },
        target: { index: 0, output: 'logit', score: 1 },
        results: [],
      },
    })!;
    expect(similaritySeries(s, 'ssim').series[0]!.values[0]).toBe(1);
    // Another check's messages are ignored; done records cancellation.
    expect(applySanityMessage(s, { type: 'sanity-progress', sanityId: 1, progress: { stage: 'x', done: 1, total: 2 } })).toBe(s);
    const done = applySanityMessage(s, { type: 'sanity-done', sanityId: 2, cancelled: true })!;
    expect([done.running, done.cancelled]).toEqual([false, true]);
    expect(xAxisLabel('perturbation')).toMatch(/noise/);
    expect(stepX('cascading', { index: 2, label: '', randomized: [], layerIndex: 3 })).toBe(3);
  });
});
