import { beforeAll, describe, expect, it } from 'vitest';
import { Evaluator } from '../src/core/engine/evaluator';
import { computeGgig, ggig, GGIG_DEFAULTS } from '../src/core/methods/ggig';
import { getMethod } from '../src/core/methods';
import { loadModel } from '../src/core/model/load';
import { cubeSumModel, linearModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

describe('GGIG (reconstruction of ALGORITHMS.md §7)', () => {
  it('is registered, labelled as a reconstruction and not complete', () => {
    expect(getMethod('ggig')).toBe(ggig);
    expect(ggig.title).toContain('reconstruction');
    expect(ggig.description).toContain("Reconstruction of the paper's description");
    expect(ggig.complete).toBe(false);
    expect(() => ggig.validate!({ scales: 0 })).toThrow(/scales/);
    expect(() => ggig.validate!({ ascentRate: -1 })).toThrow(/ascent-rate/);
    expect(() => ggig.validate!({ ascentSteps: 0 })).not.toThrow();
  });

  it('on F = wᵀx + b every candidate is w ⊙ (x − x′) and GGIG equals IG', async () => {
    const w = [2, -1, 0.5, 3];
    const x = [1, 0.5, 2, -1];
    const base = [0.5, -1, 0, 0];
    const model = await loadModel(linearModel(w, 0.3));
    const evaluator = new Evaluator({ model, target: 0, output: 'logit' }, { chunkSize: 5 });
    const out = await computeGgig(
      evaluator,
      Float32Array.from(x),
      Float32Array.from(base),
      { scales: 7, ascentSteps: 3, ascentRate: 0.2 },
      true,
    );
    const expected = w.map((wi, i) => wi * (x[i]! - base[i]!));
    for (let k = 0; k < 7; k++) expected.forEach((e, i) => expect(out.candidates![k * 4 + i]).toBeCloseTo(e, 5));
    expected.forEach((e, i) => expect(out.attribution[i]).toBeCloseTo(e, 5));
    expect(evaluator.evaluations).toBe(7 * 4);
    const { result: ig } = await runMethod(model, 'ig', x, base, { steps: 8 });
    const { result: g } = await runMethod(model, 'ggig', x, base, {});
    ig.attribution.data.forEach((v, i) => expect(g.attribution.data[i]).toBeCloseTo(v, 4));
    expect(g.completeness).toBeNull();
    expect(g.params).toMatchObject({
      scales: GGIG_DEFAULTS.scales,
      ascentSteps: GGIG_DEFAULTS.ascentSteps,
      ascentRate: GGIG_DEFAULTS.ascentRate,
      reconstruction: true,
    });
    expect(g.timing.evaluations).toBe(GGIG_DEFAULTS.scales * (GGIG_DEFAULTS.ascentSteps + 1));
    expect(g.path!.cumulativeSum.at(-1)).toBeCloseTo(
      g.attribution.data.reduce((a, b) => a + b, 0),
      4,
    );
    model.dispose();
  });

  it('keeps the ascent inside the box between x′ and x, moves uphill, and is deterministic', async () => {
    const model = await loadModel(cubeSumModel(3));
    const x = Float32Array.from([1, -2, 0.5]);
    const base = Float32Array.from([-1, 1, 0.5]);
    const run = async () =>
      computeGgig(
        new Evaluator({ model, target: 0, output: 'logit' }, { chunkSize: 3 }),
        x,
        base,
        { scales: 4, ascentSteps: 6, ascentRate: 0.5 },
        true,
      );
    const a = await run();
    const b = await run();
    expect(Array.from(a.attribution)).toEqual(Array.from(b.attribution));
    expect(Array.from(a.points)).toEqual(Array.from(b.points));
    let moved = 0;
    for (let k = 0; k < 4; k++) {
      for (let i = 0; i < 3; i++) {
        const z = a.points[k * 3 + i]!;
        expect(z).toBeGreaterThanOrEqual(Math.min(x[i]!, base[i]!) - 1e-6);
        expect(z).toBeLessThanOrEqual(Math.max(x[i]!, base[i]!) + 1e-6);
        const straight = base[i]! + ((k + 1) / 4) * (x[i]! - base[i]!);
        if (Math.abs(z - straight) > 1e-3) moved++;
      }
      // F = Σ z³ is increasing in every feature: ascent pushes each moving feature to its upper end.
      expect(a.value[k]).toBeGreaterThanOrEqual(0);
    }
    expect(moved).toBeGreaterThan(0);
    // Feature 3 has x = x′: zero box, zero attribution.
    expect(a.attribution[2]).toBe(0);
    // Per feature GGIG is the largest-magnitude candidate.
    for (let i = 0; i < 3; i++) {
      const cands = [0, 1, 2, 3].map((k) => a.candidates![k * 3 + i]!);
      expect(Math.abs(a.attribution[i]!)).toBeCloseTo(Math.max(...cands.map(Math.abs)), 6);
    }
    model.dispose();
  });
});
