import { describe, expect, it } from 'vitest';
import { parseCommand } from '../src/cli/args';
import type { Similarity } from '../src/core/sanity/metrics';
import { DEFAULT_THRESHOLDS, type SanityStepResult } from '../src/core/sanity/types';
import { verdictFor } from '../src/core/sanity/verdict';

const sim = (spearmanAbs: number | null, spearmanSigned: number | null = spearmanAbs): Similarity => ({
  spearmanAbs,
  spearmanSigned,
  ssim: null,
  hog: null,
  topK: null,
});
const layerSteps = (values: (number | null)[], signed?: number[]): SanityStepResult[] =>
  values.map((v, i) => ({
    index: i,
    label: `layer${i}`,
    randomized: [],
    layerIndex: i + 1,
    prediction: null,
    results: [],
    similarities: { m: sim(v, signed?.[i] ?? v) },
  }));
const levelSteps = (levels: number[], values: (number | null)[], kept: number[]): SanityStepResult[] =>
  levels.map((level, i) => ({
    index: i,
    label: `${level * 100}%`,
    randomized: [],
    level,
    prediction: null,
    results: [],
    draws: { drawn: 3, kept: kept[i]!, draws: [] },
    similarities: { m: sim(values[i]!) },
  }));

describe('sanity verdicts', () => {
  it('cascading: passes when the metric falls below the threshold, names the layer', () => {
    const v = verdictFor('m', 'cascading', layerSteps([0.9, 0.6, 0.3, 0.1]), DEFAULT_THRESHOLDS, false);
    expect(v.status).toBe('pass');
    expect(v.reason).toBe('passes: Spearman(|attr|) falls below 0.5 by layer 3 of 4 (layer2); 0.10 after randomizing every layer');
  });

  it('cascading: fails when the map stays similar; notes a changed signed map; a constant map counts as changed', () => {
    expect(verdictFor('m', 'cascading', layerSteps([0.95, 0.93]), DEFAULT_THRESHOLDS, false).reason).toBe(
      'fails randomization: Spearman(|attr|) stays 0.93 after randomizing every layer (must fall below 0.5)',
    );
    expect(verdictFor('m', 'cascading', layerSteps([0.95, 0.93], [0.1, 0.05]), DEFAULT_THRESHOLDS, false).reason).toMatch(
      /signed map did change \(Spearman\(attr\) 0\.05\)/,
    );
    expect(verdictFor('m', 'cascading', layerSteps([0.9, null]), DEFAULT_THRESHOLDS, false).status).toBe('pass');
    expect(verdictFor('m', 'cascading', layerSteps([0.9]), DEFAULT_THRESHOLDS, true).status).toBe('inconclusive');
    // Thresholds are configurable.
    expect(verdictFor('m', 'cascading', layerSteps([0.9, 0.6]), { ...DEFAULT_THRESHOLDS, randomization: 0.7 }, false).status).toBe('pass');
  });

  it('independent: share of layers that change the map', () => {
    expect(verdictFor('m', 'independent', layerSteps([0.1, 0.2, 0.9]), DEFAULT_THRESHOLDS, false).reason).toBe(
      'passes: randomizing 2 of 3 layers alone changes the map (Spearman(|attr|) < 0.5); insensitive to layer2',
    );
    expect(verdictFor('m', 'independent', layerSteps([0.1, 0.8, 0.9]), DEFAULT_THRESHOLDS, false).status).toBe('fail');
  });

  it('perturbation: stable up to the last level before the first unstable one; levels without kept models are skipped', () => {
    const v = verdictFor(
      'm',
      'perturbation',
      levelSteps([0.005, 0.01, 0.02, 0.05], [0.99, 0.95, 0.85, 0.4], [3, 3, 2, 1]),
      DEFAULT_THRESHOLDS,
      false,
    );
    expect(v.status).toBe('pass');
    expect(v.reason).toBe('passes: stable under perturbation up to 2% (Spearman(|attr|) ≥ 0.8 on kept models); 0.40 at 5%');
    expect(verdictFor('m', 'perturbation', levelSteps([0.005, 0.01], [0.5, 0.4], [3, 3]), DEFAULT_THRESHOLDS, false).reason).toBe(
      'fails perturbation: Spearman(|attr|) 0.50 already at 0.5% noise (must stay ≥ 0.8)',
    );
    expect(verdictFor('m', 'perturbation', levelSteps([0.005, 0.01], [null, 0.9], [0, 3]), DEFAULT_THRESHOLDS, false).reason).toBe(
      'passes: stable under perturbation up to 1% (Spearman(|attr|) ≥ 0.8 on kept models); 1 level(s) kept no model',
    );
    expect(verdictFor('m', 'perturbation', levelSteps([0.005], [null], [0]), DEFAULT_THRESHOLDS, false).status).toBe('inconclusive');
  });
});

describe('CLI flags', () => {
  it('explain passes the GGIG parameters to the job', () => {
    const c = parseCommand([
      'explain',
      '--model',
      'm.json',
      '--input',
      'x.png',
      '--method',
      'ggig',
      '--scales',
      '8',
      '--ascent-steps',
      '0',
      '--ascent-rate',
      '0.05',
    ]);
    expect(c.kind === 'explain' && c.job.options).toMatchObject({ scales: 8, ascentSteps: 0, ascentRate: 0.05 });
  });

  it('sanity builds the job with thresholds, levels and seed', () => {
    const c = parseCommand([
      'sanity',
      '--model',
      'm.json',
      '--input',
      'x.png',
      '--method',
      'ig,gradient',
      '--check',
      'perturbation',
      '--levels',
      '0.01,0.005',
      '--seed',
      '4',
      '--metric',
      'ssim',
      '--stability-threshold',
      '0.9',
      '--draws',
      '5',
    ]);
    expect(c.kind).toBe('sanity');
    if (c.kind !== 'sanity') return;
    expect(c.job).toMatchObject({
      check: 'perturbation',
      methods: ['ig', 'gradient'],
      levels: [0.01, 0.005],
      seed: 4,
      draws: 5,
      thresholds: { metric: 'ssim', stability: 0.9 },
    });
  });
});
