/**
 * Channels-first ONNX models as the worker jobs see them: presented [H, W, C] (transposed inside the
 * model), NCHW `.json` inputs read as given, symbolic dims bound from the input, and torchvision-like
 * inputs preprocessed with `imagenet` unless a flag or sidecar says otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonInputs } from '../src/core/input';
import { bindInputShape, chwToHwc } from '../src/core/model/inputLayout';
import { loadModel, type LoadedModel } from '../src/core/model/load';
import { relativeL1 } from '../src/core/path/mapError';
import { preprocessingFor } from '../src/worker/jobs';
import { tempDir } from './helpers/analyticModels';
import { encodeModel, floatTensor, type ModelSpec } from './helpers/onnxBuilder';
import { runMethod, useCpu } from './helpers/runMethod';
import { flatten } from './helpers/compare';

const FIXTURES = path.join(__dirname, 'fixtures', 'onnx');
const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8'));

/** Conv 3→2 (3×3, same) → GlobalAveragePool → Flatten → Gemm 2→3, with symbolic batch, height and width. */
function dynamicCnn(): ModelSpec {
  const w = Array.from({ length: 2 * 3 * 9 }, (_, i) => Math.sin(i * 1.7) * 0.4);
  return {
    input: { name: 'image', dims: ['N', 3, 'H', 'W'] },
    output: { name: 'logits', dims: ['N', 3] },
    initializers: [
      floatTensor('w', [2, 3, 3, 3], w),
      floatTensor('fc', [3, 2], [0.5, -1, 1.5, 0.25, -0.75, 1]),
      floatTensor('fcb', [3], [0.1, 0, -0.1]),
    ],
    nodes: [
      { op: 'Conv', inputs: ['image', 'w'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['g'] },
      { op: 'Flatten', inputs: ['g'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'fc', 'fcb'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
  };
}

let dir: string;
const models: LoadedModel[] = [];
async function load(file: string, channelsLast = true): Promise<LoadedModel> {
  const m = await loadModel(file, { channelsLast });
  models.push(m);
  return m;
}

beforeAll(async () => {
  await useCpu();
  dir = tempDir('onnx-layout');
});
afterAll(() => models.forEach((m) => m.dispose()));

describe('NCHW ONNX models presented as H×W×C', () => {
  it('reads NCHW .json tensors with or without the batch of 1 and transposes them to H×W×C', () => {
    const layout = { fileShape: [2, 1, 3], free: [false, false, false], channelsFirst: true };
    const chw = [[[1, 2, 3]], [[4, 5, 6]]];
    for (const text of [JSON.stringify(chw), JSON.stringify([chw])]) {
      const [input] = parseJsonInputs(text, 'x.json', [1, 3, 2], undefined, layout);
      expect(input!.shape).toEqual([1, 3, 2]);
      expect(Array.from(input!.data)).toEqual([1, 4, 2, 5, 3, 6]);
    }
    expect(() => parseJsonInputs(JSON.stringify([[[1, 2]], [[3, 4]]]), 'x.json', [1, 3, 2], undefined, layout)).toThrow(
      /tensor shape \[2, 1, 2\] does not match the model input: expected \[2, 1, 3\].*channels-first layout/,
    );
  });

  it('gives the IG map of the NCHW model (PyTorch reference) transposed to H×W×C', async () => {
    const file = path.join(FIXTURES, 'resnet_basic.op17.onnx');
    const reference = readJson('resnet_basic.reference.json') as { target: number; steps: number; attributions: unknown; logits: number[] };
    const view = await load(file);
    const own = await load(file, false);
    expect(own.inputShape).toEqual([3, 32, 32]);
    expect(view.inputShape).toEqual([32, 32, 3]);
    expect(view.tensorLayout).toEqual({ fileShape: [3, 32, 32], free: [false, false, false], channelsFirst: true });
    const [input] = parseJsonInputs(
      JSON.stringify(readJson('resnet_basic.input.json')),
      'in.json',
      view.inputShape,
      undefined,
      view.tensorLayout,
    );
    const logits = tf.tidy(() => Array.from(view.predict(tf.tensor(input!.data, [1, 32, 32, 3])).dataSync()));
    logits.forEach((v, i) => expect(v).toBeCloseTo(reference.logits[i]!, 4));
    const { result } = await runMethod(
      view,
      'ig',
      Array.from(input!.data),
      null,
      { rule: 'gauss-legendre', steps: reference.steps },
      { target: reference.target },
    );
    expect(result.attribution.shape).toEqual([32, 32, 3]);
    const want = chwToHwc(Float32Array.from(flatten(reference.attributions)), [3, 32, 32]);
    expect(relativeL1(want, result.attribution.data)).toBeLessThan(1e-3);
  }, 60_000);

  it('binds symbolic height and width from a .json input and refuses inputs of different sizes', async () => {
    const file = path.join(dir, 'dynamic.onnx');
    fs.writeFileSync(file, encodeModel(dynamicCnn()));
    const view = await load(file);
    const own = await load(file, false);
    expect(view.inputShape).toEqual([224, 224, 3]);
    expect(view.tensorLayout).toEqual({ fileShape: [3, 224, 224], free: [false, true, true], channelsFirst: true });
    expect(view.summary.onnx!.inputNote).toMatch(/symbolic sizes bound to \[3, 224, 224\] for images and by the tensor/);
    const chw = Array.from({ length: 3 * 5 * 7 }, (_, i) => Math.cos(i));
    const nested = [0, 1, 2].map((c) => [0, 1, 2, 3, 4].map((y) => chw.slice(c * 35 + y * 7, c * 35 + y * 7 + 7)));
    const [input] = parseJsonInputs(JSON.stringify([nested]), 'small.json', view.inputShape, undefined, view.tensorLayout);
    expect(input!.shape).toEqual([5, 7, 3]);
    const bound = bindInputShape(view, [input!]);
    expect(bound.inputShape).toEqual([5, 7, 3]);
    const got = tf.tidy(() => Array.from(bound.predict(tf.tensor(input!.data, [1, 5, 7, 3])).dataSync()));
    const want = tf.tidy(() => Array.from(own.predict(tf.tensor(chw, [1, 3, 5, 7])).dataSync()));
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    const other = { path: 'big.json', shape: [6, 7, 3] };
    expect(() => bindInputShape(view, [input!, other])).toThrow(/big.json has shape \[6, 7, 3\] but another input has \[5, 7, 3\]/);
    const fixed = await load(path.join(FIXTURES, 'resnet_basic.op17.onnx'));
    expect(() => bindInputShape(fixed, [other])).toThrow(/the model needs \[32, 32, 3\]/);
  }, 60_000);
});

describe('preprocessing of torchvision-like ONNX inputs', () => {
  it('suggests imagenet with its reason; a pathlens.json beside the model and --preprocess come first', async () => {
    const own = path.join(dir, 'tv');
    fs.mkdirSync(own, { recursive: true });
    const file = path.join(own, 'model.onnx');
    fs.copyFileSync(path.join(FIXTURES, 'squeezenet.op13.onnx'), file);
    const model = await load(file);
    const detected = preprocessingFor(model, { modelPath: file });
    expect(detected).toMatchObject({ name: 'imagenet', source: 'detected' });
    expect(detected!.reason).toMatch(/ONNX input 'input' is a float N×3×H×W tensor \[batch, 3, 32, 32\] as torchvision exports take/);
    expect(preprocessingFor(model, { modelPath: file, preprocess: 'unit' })).toMatchObject({ name: 'unit', source: 'explicit' });
    fs.writeFileSync(path.join(own, 'pathlens.json'), JSON.stringify({ preprocess: 'signed' }));
    expect(preprocessingFor(model, { modelPath: file })).toMatchObject({ name: 'signed', source: 'sidecar' });
  }, 60_000);

  it('does not suggest a preset for inputs that are not N×3×H×W floats (an MLP)', async () => {
    const model = await load(path.join(FIXTURES, 'mlp.op13.onnx'));
    expect(model.summary.suggestedPreprocessing).toBeUndefined();
    expect(preprocessingFor(model, { modelPath: path.join(FIXTURES, 'mlp.op13.onnx') })).toBeNull();
  }, 60_000);
});

describe('which files are ONNX models', () => {
  it('*.onnx in any case is a model file for menus, pickers and the model view', async () => {
    const { isModelFileName, isOnnxModelFileName } = await import('../src/shared/fileNames');
    for (const name of ['net.onnx', 'dir/ResNet18.ONNX', 'C:\\models\\vit.onnx']) {
      expect(isModelFileName(name), name).toBe(true);
      expect(isOnnxModelFileName(name), name).toBe(true);
    }
    for (const name of ['.onnx', 'onnx', 'net.onnx.json', 'net.onnx_data']) expect(isModelFileName(name), name).toBe(false);
  });
});

describe('the worker model cache and ONNX external data', () => {
  it('reloads the model when its external-data file changes', async () => {
    const { ModelCache } = await import('../src/worker/jobs');
    const folder = tempDir('onnx-cache');
    fs.copyFileSync(path.join(FIXTURES, 'resnet_basic.external.onnx'), path.join(folder, 'model.onnx'));
    const data = path.join(folder, 'resnet_basic.external.data');
    fs.copyFileSync(path.join(FIXTURES, 'resnet_basic.external.data'), data);
    const cache = new ModelCache();
    try {
      const first = await cache.get(path.join(folder, 'model.onnx'));
      expect(first.summary.onnx!.externalData).toEqual(['resnet_basic.external.data']);
      expect(await cache.get(path.join(folder, 'model.onnx'))).toBe(first);
      fs.utimesSync(data, new Date(), new Date(Date.now() + 5000));
      expect(await cache.get(path.join(folder, 'model.onnx'))).not.toBe(first);
    } finally {
      cache.clear();
    }
  }, 60_000);
});
