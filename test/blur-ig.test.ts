import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gaussianBlur } from '../src/core/input/blur';
import { getMethod } from '../src/core/methods';
import { blurBatch } from '../src/core/methods/blurIg';
import { linearModel, sineSumModel } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

beforeAll(useCpu);

/** 5×5×1, zero except 0.7 at (1,1) and 1.0 at (2,2). */
const image: number[] = Array.from({ length: 25 }, (_, i) => (i === 6 ? 0.7 : i === 12 ? 1.0 : 0));

describe('Blur IG (ALGORITHMS.md §4)', () => {
  it('the batched tensor blur equals gaussianBlur (zero padding, 4σ truncation), σ = 0 is the identity', () => {
    const data = Array.from({ length: 7 * 6 * 2 }, (_, i) => Math.sin(i * 1.7) + (i % 5));
    const before = tf.memory().numTensors;
    const x = tf.tensor3d(data, [7, 6, 2]);
    const batch = blurBatch(x, [0, 0.5, 1.3, 10]);
    const got = batch.dataSync();
    tf.dispose([x, batch]);
    expect(tf.memory().numTensors).toBe(before);
    [0, 0.5, 1.3, 10].forEach((sigma, k) => {
      const want = gaussianBlur(data, 7, 6, 2, sigma);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[k * want.length + i]! - want[i]!)).toBeLessThan(1e-5);
    });
  });

  it('F = Σ sin x on 5×5×1, max σ 10, 4000 steps → sin(x) − sin(blur(x, 10)) per pixel', async () => {
    const model = sineSumModel([5, 5, 1]);
    const { result } = await runMethod(model, 'blur-ig', image, null, { steps: 4000, maxSigma: 10 });
    const blurred = gaussianBlur(image, 5, 5, 1, 10);
    const a = result.attribution.data;
    expect(a[6]).toBeCloseTo(0.641, 2);
    expect(a[12]).toBeCloseTo(0.838, 2);
    // PAIR's test: assert_almost_equal(mask, expected, decimal=2), and every pixel gets some attribution.
    for (let i = 0; i < 25; i++) expect(Math.abs(a[i]! - (Math.sin(image[i]!) - Math.sin(blurred[i]!)))).toBeLessThan(1.5e-2);
    expect(a.every((v) => v !== 0)).toBe(true);
    // Completeness is against the blurred baseline.
    const expected = image.reduce((s, v, i) => s + Math.sin(v) - Math.sin(blurred[i]!), 0);
    expect(result.completeness!.expected).toBeCloseTo(expected, 5);
    expect(result.completeness!.relative).toBeLessThan(1e-2);
    expect(result.params).toMatchObject({ steps: 4000, maxSigma: 10, gradStep: 0.01, idgi: false });
    const path = result.path!;
    expect(path.alpha).toHaveLength(4000);
    expect(path.alpha[1]).toBeCloseTo(10 / 4000, 12);
    expect(path.value[0]).toBeCloseTo(Math.sin(0.7) + Math.sin(1), 5); // σ = 0: the input itself
    expect(path.cumulativeSum[3999]).toBeCloseTo(result.completeness!.sum, 5);
    expect(result.timing.evaluations).toBe(4001);
  });

  it('IDGI on the blur path is exactly complete; chunking changes nothing and leaks nothing', async () => {
    const model = sineSumModel([5, 5, 1]);
    const whole = await runMethod(model, 'blur-ig', image, null, { steps: 40, maxSigma: 3, idgi: true }, { chunkSize: 64 });
    expect(whole.result.params.idgi).toBe(true);
    expect(Math.abs(whole.result.completeness!.delta)).toBeLessThan(1e-5);
    const before = tf.memory().numTensors;
    const chunked = await runMethod(whole.model, 'blur-ig', image, null, { steps: 40, maxSigma: 3, idgi: true }, { chunkSize: 7 });
    expect(tf.memory().numTensors).toBe(before);
    chunked.result.attribution.data.forEach((v, i) => expect(v).toBeCloseTo(whole.result.attribution.data[i]!, 5));
    const plain = await runMethod(whole.model, 'blur-ig', image, null, { steps: 40, maxSigma: 3 }, { chunkSize: 7 });
    expect(tf.memory().numTensors).toBe(before);
    expect(plain.result.completeness!.relative).toBeLessThan(0.05);
  });

  it('rejects non-image inputs and invalid parameters before computing', async () => {
    const method = getMethod('blur-ig');
    for (const bad of [{ maxSigma: 0 }, { maxSigma: -1 }, { gradStep: 0 }, { steps: 0 }, { maxSigma: 'x' }]) {
      expect(() => method.validate!(bad)).toThrow(/max-sigma|grad-step|steps/);
    }
    const run = runMethod(linearModel([1, 2]), 'blur-ig', [1, 2], null, { steps: 3 });
    await expect(run).rejects.toThrow(/image input/);
  });
});
