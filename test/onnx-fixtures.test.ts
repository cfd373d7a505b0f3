/**
 * torchvision-family ONNX exports (test/fixtures/onnx/, made by scripts/fixtures/onnx/make_fixtures.py
 * with seeded random weights and randomised BatchNorm statistics) against PyTorch autograd: the
 * forward logits, and the Integrated Gradients map at the same rule, steps, zero baseline and target.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type LoadedModel } from '../src/core/model/load';
import { relativeL1 } from '../src/core/path/mapError';
import { runMethod, useCpu } from './helpers/runMethod';
import { cosine, flatten } from './helpers/compare';

const FIXTURES = path.join(__dirname, 'fixtures', 'onnx');

interface Reference {
  rule: 'gauss-legendre';
  steps: number;
  target: number;
  logits: number[];
  baselineLogit: number;
  attributions: unknown;
  inputShape: number[];
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as T;
}

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Every committed model file and the reference it is checked against (its stem before `.op…`). */
const CASES = fs
  .readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.onnx'))
  .sort()
  .map((file) => ({ file, stem: file.replace(/\.(op\d+|external)\.onnx$/, '') }));

const agreement: string[] = [];

beforeAll(useCpu);
afterAll(() => {
  // The figures the closing note asks for; printed so a run documents them.
  console.log(`ONNX fixtures vs PyTorch autograd IG:\n${agreement.join('\n')}`);
});

describe('ONNX fixtures agree with PyTorch', () => {
  it('has the fixtures the generator writes (both opsets, external data, fp16)', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(22);
    expect(CASES.map((c) => c.file)).toEqual(
      expect.arrayContaining(['resnet_basic.external.onnx', 'squeezenet_fp16.op13.onnx', 'vit.op17.onnx']),
    );
  });

  for (const { file, stem } of CASES) {
    it(`${file}: logits and the IG map match PyTorch`, async () => {
      const reference = readJson<Reference>(`${stem}.reference.json`);
      const x = flatten(readJson<unknown>(`${stem}.input.json`));
      const model: LoadedModel = await loadModel(path.join(FIXTURES, file));
      try {
        expect([1, ...model.inputShape]).toEqual(reference.inputShape);
        const logits = tf.tidy(() => model.predict(tf.tensor(x, [1, ...model.inputShape])).dataSync());
        const scale = Math.max(...reference.logits.map(Math.abs));
        expect(largestDifference(logits, reference.logits)).toBeLessThan(1e-4 * scale + 1e-5);
        const { result } = await runMethod(
          model,
          'ig',
          x,
          null,
          { rule: reference.rule, steps: reference.steps },
          { target: reference.target },
        );
        const want = flatten(reference.attributions);
        const got = result.attribution.data;
        const cos = cosine(got, want);
        const rel = relativeL1(want, got);
        const worst = largestDifference(got, want);
        agreement.push(`  ${file}: cosine ${cos.toFixed(7)}, rel L1 ${rel.toExponential(2)}, largest |Δ| ${worst.toExponential(2)}`);
        expect(cos).toBeGreaterThanOrEqual(0.999);
        expect(rel).toBeLessThanOrEqual(1e-2);
      } finally {
        model.dispose();
      }
    }, 120_000);
  }
});
