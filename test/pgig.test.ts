/** PGIG: options, quadrature placement (the reference's interior points), seeds, and no model access without patterns. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getMethod } from '../src/core/methods';
import { loadModel } from '../src/core/model/load';
import { fitModelPatterns, loadPatterns } from '../src/core/patterns/store';
import { reluSaturationModel, tempDir } from './helpers/analyticModels';
import { runWithPatterns } from './helpers/patternMethods';
import { useCpu } from './helpers/runMethod';

beforeAll(useCpu);

describe('pgig options', () => {
  it('validates steps and rules (interior needs 2 steps; adaptive does not apply)', () => {
    const pgig = getMethod('pgig');
    expect(pgig.complete).toBe(false);
    expect(() => pgig.validate!({})).not.toThrow();
    expect(() => pgig.validate!({ rule: 'riemann-right', steps: 100 })).not.toThrow();
    expect(() => pgig.validate!({ steps: 1 })).toThrow(/at least 2 steps/);
    expect(() => pgig.validate!({ rule: 'adaptive' as never })).toThrow(/adaptive does not apply/);
    expect(() => pgig.validate!({ steps: 0 })).toThrow(/steps/);
  });

  it('without a patterns hook the pattern methods fail clearly', async () => {
    const model = await loadModel(reluSaturationModel());
    for (const method of ['pgig', 'pattern-net', 'pattern-attribution']) {
      await expect(runWithPatterns(model, null, method, [1, 1])).rejects.toThrow(/needs fitted patterns/);
    }
    model.dispose();
  });
});

describe('pgig on F = 1 − ReLU(1 − x₁ − x₂) with patterns fitted on data', () => {
  it('interior points k/n (k = 1..n−1), rules, non-zero baselines and the probability output', async () => {
    const file = reluSaturationModel();
    const data = path.join(tempDir('pgig-data'), 'data.csv');
    // x₂ = −x₁ + noise-free signal s: both inputs carry the signal equally → pattern ∝ (1, 1).
    fs.writeFileSync(data, ['a,b', ...Array.from({ length: 50 }, (_, i) => `${-1 + i / 25},${-1 + i / 25}`)].join('\n'));
    await fitModelPatterns({ modelPath: file, data: [data], preprocessing: null, estimator: 'linear' });
    const model = await loadModel(file);
    const patterns = await loadPatterns(file);
    // Kernel (−1, −1), pattern a = cov/(wᵀcov) = (−½, −½): W⊙A = (½, ½); output layer W⊙A = 1.
    // x = (0.2, 0.1): z = 0.3 < 1 everywhere on the path → PGIG = x ⊙ (½, ½).
    const reference = await runWithPatterns(model, patterns, 'pgig', [0.2, 0.1]);
    expect(reference.path!.alpha).toHaveLength(24);
    expect(reference.attribution.data[0]).toBeCloseTo(0.1, 5);
    expect(reference.attribution.data[1]).toBeCloseTo(0.05, 5);
    // x = (2, 1), z = 3: the ReLU closes at α = 1/3. Right Riemann n = 6: α ∈ {1/6} open (2/6 closes: 1 − 1 = 0) → 1/6.
    const right = await runWithPatterns(model, patterns, 'pgig', [2, 1], { rule: 'riemann-right', steps: 6 });
    expect(right.attribution.data[0]).toBeCloseTo((2 * 0.5) / 6, 5);
    expect(right.params).toMatchObject({ rule: 'riemann-right', points: 6 });
    // Baseline (1, 0): path from z = 1 (closed) to z = 3: closed everywhere → 0.
    const closed = await runWithPatterns(model, patterns, 'pgig', [2, 1], {}, { baseline: [1, 0] });
    expect([...closed.attribution.data]).toEqual([0, 0]);
    // Probability output (sigmoid of the single output): seed σ'(f) instead of 1.
    const prob = await runWithPatterns(model, patterns, 'pgig', [0.2, 0.1], {}, { output: 'probability' });
    const expectedScale = (f: number) => Math.exp(-f) / (1 + Math.exp(-f)) ** 2;
    const mean = Array.from({ length: 24 }, (_, k) => expectedScale(((k + 1) / 25) * 0.3)).reduce((a, b) => a + b, 0) / 24;
    expect(prob.attribution.data[0]).toBeCloseTo(0.1 * mean, 5);
    patterns.dispose();
    model.dispose();
  });
});
