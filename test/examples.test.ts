/**
 * The shipped example models (examples/shapes, examples/tabular) load with plain TF.js and classify
 * their committed sample inputs correctly. Loading is done here by hand (model.json + weights.bin
 * through tf.io.fromMemory) so this test does not depend on PathLens' own loader.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

const ROOT = path.resolve(__dirname, '..', 'examples');

interface ModelJson {
  format?: string;
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

function readModelJson(dir: string): ModelJson {
  return JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as ModelJson;
}

async function loadModel(dir: string): Promise<tfl.LayersModel> {
  const json = readModelJson(dir);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const parts = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const bytes = Buffer.concat(parts);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

function readLines(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

function softmaxLayerName(model: tfl.LayersModel): string | undefined {
  const last = model.layers[model.layers.length - 1];
  return (last.getConfig() as { activation?: string }).activation;
}

/** Bytes the manifest says weights.bin must hold (all example weights are float32). */
function manifestBytes(json: ModelJson): number {
  return json.weightsManifest.flatMap((g) => g.weights).reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('examples/shapes', () => {
  const dir = path.join(ROOT, 'shapes');

  it('is a standard layers-model with a softmax head and matching sidecar files', async () => {
    const json = readModelJson(dir);
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest.map((g) => g.paths)).toEqual([['weights.bin']]);
    expect(fs.statSync(path.join(dir, 'weights.bin')).size).toBe(manifestBytes(json));
    expect(fs.statSync(path.join(dir, 'weights.bin')).size).toBeLessThan(1_000_000);
    expect(readLines(path.join(dir, 'labels.txt'))).toEqual(['circle', 'square', 'triangle']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'pathlens.json'), 'utf8'))).toEqual({ preprocess: 'unit' });

    const model = await loadModel(dir);
    expect(model.inputs[0].shape).toEqual([null, 48, 48, 3]);
    expect(model.outputs[0].shape).toEqual([null, 3]);
    expect(softmaxLayerName(model)).toBe('softmax');
    const classes = model.layers.map((l) => l.getClassName());
    for (const c of ['Conv2D', 'MaxPooling2D', 'GlobalAveragePooling2D', 'Dense']) expect(classes).toContain(c);
    model.dispose();
  });

  it('classifies every committed sample image as the class in its file name', async () => {
    const model = await loadModel(dir);
    const labels = readLines(path.join(dir, 'labels.txt'));
    const files = fs
      .readdirSync(path.join(dir, 'images'))
      .filter((f) => f.endsWith('.png'))
      .sort();
    expect(files).toHaveLength(6);
    for (const label of labels) expect(files.filter((f) => f.startsWith(`${label}-`))).toHaveLength(2);

    for (const file of files) {
      const png = PNG.sync.read(fs.readFileSync(path.join(dir, 'images', file)));
      expect([png.width, png.height]).toEqual([48, 48]);
      const x = new Float32Array(48 * 48 * 3);
      for (let i = 0; i < 48 * 48; i++) {
        for (let c = 0; c < 3; c++) x[i * 3 + c] = png.data[i * 4 + c] / 255;
      }
      const probs = Array.from(tf.tidy(() => (model.predict(tf.tensor4d(x, [1, 48, 48, 3])) as tf.Tensor).dataSync()));
      const sum = probs.reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 4);
      const pred = probs.indexOf(Math.max(...probs));
      expect({ file, predicted: labels[pred] }).toEqual({ file, predicted: file.split('-')[0] });
      expect(probs[pred]).toBeGreaterThan(0.8);
    }
    model.dispose();
  });
});

describe('examples/tabular', () => {
  const dir = path.join(ROOT, 'tabular');
  const FEATURES = ['income_k', 'debt_ratio', 'late_payments', 'age', 'years_at_address', 'num_credit_cards', 'zip_digit', 'noise'];
  /** The rule the data was generated with (see examples/tabular/README.md). */
  const approved = (r: number[]) => 1.5 * Math.log(r[0] / 45) - 5 * (r[1] - 0.35) - 0.9 * (r[2] - 1) > 0;

  function readSamples(): number[][] {
    const [header, ...rows] = readLines(path.join(dir, 'samples.csv'));
    expect(header.split(',')).toEqual(FEATURES);
    return rows.map((line) => line.split(',').map(Number));
  }

  function predict(model: tfl.LayersModel, rows: number[][]): number[][] {
    const out = tf.tidy(() => (model.predict(tf.tensor2d(rows)) as tf.Tensor).arraySync()) as number[][];
    return out;
  }

  it('is a standard layers-model MLP with a 2-way softmax head', async () => {
    const json = readModelJson(dir);
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest.map((g) => g.paths)).toEqual([['weights.bin']]);
    expect(fs.statSync(path.join(dir, 'weights.bin')).size).toBe(manifestBytes(json));
    expect(readLines(path.join(dir, 'labels.txt'))).toEqual(['denied', 'approved']);
    const model = await loadModel(dir);
    expect(model.inputs[0].shape).toEqual([null, 8]);
    expect(model.outputs[0].shape).toEqual([null, 2]);
    expect(softmaxLayerName(model)).toBe('softmax');
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dense', 'Dense']);
    model.dispose();
  });

  it('gives valid probabilities that follow the generating rule on the sample rows', async () => {
    const model = await loadModel(dir);
    const rows = readSamples();
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const r of rows) {
      expect(r).toHaveLength(FEATURES.length);
      for (const v of r) expect(Number.isFinite(v)).toBe(true);
    }
    const probs = predict(model, rows);
    const predicted = probs.map((p) => (p[1] > p[0] ? 'approved' : 'denied'));
    for (const p of probs) {
      for (const v of p) expect(v >= 0 && v <= 1).toBe(true);
      expect(p[0] + p[1]).toBeCloseTo(1, 5);
    }
    expect(predicted).toEqual(rows.map((r) => (approved(r) ? 'approved' : 'denied')));
    // Both classes are represented.
    expect(new Set(predicted).size).toBe(2);
    model.dispose();
  });

  it('ignores the five irrelevant features (changing them does not flip a sample)', async () => {
    const model = await loadModel(dir);
    const rows = readSamples();
    const base = predict(model, rows).map((p) => p[1] > p[0]);
    // Rotate the irrelevant columns between rows, and also push them to extreme but plausible values.
    const rotated = rows.map((r, i) => {
      const donor = rows[(i + 1) % rows.length];
      return [r[0], r[1], r[2], ...donor.slice(3)];
    });
    const extreme = rows.map((r) => [r[0], r[1], r[2], 75, 25, 7, 9, 3]);
    for (const variant of [rotated, extreme]) {
      expect(predict(model, variant).map((p) => p[1] > p[0])).toEqual(base);
    }
    model.dispose();
  });
});
