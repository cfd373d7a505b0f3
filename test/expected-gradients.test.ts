import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { getMethod } from '../src/core/methods';
import { drawSamples } from '../src/core/methods/expectedGradients';
import { linearModel, productModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

const D = [
  [0, 1, 2],
  [1, -1, 0.5],
  [2, 0, -1],
  [-1, 3, 1],
];
const w = [2, -1, 0.5];
const x = [1, 2, 3];
const meanD = [0, 1, 2].map((i) => D.reduce((s, r) => s + r[i]!, 0) / D.length);

describe('Expected Gradients (ALGORITHMS.md §2)', () => {
  it('linear F: EG = w ⊙ (x − mean D) exactly when K is a multiple of |D|; Σ EG = F(x) − mean F(D)', async () => {
    const { result } = await runMethod(
      linearModel(w, 0.3),
      'expected-gradients',
      x,
      null,
      { reference: 'refs', samples: 8, seed: 3 },
      { references: { refs: D } },
    );
    result.attribution.data.forEach((v, i) => expect(v).toBeCloseTo(w[i]! * (x[i]! - meanD[i]!), 5));
    const fx = w.reduce((s, wi, i) => s + wi * x[i]!, 0.3);
    const meanF = D.reduce((s, r) => s + w.reduce((t, wi, i) => t + wi * r[i]!, 0.3), 0) / D.length;
    expect(result.completeness!.expected).toBeCloseTo(fx - meanF, 5);
    expect(Math.abs(result.completeness!.delta)).toBeLessThan(1e-4);
    expect(result.params).toMatchObject({ reference: 'refs', referenceSize: 4, samples: 8, seed: 3 });
    expect(result.path!.alpha).toHaveLength(8);
    expect(result.path!.cumulativeSum[7]).toBeCloseTo(result.completeness!.sum, 5);
    expect(result.timing.evaluations).toBe(8 + 4); // K gradients + F over the reference set
  });

  it('K not a multiple of |D| still converges to the expectation (non-linear F)', async () => {
    // F = x₁x₂ with references on a line: E over α and D of (x − x′) ⊙ ∇F; Σ ≈ F(x) − mean F(D).
    const refs = [
      [0, 0],
      [1, 0],
      [0, 1],
      [0.5, 0.5],
      [1, 1],
    ];
    const { result } = await runMethod(
      productModel(),
      'expected-gradients',
      [3, 2],
      null,
      { reference: 'r', samples: 2001, seed: 1 },
      { references: { r: refs } },
    );
    expect(result.completeness!.relative).toBeLessThan(0.03);
  });

  it('sampling is seeded: the same seed gives the same map, another seed another draw', async () => {
    const a = drawSamples(5, 12, 7);
    expect(drawSamples(5, 12, 7)).toEqual(a);
    expect(drawSamples(5, 12, 8)).not.toEqual(a);
    // Shuffled passes: each reference used ⌊K/M⌋ or ⌈K/M⌉ times.
    const counts = [0, 1, 2, 3, 4].map((r) => a.reference.filter((v) => v === r).length);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...counts)).toBeLessThanOrEqual(3);
    expect(a.alpha.every((v) => v >= 0 && v < 1)).toBe(true);
    const model = productModel();
    const refs = {
      r: [
        [0, 0],
        [1, 2],
        [2, -1],
      ],
    };
    const first = await runMethod(
      model,
      'expected-gradients',
      [3, 2],
      null,
      { reference: 'r', samples: 5, seed: 11 },
      { references: refs, chunkSize: 2 },
    );
    const before = tf.memory().numTensors;
    const second = await runMethod(
      first.model,
      'expected-gradients',
      [3, 2],
      null,
      { reference: 'r', samples: 5, seed: 11 },
      { references: refs, chunkSize: 2 },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect([...second.result.attribution.data]).toEqual([...first.result.attribution.data]);
    const other = await runMethod(
      first.model,
      'expected-gradients',
      [3, 2],
      null,
      { reference: 'r', samples: 5, seed: 12 },
      { references: refs, chunkSize: 2 },
    );
    expect([...other.result.attribution.data]).not.toEqual([...first.result.attribution.data]);
  });

  it('missing, empty or mis-shaped reference sets and bad samples are rejected before computing', async () => {
    const method = getMethod('expected-gradients');
    expect(() => method.validate!({})).toThrow(/--reference/);
    expect(() => method.validate!({ reference: 'r', samples: 0 })).toThrow(/samples/);
    const model = productModel();
    const run = await runMethod(model, 'gradient', [3, 2], null);
    const evaluations = run.evaluator.evaluations;
    await expect(runMethod(run.model, 'expected-gradients', [3, 2], null, { reference: 'e' }, { references: { e: [] } })).rejects.toThrow(
      /empty/,
    );
    await expect(
      runMethod(run.model, 'expected-gradients', [3, 2], null, { reference: 'b' }, { references: { b: [[1, 2, 3]] } }),
    ).rejects.toThrow(/has 3 values but the model input \[2\] has 2/);
    expect(run.evaluator.evaluations).toBe(evaluations);
  });
});
