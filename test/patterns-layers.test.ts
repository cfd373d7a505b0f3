/**
 * Pattern fitting and the pattern network on conv / depthwise / BatchNorm models written as real TF.js
 * files: conv patterns equal the dense computation on an explicitly unrolled conv (im2col in JS,
 * float64 closed forms), the BatchNorm fold equals the unfolded model, the twin's ordinary backward pass
 * equals TF.js' gradient of the loaded model, clear errors for unsupported models and stale patterns.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { valueAndGradient } from '../src/core/engine/scalar';
import { readModelArtifacts } from '../src/core/model/artifacts';
import { loadModel } from '../src/core/model/load';
import { PatternStats } from '../src/core/patterns/estimators';
import { outputSeed } from '../src/core/patterns/backward';
import { buildPatternNetwork, type PatternNetwork } from '../src/core/patterns/network';
import { fitModelPatterns, loadPatterns, readPatternFile } from '../src/core/patterns/store';
import { createRng } from '../src/core/random';
import { linearModel, productModel, sequentialModel, tempDir, type LayerSpec } from './helpers/analyticModels';
import { useCpu } from './helpers/runMethod';

beforeAll(useCpu);

const rng = createRng('patterns-layers');
const random = (n: number, lo = -1, hi = 1) => Array.from({ length: n }, () => rng.range(lo, hi));

/** N samples of `shape` written as one JSON batch file. */
function dataFile(samples: number[][], shape: number[]): string {
  const nest = (flat: number[], dims: number[]): unknown =>
    dims.length === 1
      ? flat
      : Array.from({ length: dims[0]! }, (_, i) =>
          nest(flat.slice((i * flat.length) / dims[0]!, ((i + 1) * flat.length) / dims[0]!), dims.slice(1)),
        );
  const file = path.join(tempDir('pattern-data'), 'data.json');
  fs.writeFileSync(file, JSON.stringify(samples.map((s) => nest(s, shape))));
  return file;
}

/** im2col in JS with TF's padding rules: rows [positions][kh·kw·cin] (kernel order i, j, c) of one HWC sample. */
function im2col(
  x: number[],
  [h, w, c]: number[],
  [kh, kw]: number[],
  stride: number,
  padding: 'same' | 'valid',
  channels?: number[],
): number[][] {
  const outH = padding === 'same' ? Math.ceil(h / stride) : Math.ceil((h - kh + 1) / stride);
  const outW = padding === 'same' ? Math.ceil(w / stride) : Math.ceil((w - kw + 1) / stride);
  const padTop = padding === 'same' ? Math.floor(Math.max((outH - 1) * stride + kh - h, 0) / 2) : 0;
  const padLeft = padding === 'same' ? Math.floor(Math.max((outW - 1) * stride + kw - w, 0) / 2) : 0;
  const rows: number[][] = [];
  for (let oy = 0; oy < outH; oy++)
    for (let ox = 0; ox < outW; ox++) {
      const row: number[] = [];
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++)
          for (const ch of channels ?? Array.from({ length: c! }, (_, k) => k)) {
            const y = oy * stride + i - padTop;
            const xx = ox * stride + j - padLeft;
            row.push(y >= 0 && y < h! && xx >= 0 && xx < w! ? x[(y * w! + xx) * c! + ch]! : 0);
          }
      rows.push(row);
    }
  return rows;
}

/** Float64 closed forms over explicit rows (the dense-equivalent computation): kernel [n][m] row-major. */
function closedForm(rows: number[][], kernel: number[], bias: number[], m: number, estimator: 'linear' | 'two-component'): number[] {
  const n = rows[0]!.length;
  const ys = rows.map((r) => Array.from({ length: m }, (_, j) => r.reduce((s, v, i) => s + v * kernel[i * m + j]!, 0)));
  const out = new Array<number>(n * m).fill(0);
  for (let j = 0; j < m; j++) {
    const meanY = ys.reduce((s, y) => s + y[j]!, 0) / ys.length;
    const use = rows.map((_, r) => estimator === 'linear' || ys[r]![j]! + bias[j]! > 0);
    const sel = rows.filter((_, r) => use[r]);
    const ysel = ys.filter((_, r) => use[r]).map((y) => y[j]!);
    if (sel.length === 0) continue;
    const num = Array.from({ length: n }, (_, i) => {
      const ex = sel.reduce((s, r) => s + r[i]!, 0) / sel.length;
      const exy = sel.reduce((s, r, k) => s + r[i]! * ysel[k]!, 0) / sel.length;
      return exy - ex * meanY;
    });
    const den = num.reduce((s, v, i) => s + v * kernel[i * m + j]!, 0);
    for (let i = 0; i < n; i++) out[i * m + j] = num[i]! / den;
  }
  return out;
}

const expectClose = (actual: ArrayLike<number>, expected: number[], tol: number) => {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  expected.forEach((e, i) => (worst = Math.max(worst, Math.abs(actual[i]! - e) / Math.max(1, Math.abs(e)))));
  expect(worst).toBeLessThanOrEqual(tol);
};

describe('estimators', () => {
  it('linear and two-component from streamed sums equal the closed forms (any batching, shifted sums)', () => {
    const rows = Array.from({ length: 300 }, () => random(3, 0, 4));
    const kernel = [0.5, -1, 1, 0.25, -0.5, 2];
    const bias = [-1, 0.5];
    for (const estimator of ['linear', 'two-component'] as const) {
      const stats = new PatternStats({ groups: 1, n: 3, m: 2 }, estimator);
      stats.shiftX = Float64Array.from([2, 2, 2]);
      for (let start = 0; start < rows.length; start += 70) {
        const batch = rows.slice(start, start + 70);
        const xs = batch.map((r) => r.map((v) => v - 2));
        const ys = batch.map((r) => [0, 1].map((j) => r.reduce((s, v, i) => s + v * kernel[i * 2 + j]!, 0)));
        const yc = ys.map((y) => y.map((v) => v - 0)); // shift Ky = 0
        const active = ys.map((y) => y.map((v, j) => (v + bias[j]! > 0 ? 1 : 0)));
        const sum = (f: (r: number) => number) => batch.reduce((s, _, r) => s + f(r), 0);
        const grid = (f: (r: number, i: number, j: number) => number) =>
          Array.from({ length: 6 }, (_, k) => sum((r) => f(r, Math.floor(k / 2), k % 2)));
        stats.add({
          rows: batch.length,
          sumX: [0, 1, 2].map((i) => sum((r) => xs[r]![i]!)),
          sumY: [0, 1].map((j) => sum((r) => yc[r]![j]!)),
          sumXY: grid((r, i, j) => xs[r]![i]! * yc[r]![j]!),
          activeCount: [0, 1].map((j) => sum((r) => active[r]![j]!)),
          sumXActive: grid((r, i, j) => xs[r]![i]! * active[r]![j]!),
          sumXYActive: grid((r, i, j) => xs[r]![i]! * yc[r]![j]! * active[r]![j]!),
          sumYActive: [0, 1].map((j) => sum((r) => yc[r]![j]! * active[r]![j]!)),
        });
      }
      expectClose(stats.pattern(kernel), closedForm(rows, kernel, bias, 2, estimator), 1e-10);
    }
  });

  it('safe division: a unit that is never active, or whose input is constant, gets a zero pattern', () => {
    const stats = new PatternStats({ groups: 1, n: 2, m: 1 }, 'two-component');
    stats.add({ rows: 10, sumY: [5], activeCount: [0], sumXActive: [0, 0], sumXYActive: [0, 0], sumYActive: [0] });
    expect([...stats.pattern([1, 1])]).toEqual([0, 0]);
    const constant = new PatternStats({ groups: 1, n: 2, m: 1 }, 'linear');
    constant.add({ rows: 10, sumX: [0, 0], sumY: [0], sumXY: [0, 0] });
    expect([...constant.pattern([1, 1])]).toEqual([0, 0]);
  });
});

describe('conv and depthwise patterns = the dense computation on the unrolled conv', () => {
  it('Conv2D 3×3, stride 2, same padding, ReLU: pattern has the kernel shape and equals the closed form on im2col rows', async () => {
    const shape = [6, 6, 2];
    const kernel = random(3 * 3 * 2 * 3);
    const bias = [0.1, -0.2, 0.05];
    const file = sequentialModel('conv', shape, [
      {
        className: 'Conv2D',
        config: { name: 'conv', filters: 3, kernel_size: [3, 3], strides: [2, 2], padding: 'same', activation: 'relu', use_bias: true },
        weights: [
          { name: 'kernel', shape: [3, 3, 2, 3], values: kernel },
          { name: 'bias', shape: [3], values: bias },
        ],
      },
      { className: 'Flatten', config: { name: 'flatten' } },
      {
        className: 'Dense',
        config: { name: 'out', units: 2, activation: 'softmax', use_bias: true },
        weights: [
          { name: 'kernel', shape: [27, 2], values: random(54) },
          { name: 'bias', shape: [2], values: [0, 0] },
        ],
      },
    ]);
    const samples = Array.from({ length: 30 }, () => random(72));
    const fit = await fitModelPatterns({ modelPath: file, data: [dataFile(samples, shape)], preprocessing: null });
    const conv = readPatternFile(fit.file).layers[0]!;
    expect(conv.kernelShape).toEqual([3, 3, 2, 3]);
    const rows = samples.flatMap((s) => im2col(s, shape, [3, 3], 2, 'same'));
    expectClose(conv.pattern, closedForm(rows, kernel, bias, 3, 'two-component'), 2e-4);
    const linear = await fitModelPatterns({
      modelPath: file,
      data: [dataFile(samples, shape)],
      preprocessing: null,
      estimator: 'linear',
      out: path.join(tempDir('lin'), 'p.bin'),
    });
    expectClose(readPatternFile(linear.file).layers[0]!.pattern, closedForm(rows, kernel, bias, 3, 'linear'), 2e-4);
  });

  it('DepthwiseConv2D 2×2, multiplier 2, valid: per-channel patterns equal the closed form per channel', async () => {
    const shape = [5, 5, 2];
    const kernel = random(2 * 2 * 2 * 2);
    const bias = [0.1, -0.1, 0.2, 0];
    const file = sequentialModel('depthwise', shape, [
      {
        className: 'DepthwiseConv2D',
        config: {
          name: 'dw',
          kernel_size: [2, 2],
          strides: [1, 1],
          padding: 'valid',
          depth_multiplier: 2,
          activation: 'relu',
          use_bias: true,
        },
        weights: [
          { name: 'depthwise_kernel', shape: [2, 2, 2, 2], values: kernel },
          { name: 'bias', shape: [4], values: bias },
        ],
      },
      { className: 'GlobalAveragePooling2D', config: { name: 'gap' } },
      {
        className: 'Dense',
        config: { name: 'out', units: 1, activation: 'linear', use_bias: true },
        weights: [
          { name: 'kernel', shape: [4, 1], values: [1, -1, 0.5, 2] },
          { name: 'bias', shape: [1], values: [0] },
        ],
      },
    ]);
    const samples = Array.from({ length: 25 }, () => random(50));
    const fit = await fitModelPatterns({ modelPath: file, data: [dataFile(samples, shape)], preprocessing: null });
    const dw = readPatternFile(fit.file).layers[0]!;
    expect(dw.kernelShape).toEqual([2, 2, 2, 2]);
    for (let c = 0; c < 2; c++) {
      const rows = samples.flatMap((s) => im2col(s, shape, [2, 2], 1, 'valid', [c]));
      // Kernel of channel c as [kh·kw, mult]; bias of outputs c·2 + m.
      const k = Array.from({ length: 4 * 2 }, (_, t) => kernel[(Math.floor(t / 2) * 2 + c) * 2 + (t % 2)]!);
      const expected = closedForm(rows, k, [bias[c * 2]!, bias[c * 2 + 1]!], 2, 'two-component');
      const actual = Array.from({ length: 8 }, (_, t) => dw.pattern[(Math.floor(t / 2) * 2 + c) * 2 + (t % 2)]!);
      expectClose(actual, expected, 2e-4);
    }
  });
});

function bnModel(withHead: boolean): { file: string; layers: LayerSpec[] } {
  const r = createRng('bn-model');
  const vals = (n: number, lo = -1, hi = 1) => Array.from({ length: n }, () => r.range(lo, hi));
  const layers: LayerSpec[] = [
    {
      className: 'Conv2D',
      config: { name: 'conv', filters: 2, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'linear', use_bias: true },
      weights: [
        { name: 'kernel', shape: [3, 3, 1, 2], values: vals(18) },
        { name: 'bias', shape: [2], values: [0.1, -0.3] },
      ],
    },
    {
      className: 'BatchNormalization',
      config: { name: 'bn', axis: 3, epsilon: 0.001, momentum: 0.99, center: true, scale: true },
      weights: [
        { name: 'gamma', shape: [2], values: [1.5, 0.7] },
        { name: 'beta', shape: [2], values: [0.2, -0.1] },
        { name: 'moving_mean', shape: [2], values: [0.3, -0.2] },
        { name: 'moving_variance', shape: [2], values: [0.5, 2] },
      ],
    },
  ];
  if (withHead) {
    layers.push(
      { className: 'ReLU', config: { name: 'relu' } },
      { className: 'MaxPooling2D', config: { name: 'pool', pool_size: [2, 2], strides: [2, 2], padding: 'valid' } },
      { className: 'Dropout', config: { name: 'drop', rate: 0.5 } },
      { className: 'Flatten', config: { name: 'flatten' } },
      {
        className: 'Dense',
        config: { name: 'out', units: 3, activation: 'softmax', use_bias: true },
        weights: [
          { name: 'kernel', shape: [8, 3], values: vals(24) },
          { name: 'bias', shape: [3], values: [0, 0.1, 0] },
        ],
      },
    );
  } else {
    layers.push({ className: 'Flatten', config: { name: 'flatten' } });
  }
  return { file: sequentialModel(withHead ? 'bn-head' : 'bn', [4, 4, 1], layers), layers };
}

describe('BatchNormalization fold and the twin network', () => {
  it("the folded Conv2D+BatchNorm equals the unfolded model's forward pass", async () => {
    const { file } = bnModel(false);
    const model = await loadModel(file);
    const network = await buildPatternNetwork(readModelArtifacts(file), file);
    expect(network.kernelOps).toHaveLength(1);
    expect(network.kernelOps[0]!.foldedBatchNorm).toBe('bn');
    const x = tf.tensor(random(3 * 16, -2, 2), [3, 4, 4, 1]);
    const [twin, reference] = tf.tidy(() => [network.forward(x).output.arraySync(), model.scores(x, 'logit').arraySync()]);
    expectClose(twin.flat(), reference.flat(), 1e-5);
    tf.dispose(x);
    network.dispose();
    model.dispose();
  });

  it('logits and the ordinary backward pass (W in place of patterns) equal TF.js on the loaded model (BN, ReLU layer, max-pool switches, dropout)', async () => {
    const { file } = bnModel(true);
    const model = await loadModel(file);
    const network = await buildPatternNetwork(readModelArtifacts(file), file);
    expect(network.finalSquash).toBe('softmax');
    expect(network.kernelOps.map((o) => [o.name, o.foldedBatchNorm, o.reluFamily])).toEqual([
      ['conv', 'bn', true],
      ['out', null, false],
    ]);
    const x = tf.tensor(random(2 * 16, -2, 2), [2, 4, 4, 1]);
    for (const output of ['logit', 'probability'] as const) {
      const own = new Map(network.kernelOps.map((o) => [o.name, o.kernel]));
      const [twinGrad, refGrad] = tf.tidy(() => {
        const cache = network.forward(x);
        const { seed } = outputSeedFor(network, cache.output, output);
        const grad = network.backward(cache, seed, own);
        const ref = valueAndGradient({ model, target: 1, output }, x).grad;
        return [grad.arraySync() as number[][][][], ref.arraySync() as number[][][][]];
      });
      expectClose(twinGrad.flat(3), refGrad.flat(3), 1e-5);
    }
    tf.dispose(x);
    network.dispose();
    model.dispose();
  });
});

function outputSeedFor(network: PatternNetwork, logits: tf.Tensor2D, output: 'logit' | 'probability') {
  return outputSeed(network, logits, 1, output, false);
}

describe('clear errors', () => {
  it('a layer without a pattern rule (LSTM) is named', async () => {
    const file = sequentialModel(
      'lstm',
      [3, 2],
      [
        {
          className: 'LSTM',
          config: {
            name: 'lstm_1',
            units: 2,
            activation: 'tanh',
            recurrent_activation: 'sigmoid',
            use_bias: true,
            return_sequences: false,
          },
          weights: [
            { name: 'kernel', shape: [2, 8], values: random(16) },
            { name: 'recurrent_kernel', shape: [2, 8], values: random(16) },
            { name: 'bias', shape: [8], values: random(8) },
          ],
        },
        {
          className: 'Dense',
          config: { name: 'out', units: 1, activation: 'linear', use_bias: true },
          weights: [
            { name: 'kernel', shape: [2, 1], values: [1, 1] },
            { name: 'bias', shape: [1], values: [0] },
          ],
        },
      ],
    );
    await expect(fitModelPatterns({ modelPath: file, data: [dataFile([random(6)], [3, 2])], preprocessing: null })).rejects.toThrow(
      /no rule for layer 'lstm_1' \(LSTM\)/,
    );
  });

  it('graph models: pattern methods need a layers model', async () => {
    await expect(loadPatterns(productModel())).rejects.toThrow(/need a TF\.js layers model/);
  });

  it('stale patterns are never used: changed weights → no saved patterns; an explicit file for other weights is refused', async () => {
    const file = linearModel([1, 2]);
    await expect(loadPatterns(file)).rejects.toThrow(/pathlens patterns fit --model/);
    const fit = await fitModelPatterns({
      modelPath: file,
      data: [
        dataFile(
          Array.from({ length: 20 }, () => random(2)),
          [2],
        ),
      ],
      preprocessing: null,
    });
    (await loadPatterns(file)).dispose();
    fs.writeFileSync(path.join(path.dirname(file), 'weights.bin'), Buffer.from(new Float32Array([1, 3, 0]).buffer));
    await expect(loadPatterns(file)).rejects.toThrow(/fitted for other weights/);
    await expect(loadPatterns(file, fit.file)).rejects.toThrow(/fitted for different weights/);
  });

  it('one pass with progress; cancellation stops the fit', async () => {
    const file = linearModel([1, 2]);
    const data = dataFile(
      Array.from({ length: 30 }, () => random(2)),
      [2],
    );
    const progress: number[] = [];
    await fitModelPatterns({ modelPath: file, data: [data], preprocessing: null }, { onProgress: (p) => progress.push(p.done) });
    expect(progress[progress.length - 1]).toBe(30);
    await expect(fitModelPatterns({ modelPath: file, data: [data], preprocessing: null }, { signal: { cancelled: true } })).rejects.toThrow(
      /Cancelled/,
    );
  });

  it('fitting and loading leak no tensors', async () => {
    const { file } = bnModel(true);
    const data = dataFile(
      Array.from({ length: 10 }, () => random(16)),
      [4, 4, 1],
    );
    await fitModelPatterns({ modelPath: file, data: [data], preprocessing: null });
    const before = tf.memory().numTensors;
    await fitModelPatterns({ modelPath: file, data: [data], preprocessing: null, maxSamples: 7 });
    (await loadPatterns(file)).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(
      readPatternFile(
        path.join(
          path.dirname(file),
          '.pathlens',
          fs.readdirSync(path.join(path.dirname(file), '.pathlens')).find((f) => f.endsWith('.bin'))!,
        ),
      ).header.samples,
    ).toBe(7);
  });
});
