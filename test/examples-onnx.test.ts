/**
 * The shipped ONNX example (examples/shapes-onnx: the trained shapes CNN written as the NCHW graph
 * PyTorch would export) explains exactly as its TF.js original: same predictions, same IG maps.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInputs, parsePreprocess } from '../src/core/input';
import { loadModel, type LoadedModel } from '../src/core/model/load';
import { relativeL1 } from '../src/core/path/mapError';
import { preprocessingFor } from '../src/worker/jobs';
import { runMethod, useCpu } from './helpers/runMethod';

const ROOT = path.resolve(__dirname, '..');
const IMAGES = ['square-1.png', 'triangle-2.png'].map((f) => path.join(ROOT, 'examples/shapes/images', f));
let onnxModel: LoadedModel;
let tfjsModel: LoadedModel;

beforeAll(async () => {
  await useCpu();
  onnxModel = await loadModel(path.join(ROOT, 'examples/shapes-onnx/shapes.onnx'), { channelsLast: true });
  tfjsModel = await loadModel(path.join(ROOT, 'examples/shapes/model.json'));
}, 60_000);
afterAll(() => {
  onnxModel?.dispose();
  tfjsModel?.dispose();
});

describe('examples/shapes-onnx', () => {
  it('keeps the pixel / 255 the model was trained on (pathlens.json beats the torchvision-like detection)', () => {
    const modelPath = path.join(ROOT, 'examples/shapes-onnx/shapes.onnx');
    expect(onnxModel.summary.suggestedPreprocessing?.name).toBe('imagenet');
    expect(preprocessingFor(onnxModel, { modelPath })).toMatchObject({ name: 'unit', source: 'sidecar' });
    expect(onnxModel.summary.labels).toEqual(['circle', 'square', 'triangle']);
    expect(onnxModel.inputShape).toEqual(tfjsModel.inputShape);
  });

  it('predicts and explains (IG, Gauss–Legendre 8) like the TF.js model.json it was written from', async () => {
    const unit = parsePreprocess('unit', 'explicit');
    const inputs = await loadInputs(IMAGES, onnxModel, unit);
    for (const input of inputs) {
      const target = path.basename(input.path).startsWith('square') ? 1 : 2;
      const probabilities = [tfjsModel, onnxModel].map((m) =>
        tf.tidy(() => Array.from(m.predict(tf.tensor(input.data, [1, 48, 48, 3])).dataSync())),
      );
      probabilities[1]!.forEach((p, k) => expect(p).toBeCloseTo(probabilities[0]![k]!, 5));
      expect(probabilities[1]!.indexOf(Math.max(...probabilities[1]!))).toBe(target);
      const [a, b] = await Promise.all(
        [tfjsModel, onnxModel].map((m) =>
          runMethod(m, 'ig', Array.from(input.data), null, { rule: 'gauss-legendre', steps: 8 }, { target }),
        ),
      );
      expect(b!.result.attribution.shape).toEqual([48, 48, 3]);
      expect(relativeL1(a!.result.attribution.data, b!.result.attribution.data), input.path).toBeLessThan(1e-4);
      expect(b!.result.completeness!.sum).toBeCloseTo(a!.result.completeness!.sum, 4);
    }
  }, 180_000);
});
