import { describe, expect, it } from 'vitest';
import {
  curveAopc,
  curveAuc,
  featureLayout,
  featureScores,
  metricCurve,
  perturbedCopies,
  perturbedCopyAt,
  rankFeatures,
  randomRanking,
  stepCounts,
} from '../src/core/evaluate/metrics';
import { bootstrapCi, competitionRanks, summarize } from '../src/core/evaluate/summary';
import { buildReport, inShard, mergeShards, parseShard, reportFileName, type EvaluateSettingsRecord } from '../src/core/evaluate/result';
import type { EvaluatedInput } from '../src/core/evaluate/run';
import { createRng } from '../src/core/random';

describe('features (§2)', () => {
  it('pixels cover all channels, row-major', () => {
    const layout = featureLayout([2, 3, 2], null);
    expect(layout.count).toBe(6);
    expect(Array.from(layout.members[4]!)).toEqual([8, 9]); // y=1, x=1 → (1·3+1)·2
  });
  it('patches that do not divide the image leave smaller edge patches', () => {
    const layout = featureLayout([5, 7, 1], 3); // rows 0-2,3-4; cols 0-2,3-5,6
    expect(layout.count).toBe(2 * 3);
    expect(layout.members.map((m) => m.length)).toEqual([9, 9, 3, 6, 6, 2]);
    expect(Array.from(layout.members[2]!)).toEqual([6, 13, 20]); // column 6 of rows 0..2
    expect(Array.from(layout.members[5]!)).toEqual([27, 34]); // patch j = 1·⌈7/3⌉ + 2: rows 3,4 col 6
    const all = layout.members.flatMap((m) => Array.from(m)).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 35 }, (_, i) => i));
  });
  it('non-image inputs: one feature per element; --patch refused', () => {
    expect(featureLayout([4], null).count).toBe(4);
    expect(featureLayout([2, 3], null).count).toBe(6);
    expect(() => featureLayout([4], 2)).toThrow(/--patch needs an image input/);
  });
  it('scores are signed sums over the feature', () => {
    const layout = featureLayout([2, 2, 2], 2);
    expect(Array.from(featureScores([1, -2, 3, -4, 5, 6, -7, 0.5], layout))).toEqual([2.5]);
  });
});

describe('ranking (§3)', () => {
  it('descending, ties by index ascending, +0 equals −0', () => {
    expect(Array.from(rankFeatures([1, 3, 3, -1, 0, -0, 3]))).toEqual([1, 2, 6, 0, 4, 5, 3]);
    expect(Array.from(rankFeatures([-0, 0]))).toEqual([0, 1]);
  });
  it('LeRF replaces the higher index first among ties', () => {
    const copies = perturbedCopies('lerf', [1, 2, 3], [0, 0, 0], featureLayout([3], null), rankFeatures([5, 5, 5]), 3);
    expect(Array.from(copies)).toEqual([1, 2, 3, 1, 2, 0, 1, 0, 0, 0, 0, 0]);
  });
  it('random ranking is a seeded permutation', () => {
    const a = randomRanking(50, createRng('s'));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(randomRanking(50, createRng('s')))).toEqual(Array.from(a));
  });
});

describe('steps (§4)', () => {
  it('round half up in integers; m_0 = 0 and m_N = D', () => {
    expect(stepCounts(5, 2)).toEqual([0, 3, 5]); // 2.5 → 3
    expect(stepCounts(7, 4)).toEqual([0, 2, 4, 5, 7]); // 1.75, 3.5, 5.25
    expect(stepCounts(3, 6)).toEqual([0, 1, 1, 2, 2, 3, 3]); // 0.5→1, 1, 1.5→2, 2, 2.5→3
    expect(stepCounts(2 ** 40, 3)[1]).toBe(Math.floor((2 * 2 ** 40 + 3) / 6));
  });
  it('refuses non-positive or fractional N', () => {
    expect(() => stepCounts(4, 0)).toThrow(/positive integer/);
    expect(() => stepCounts(4, 1.5)).toThrow(/positive integer/);
  });
});

describe('perturbations and curves (§5, §6)', () => {
  const x = [10, 20, 30, 40];
  const b = [1, 2, 3, 4];
  const layout = featureLayout([4], null);
  const ranking = rankFeatures([0.1, 0.4, 0.3, 0.2]); // 1, 2, 3, 0
  it('deletion replaces by the baseline in π order; insertion starts at the baseline', () => {
    expect(Array.from(perturbedCopies('deletion', x, b, layout, ranking, 2))).toEqual([10, 20, 30, 40, 10, 2, 3, 40, 1, 2, 3, 4]);
    expect(Array.from(perturbedCopies('insertion', x, b, layout, ranking, 2))).toEqual([1, 2, 3, 4, 1, 20, 30, 4, 10, 20, 30, 40]);
    expect(Array.from(perturbedCopyAt('insertion', x, b, layout, ranking, 2, 1))).toEqual([1, 20, 30, 4]);
    expect(Array.from(perturbedCopies('morf', x, b, layout, ranking, 2))).toEqual(
      Array.from(perturbedCopies('deletion', x, b, layout, ranking, 2)),
    );
  });
  it('auc is the trapezoid, aopc the mean drop, fraction k/N', () => {
    const values = [4, 1, 2, 0];
    expect(curveAuc(values)).toBeCloseTo((4 / 2 + 1 + 2 + 0 / 2) / 3, 15);
    expect(curveAopc(values)).toBeCloseTo((0 + 3 + 2 + 4) / 4, 15);
    const curve = metricCurve('lerf', values);
    expect(curve.curve.map((p) => p.fraction)).toEqual([0, 1 / 3, 2 / 3, 1]);
    expect(curve.aopc).toBeCloseTo(9 / 4, 15);
    expect(metricCurve('deletion', values).aopc).toBeUndefined();
  });
});

describe('summary (§7)', () => {
  it('bootstrap CI contains the mean, lies within [min, max], has width when scores differ, is seeded', () => {
    const scores = [0.1, 0.5, 0.3, 0.9, 0.2];
    const [lo, hi] = bootstrapCi(scores, 1000, 0);
    const mean = scores.reduce((a, c) => a + c) / scores.length;
    expect(lo).toBeLessThanOrEqual(mean);
    expect(hi).toBeGreaterThanOrEqual(mean);
    expect(lo).toBeGreaterThanOrEqual(0.1);
    expect(hi).toBeLessThanOrEqual(0.9);
    expect(hi - lo).toBeGreaterThan(0);
    expect(bootstrapCi(scores, 1000, 0)).toEqual([lo, hi]);
    expect(bootstrapCi([2, 2, 2], 100, 0)).toEqual([2, 2]);
  });
  it('competition ranks in the better direction', () => {
    expect(competitionRanks([0.2, 0.1, 0.1, 0.5], 'lower')).toEqual([3, 1, 1, 4]);
    expect(competitionRanks([0.2, 0.1, 0.1, 0.5], 'higher')).toEqual([2, 3, 3, 1]);
  });
  it('rows per metric and method', () => {
    const rows = summarize(['morf'], ['a', 'b'], (_m, method) => (method === 'a' ? [1, 2] : [0, 0]), 50, 3);
    expect(rows.map((r) => [r.method, r.score, r.better, r.n, r.mean, r.rank])).toEqual([
      ['a', 'aopc', 'higher', 2, 1.5, 1],
      ['b', 'aopc', 'higher', 2, 0, 2],
    ]);
  });
});

function fakeInput(index: number, value: number): EvaluatedInput {
  const curve = (v: number) => ({
    curve: [
      { fraction: 0, value: v },
      { fraction: 1, value: 0 },
    ],
    auc: v / 2,
  });
  return {
    index,
    path: `in${index}.json`,
    prediction: { index: 0, score: 1, top: [] },
    target: { index: 0, output: 'logit', score: value },
    features: 2,
    results: ['ig', 'random'].map((method, m) => ({ method, params: {}, metrics: { deletion: curve(value + m) } })),
    timing: { ms: 1, evaluations: 2 },
  };
}

describe('shards and merge (§8)', () => {
  const settings: EvaluateSettingsRecord = {
    model: { path: '/m/model.json' },
    backend: 'cpu',
    preprocessing: null,
    methods: ['ig'],
    metrics: ['deletion'],
    evalSteps: 1,
    patch: null,
    target: 'top',
    baseline: 'zero',
    output: 'logit',
    seed: 0,
    bootstrap: 200,
    options: {},
  };
  const inputs = Array.from({ length: 7 }, (_, j) => fakeInput(j, j * 0.7 + (j % 3)));
  const shardReport = (i: number, n: number, s = settings) =>
    buildReport(
      s,
      { index: i, count: n },
      inputs.filter((inp) => inShard(inp.index, { index: i, count: n })),
    );

  it('parses i/n and refuses out-of-range or malformed shards', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(() => parseShard('0/3')).toThrow(/between 1 and 3/);
    expect(() => parseShard('4/3')).toThrow(/between 1 and 3/);
    expect(() => parseShard('1/0')).toThrow(/at least 1/);
    expect(() => parseShard('a/b')).toThrow(/i\/n/);
    expect(reportFileName({ index: 2, count: 3 })).toBe('evaluate-shard-2-of-3.json');
  });
  it('round-robin shards merge into the unsharded report', () => {
    const whole = buildReport(settings, null, inputs);
    const merged = mergeShards([3, 1, 2].map((i) => ({ file: `s${i}`, report: shardReport(i, 3) })));
    expect(merged).toEqual(whole);
    expect(shardReport(2, 3).inputs.map((i) => i.index)).toEqual([1, 4]);
  });
  it('refuses missing, duplicated and mismatched shards', () => {
    expect(() => mergeShards([1, 3].map((i) => ({ file: `s${i}`, report: shardReport(i, 3) })))).toThrow(/shard 2 of 3 missing/);
    expect(() => mergeShards([1, 2, 2, 3].map((i) => ({ file: `s${i}`, report: shardReport(i, 3) })))).toThrow(/given twice/);
    const other = { ...settings, evalSteps: 2 };
    expect(() =>
      mergeShards([
        { file: 'a', report: shardReport(1, 2) },
        { file: 'b', report: shardReport(2, 2, other) },
      ]),
    ).toThrow(/different settings.*evalSteps/);
    expect(() => mergeShards([{ file: 'w', report: buildReport(settings, null, inputs) }])).toThrow(/not a shard/);
  });
});

describe('evaluate report (HTML)', () => {
  it('ranks every method with its CI, draws mean curves, colours random grey, escapes text', async () => {
    const { renderEvaluateHtml, meanCurve } = await import('../src/core/report/evaluateHtml');
    const settings: EvaluateSettingsRecord = {
      model: { path: '/m/<model>.json' },
      backend: 'cpu',
      preprocessing: null,
      methods: ['ig'],
      metrics: ['deletion'],
      evalSteps: 1,
      patch: null,
      target: 'top',
      baseline: 'zero',
      output: 'logit',
      seed: 0,
      bootstrap: 100,
      options: {},
    };
    const report = buildReport(settings, null, [fakeInput(0, 1), fakeInput(1, 3)]);
    expect(meanCurve(report, 'deletion', 'ig')).toEqual({ x: [0, 1], y: [2, 0] });
    const html = renderEvaluateHtml(report);
    expect(html).toContain('&lt;model&gt;');
    expect(html).not.toContain('<model>');
    expect(html).toMatch(/<td>1<\/td><td><span class="swatch" style="background:#[0-9a-f]{6}"><\/span>ig<\/td>/);
    expect(html).toMatch(/<span class="swatch" style="background:#8c8c8c"><\/span>random/);
    expect(html).toContain('<svg');
  });
});
