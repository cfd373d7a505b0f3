/**
 * Generates the synthetic "loan approval" table and trains the small MLP shipped in this folder.
 *
 *   npx tsx examples/tabular/train.ts
 *
 * Eight named features; the label depends on exactly three of them, through a known rule:
 *
 *   score    = 1.5·ln(income_k / 45) − 5·(debt_ratio − 0.35) − 0.9·(late_payments − 1)
 *   approved = score > 0
 *
 * The other five features (age, years_at_address, num_credit_cards, zip_digit, noise) are drawn
 * independently of the label, so a faithful attribution gives them ~0 and ranks income_k,
 * debt_ratio and late_payments on top. The model takes the raw feature values as written in
 * samples.csv: the standardisation used in training is folded into the first Dense layer before
 * saving.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  accuracy,
  argmax,
  fileLoadHandler,
  fileSaveHandler,
  gaussian,
  mulberry32,
  permutation,
  randInt,
  setLearningRate,
  uniform,
  type Rng,
} from '../common/train-utils';

export const FEATURES = [
  'income_k',
  'debt_ratio',
  'late_payments',
  'age',
  'years_at_address',
  'num_credit_cards',
  'zip_digit',
  'noise',
] as const;
export const LABELS = ['denied', 'approved'] as const;
/** Indices of the features the label depends on. */
export const RELEVANT = [0, 1, 2];

const OUT_DIR = path.dirname(fileURLToPath(import.meta.url));
const SEEDS = { train: 11, test: 22, samples: 33, shuffle: 44, init: 55 } as const;
const N_TRAIN = 4000;
const N_TEST = 1000;
const EPOCHS = 20;
const BATCH = 64;
const NF = FEATURES.length;

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function poisson(rng: Rng, lambda: number): number {
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rng();
  } while (p > l);
  return k - 1;
}

/** One applicant, values rounded as they would appear in a spreadsheet. */
export function makeRow(rng: Rng): number[] {
  const income = round(Math.min(250, Math.max(12, 45 * Math.exp(0.5 * gaussian(rng)))), 0);
  const debt = round(Math.min(0.95, Math.max(0, 0.35 + 0.15 * gaussian(rng))), 2);
  const late = Math.min(8, poisson(rng, 1));
  const age = randInt(rng, 21, 76);
  const years = round(uniform(rng, 0, 25), 1);
  const cards = randInt(rng, 0, 8);
  const zip = randInt(rng, 0, 10);
  const noise = round(gaussian(rng), 3);
  return [income, debt, late, age, years, cards, zip, noise];
}

export function score(row: number[]): number {
  return 1.5 * Math.log(row[0] / 45) - 5 * (row[1] - 0.35) - 0.9 * (row[2] - 1);
}

export function trueLabel(row: number[]): number {
  return score(row) > 0 ? 1 : 0;
}

function makeDataset(seed: number, n: number): { rows: number[][]; labels: Int32Array } {
  const rng = mulberry32(seed);
  const rows: number[][] = [];
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = makeRow(rng);
    rows.push(row);
    labels[i] = trueLabel(row);
  }
  return { rows, labels };
}

function buildModel(): tfl.Sequential {
  let seed = SEEDS.init;
  const model = tfl.sequential({ name: 'loan_mlp' });
  model.add(
    tfl.layers.dense({
      name: 'hidden1',
      inputShape: [NF],
      units: 32,
      activation: 'relu',
      kernelInitializer: tfl.initializers.heNormal({ seed: seed++ }),
      kernelRegularizer: tfl.regularizers.l2({ l2: 1e-3 }),
    }),
  );
  model.add(
    tfl.layers.dense({
      name: 'hidden2',
      units: 16,
      activation: 'relu',
      kernelInitializer: tfl.initializers.heNormal({ seed: seed++ }),
      kernelRegularizer: tfl.regularizers.l2({ l2: 1e-3 }),
    }),
  );
  model.add(
    tfl.layers.dense({
      name: 'predictions',
      units: LABELS.length,
      activation: 'softmax',
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      kernelRegularizer: tfl.regularizers.l2({ l2: 1e-3 }),
    }),
  );
  return model;
}

function toTensor(rows: number[][], mean?: number[], std?: number[]): tf.Tensor2D {
  const data = new Float32Array(rows.length * NF);
  rows.forEach((r, i) =>
    r.forEach((v, j) => {
      data[i * NF + j] = mean && std ? (v - mean[j]) / std[j] : v;
    }),
  );
  return tf.tensor2d(data, [rows.length, NF]);
}

function predict(model: tfl.LayersModel, x: tf.Tensor2D): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

/** Mini-batch training with step decay; every 10 epochs the loss and the test accuracy are printed. */
async function trainEpochs(
  model: tfl.Sequential,
  optimizer: tf.AdamOptimizer,
  xTrain: tf.Tensor2D,
  yTrain: tf.Tensor2D,
  testAccuracy: () => number,
): Promise<void> {
  const shuffleRng = mulberry32(SEEDS.shuffle);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    setLearningRate(optimizer, epoch < EPOCHS / 2 ? 0.01 : epoch < (EPOCHS * 3) / 4 ? 0.003 : 0.001);
    const order = permutation(shuffleRng, N_TRAIN);
    let loss = 0;
    let batches = 0;
    for (let i = 0; i + BATCH <= N_TRAIN; i += BATCH) {
      const idx = tf.tensor1d(order.slice(i, i + BATCH), 'int32');
      const xb = tf.gather(xTrain, idx);
      const yb = tf.gather(yTrain, idx);
      loss += ((await model.trainOnBatch(xb, yb)) as number[])[0];
      batches++;
      tf.dispose([idx, xb, yb]);
    }
    if ((epoch + 1) % 10 === 0) {
      const acc = testAccuracy();
      console.log(`epoch ${epoch + 1}/${EPOCHS}  loss ${(loss / batches).toFixed(4)}  test-acc ${acc.toFixed(4)}`);
    }
  }
}

/** Folds the standardisation into hidden1: W'[j,:] = W[j,:]/std[j], b' = b − Σ_j mean[j]/std[j]·W[j,:]. */
function foldScaler(model: tfl.Sequential, mean: number[], std: number[]): void {
  const hidden1 = model.getLayer('hidden1');
  const [w, b] = hidden1.getWeights();
  const wv = w.dataSync();
  const bv = Float32Array.from(b.dataSync());
  const units = b.shape[0];
  const w2 = new Float32Array(wv.length);
  for (let j = 0; j < NF; j++) {
    for (let u = 0; u < units; u++) {
      w2[j * units + u] = wv[j * units + u] / std[j];
      bv[u] -= (mean[j] / std[j]) * wv[j * units + u];
    }
  }
  hidden1.setWeights([tf.tensor2d(w2, [NF, units]), tf.tensor1d(bv)]);
}

/** Six sample rows (own seed, three per true class, away from the boundary) as samples.csv, checked with the in-memory and re-loaded model. */
async function writeAndCheckSamples(model: tfl.Sequential): Promise<boolean> {
  // Six sample rows from their own seed: three of each true class, away from the decision boundary.
  const rng = mulberry32(SEEDS.samples);
  const samples: number[][] = [];
  const perClass = [0, 0];
  while (samples.length < 6) {
    const row = makeRow(rng);
    const s = score(row);
    const label = trueLabel(row);
    if (Math.abs(s) < 0.5 || perClass[label] >= 3) continue;
    perClass[label]++;
    samples.push(row);
  }
  const csv = [FEATURES.join(','), ...samples.map((r) => r.join(','))].join('\n') + '\n';
  fs.writeFileSync(path.join(OUT_DIR, 'samples.csv'), csv);

  const loaded = await tfl.loadLayersModel(fileLoadHandler(path.join(OUT_DIR, 'model.json')));
  const p = predict(model, toTensor(samples));
  const q = predict(loaded, toTensor(samples));
  let maxDiff = 0;
  let allCorrect = true;
  samples.forEach((row, i) => {
    const probs = Array.from(q.subarray(i * 2, i * 2 + 2));
    for (let k = 0; k < 2; k++) maxDiff = Math.max(maxDiff, Math.abs(p[i * 2 + k] - q[i * 2 + k]));
    const pred = argmax(probs);
    const ok = pred === trueLabel(row);
    allCorrect &&= ok;
    console.log(
      `row ${i + 1}: ${row.join(',').padEnd(40)} score ${score(row).toFixed(2).padStart(6)} -> ` +
        `${LABELS[pred]} p=${probs[pred].toFixed(4)} ${ok ? 'ok' : 'WRONG'}`,
    );
  });
  console.log(`reloaded model max |Δp| vs in-memory: ${maxDiff.toExponential(2)}`);
  return allCorrect;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const t0 = Date.now();
  const train = makeDataset(SEEDS.train, N_TRAIN);
  const test = makeDataset(SEEDS.test, N_TEST);
  const positives = train.labels.reduce((n, v) => n + v, 0);
  console.log(`data: ${N_TRAIN} train (${((positives / N_TRAIN) * 100).toFixed(1)} % approved) / ${N_TEST} test`);

  // Standardise with training statistics.
  const mean = FEATURES.map((_, j) => train.rows.reduce((s, r) => s + r[j], 0) / N_TRAIN);
  const std = FEATURES.map((_, j) => Math.sqrt(train.rows.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / N_TRAIN));
  console.log(`training means: ${FEATURES.map((f, j) => `${f} ${mean[j].toFixed(2)}`).join(', ')}`);
  const xTrain = toTensor(train.rows, mean, std);
  const xTest = toTensor(test.rows, mean, std);
  const yTrain = tf.oneHot(tf.tensor1d(train.labels, 'int32'), LABELS.length) as tf.Tensor2D;

  const model = buildModel();
  model.summary(90, undefined, (msg) => console.log(msg));
  const optimizer = tf.train.adam(0.01);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  await trainEpochs(model, optimizer, xTrain, yTrain, () => accuracy(predict(model, xTest), LABELS.length, test.labels));
  const trainAcc = accuracy(predict(model, xTrain), LABELS.length, train.labels);
  const testAcc = accuracy(predict(model, xTest), LABELS.length, test.labels);

  foldScaler(model, mean, std);
  const rawTestAcc = accuracy(predict(model, toTensor(test.rows)), LABELS.length, test.labels);

  // Permutation importance on the test set: accuracy drop when one column is shuffled.
  const permRng = mulberry32(66);
  const importance = FEATURES.map((name, j) => {
    const order = permutation(permRng, N_TEST);
    const rows = test.rows.map((r, i) => r.map((v, k) => (k === j ? test.rows[order[i]][j] : v)));
    const acc = accuracy(predict(model, toTensor(rows)), LABELS.length, test.labels);
    return `${name} ${((rawTestAcc - acc) * 100).toFixed(1)}`;
  });
  console.log(`permutation importance (test-accuracy drop, points): ${importance.join(', ')}`);
  console.log(`training time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`train accuracy ${(trainAcc * 100).toFixed(2)} %  (n=${N_TRAIN})`);
  console.log(`test accuracy  ${(testAcc * 100).toFixed(2)} %  (n=${N_TEST}, held-out seed)`);
  console.log(`test accuracy on raw inputs after folding the scaler: ${(rawTestAcc * 100).toFixed(2)} %`);

  await model.save(fileSaveHandler(OUT_DIR));
  fs.writeFileSync(path.join(OUT_DIR, 'labels.txt'), LABELS.join('\n') + '\n');

  const allCorrect = await writeAndCheckSamples(model);
  console.log(`params ${model.countParams()}, weights.bin ${fs.statSync(path.join(OUT_DIR, 'weights.bin')).size} bytes`);
  if (!allCorrect) {
    console.error('some samples are misclassified');
    process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
