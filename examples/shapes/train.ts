/**
 * Generates the "shapes" data set and trains the small CNN shipped in this folder.
 *
 *   npx tsx examples/shapes/train.ts          # full run: data, training, model + samples written
 *
 * Task: a 48×48 RGB picture holds one RED shape and one distractor shape of another colour (green,
 * blue or yellow, random shape) on a textured, noisy background. The label is the shape of the red
 * object: circle, square or triangle. The distractor's shape is independent of the label, so the
 * only evidence for the class is the red object, and an attribution map should light up on it.
 *
 * Everything is driven by seeded mulberry32 streams (data, shuffling, initial weights), and the cpu
 * backend is single-threaded and deterministic, so a re-run reproduces the committed files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  accuracy,
  argmax,
  fileLoadHandler,
  fileSaveHandler,
  gaussian,
  installFastTrainingKernels,
  mulberry32,
  permutation,
  randInt,
  setLearningRate,
  uniform,
  type Rng,
} from '../common/train-utils';

export const SIZE = 48;
export const CLASSES = ['circle', 'square', 'triangle'] as const;
type ShapeKind = (typeof CLASSES)[number];

const OUT_DIR = path.dirname(fileURLToPath(import.meta.url));

const SEEDS = { train: 1001, test: 2002, samples: 3003, shuffle: 4004, init: 5005 } as const;
const N_TRAIN = Number(process.env.SHAPES_N_TRAIN ?? 3000);
const N_TEST = Number(process.env.SHAPES_N_TEST ?? 1200);
const EPOCHS = Number(process.env.SHAPES_EPOCHS ?? 6);
const BATCH = 32;

// ---------------------------------------------------------------------------------------------
// Scene generator
// ---------------------------------------------------------------------------------------------

export interface PlacedShape {
  kind: ShapeKind;
  cx: number;
  cy: number;
  /** Size parameter: circle radius; the other shapes are scaled to a similar area. */
  r: number;
  /** Rotation in radians (ignored for circles). */
  rot: number;
  rgb: [number, number, number];
}

/** Radius of a circle that surely contains the shape (for placement and overlap checks). */
function extent(s: PlacedShape): number {
  return s.kind === 'circle' ? s.r : s.kind === 'square' ? s.r * 0.9 * Math.SQRT2 : s.r * 1.35;
}

/** Is the point (px, py) inside shape s? */
export function inside(s: PlacedShape, px: number, py: number): boolean {
  const dx = px - s.cx;
  const dy = py - s.cy;
  if (s.kind === 'circle') return dx * dx + dy * dy <= s.r * s.r;
  const c = Math.cos(-s.rot);
  const sn = Math.sin(-s.rot);
  const x = dx * c - dy * sn;
  const y = dx * sn + dy * c;
  if (s.kind === 'square') {
    const h = s.r * 0.9; // half side: area 3.24 r² vs circle 3.14 r²
    return Math.abs(x) <= h && Math.abs(y) <= h;
  }
  // Equilateral triangle with circumradius R, pointing up (-y) before rotation.
  const R = s.r * 1.35; // area 1.3 R² ≈ 2.37 r²
  const inR = R / 2; // inradius
  // Three half-planes: bottom edge y <= inR, and the two slanted edges.
  if (y > inR) return false;
  const n1x = Math.sqrt(3) / 2;
  const n1y = -0.5;
  if (x * n1x + y * n1y > inR) return false;
  if (-x * n1x + y * n1y > inR) return false;
  return true;
}

function redColour(rng: Rng): [number, number, number] {
  return [randInt(rng, 185, 256), randInt(rng, 0, 60), randInt(rng, 0, 60)];
}

function distractorColour(rng: Rng): [number, number, number] {
  switch (randInt(rng, 0, 3)) {
    case 0: // green
      return [randInt(rng, 20, 90), randInt(rng, 150, 230), randInt(rng, 20, 90)];
    case 1: // blue
      return [randInt(rng, 20, 90), randInt(rng, 50, 130), randInt(rng, 170, 256)];
    default: // yellow: shares the red channel with the target, so "any bright R" is not enough
      return [randInt(rng, 200, 256), randInt(rng, 190, 245), randInt(rng, 0, 60)];
  }
}

function randomShape(rng: Rng, kind: ShapeKind, rgb: [number, number, number]): PlacedShape {
  const r = uniform(rng, 6.5, 10);
  const rot = kind === 'triangle' ? uniform(rng, -0.6, 0.6) : kind === 'square' ? uniform(rng, -0.45, 0.45) : 0;
  return { kind, cx: 0, cy: 0, r, rot, rgb };
}

function place(rng: Rng, s: PlacedShape, avoid: PlacedShape | null): boolean {
  const e = extent(s);
  for (let attempt = 0; attempt < 100; attempt++) {
    s.cx = uniform(rng, e + 1, SIZE - e - 1);
    s.cy = uniform(rng, e + 1, SIZE - e - 1);
    if (!avoid) return true;
    const d = Math.hypot(s.cx - avoid.cx, s.cy - avoid.cy);
    if (d >= e + extent(avoid) + 2) return true;
  }
  return false;
}

/** Textured background: tinted grey + a few random plane waves + blotches, per channel. */
function paintBackground(rng: Rng, img: Float32Array): void {
  const grey = uniform(rng, 70, 180);
  const base = [0, 1, 2].map(() => grey + uniform(rng, -25, 25));
  const waves: { kx: number; ky: number; ph: number; amp: number[] }[] = [];
  const nWaves = randInt(rng, 2, 5);
  for (let i = 0; i < nWaves; i++) {
    const freq = uniform(rng, 0.08, 0.6);
    const ang = uniform(rng, 0, Math.PI);
    const a = uniform(rng, 6, 22);
    waves.push({
      kx: freq * Math.cos(ang),
      ky: freq * Math.sin(ang),
      ph: uniform(rng, 0, 2 * Math.PI),
      // Mostly luminance with a little colour, so the texture never looks like a red object.
      amp: [0, 1, 2].map(() => a * uniform(rng, 0.7, 1.0)),
    });
  }
  const blobs: { x: number; y: number; s: number; v: number[] }[] = [];
  const nBlobs = randInt(rng, 3, 8);
  for (let i = 0; i < nBlobs; i++) {
    const v = uniform(rng, -35, 35);
    blobs.push({
      x: uniform(rng, 0, SIZE),
      y: uniform(rng, 0, SIZE),
      s: uniform(rng, 3, 10),
      v: [0, 1, 2].map(() => v + uniform(rng, -10, 10)),
    });
  }
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      for (let c = 0; c < 3; c++) {
        let v = base[c];
        for (const w of waves) v += w.amp[c] * Math.sin(w.kx * x + w.ky * y + w.ph);
        for (const b of blobs) {
          const d2 = (x - b.x) ** 2 + (y - b.y) ** 2;
          v += b.v[c] * Math.exp(-d2 / (2 * b.s * b.s));
        }
        img[(y * SIZE + x) * 3 + c] = v;
      }
    }
  }
}

/** Composite an anti-aliased shape (4×4 supersampling) over the image. */
function paintShape(s: PlacedShape, img: Float32Array): void {
  const e = Math.ceil(extent(s)) + 1;
  const x0 = Math.max(0, Math.floor(s.cx - e));
  const x1 = Math.min(SIZE - 1, Math.ceil(s.cx + e));
  const y0 = Math.max(0, Math.floor(s.cy - e));
  const y1 = Math.min(SIZE - 1, Math.ceil(s.cy + e));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      let hits = 0;
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          if (inside(s, x + (j + 0.5) / 4, y + (i + 0.5) / 4)) hits++;
        }
      }
      if (hits === 0) continue;
      const a = hits / 16;
      const o = (y * SIZE + x) * 3;
      for (let c = 0; c < 3; c++) img[o + c] = img[o + c] * (1 - a) + s.rgb[c] * a;
    }
  }
}

export interface Scene {
  label: number;
  /** RGB, 0..255 integers, row-major HWC. */
  rgb: Uint8Array;
  target: PlacedShape;
  distractor: PlacedShape;
}

export function makeScene(rng: Rng, label: number): Scene {
  for (;;) {
    const img = new Float32Array(SIZE * SIZE * 3);
    paintBackground(rng, img);
    const target = randomShape(rng, CLASSES[label], redColour(rng));
    const distractor = randomShape(rng, CLASSES[randInt(rng, 0, 3)], distractorColour(rng));
    // Place in random order so neither object has a preferred region.
    const targetFirst = rng() < 0.5;
    const ok = targetFirst
      ? place(rng, target, null) && place(rng, distractor, target)
      : place(rng, distractor, null) && place(rng, target, distractor);
    if (!ok) continue;
    paintShape(target, img);
    paintShape(distractor, img);
    const noise = uniform(rng, 4, 14);
    const rgb = new Uint8Array(SIZE * SIZE * 3);
    for (let i = 0; i < rgb.length; i++) {
      const v = img[i] + noise * gaussian(rng);
      rgb[i] = Math.max(0, Math.min(255, Math.round(v)));
    }
    return { label, rgb, target, distractor };
  }
}

/** n scenes with balanced, shuffled labels, as a [n,48,48,3] float tensor in [0,1] + labels. */
function makeDataset(seed: number, n: number): { x: tf.Tensor4D; labels: Int32Array } {
  const rng = mulberry32(seed);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % CLASSES.length;
  const order = permutation(rng, n);
  const data = new Float32Array(n * SIZE * SIZE * 3);
  const shuffled = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = labels[order[i]];
    shuffled[i] = label;
    const scene = makeScene(rng, label);
    const off = i * SIZE * SIZE * 3;
    for (let k = 0; k < scene.rgb.length; k++) data[off + k] = scene.rgb[k] / 255;
  }
  return { x: tf.tensor4d(data, [n, SIZE, SIZE, 3]), labels: shuffled };
}

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

export function buildModel(): tfl.Sequential {
  let seed = SEEDS.init;
  const he = () => tfl.initializers.heNormal({ seed: seed++ });
  const glorot = () => tfl.initializers.glorotUniform({ seed: seed++ });
  const model = tfl.sequential({ name: 'shapes_cnn' });
  model.add(
    tfl.layers.conv2d({
      name: 'conv1',
      inputShape: [SIZE, SIZE, 3],
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: he(),
    }),
  );
  model.add(tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  model.add(
    tfl.layers.conv2d({
      name: 'conv2',
      filters: 16,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: he(),
    }),
  );
  model.add(tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
  model.add(
    tfl.layers.conv2d({
      name: 'conv3',
      filters: 32,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: he(),
    }),
  );
  model.add(tfl.layers.maxPooling2d({ name: 'pool3', poolSize: 2 }));
  model.add(
    tfl.layers.conv2d({
      name: 'conv4',
      filters: 32,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: he(),
    }),
  );
  model.add(tfl.layers.globalAveragePooling2d({ name: 'gap' }));
  model.add(tfl.layers.dense({ name: 'fc', units: 32, activation: 'relu', kernelInitializer: he() }));
  model.add(
    tfl.layers.dense({
      name: 'predictions',
      units: CLASSES.length,
      activation: 'softmax',
      kernelInitializer: glorot(),
    }),
  );
  return model;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function predictProbs(model: tfl.LayersModel, x: tf.Tensor4D): Float32Array {
  const chunks: Float32Array[] = [];
  for (let i = 0; i < x.shape[0]; i += 100) {
    const n = Math.min(100, x.shape[0] - i);
    const p = tf.tidy(() => model.predict(tf.slice(x, [i, 0, 0, 0], [n, SIZE, SIZE, 3])) as tf.Tensor);
    chunks.push(p.dataSync() as Float32Array);
    p.dispose();
  }
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function writePng(file: string, rgb: Uint8Array): void {
  const png = new PNG({ width: SIZE, height: SIZE });
  for (let i = 0; i < SIZE * SIZE; i++) {
    png.data[i * 4] = rgb[i * 3];
    png.data[i * 4 + 1] = rgb[i * 3 + 1];
    png.data[i * 4 + 2] = rgb[i * 3 + 2];
    png.data[i * 4 + 3] = 255;
  }
  fs.writeFileSync(file, PNG.sync.write(png));
}

type Dataset = ReturnType<typeof makeDataset>;

/** Mini-batch training with step decay, printing loss and accuracies per epoch. */
async function trainEpochs(model: tfl.Sequential, optimizer: tf.AdamOptimizer, train: Dataset, test: Dataset): Promise<void> {
  const trainY = tf.oneHot(tf.tensor1d(train.labels, 'int32'), CLASSES.length) as tf.Tensor2D;
  const shuffleRng = mulberry32(SEEDS.shuffle);
  const tTrain = Date.now();
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    // Step decay: full rate for the first half, then /3 and /10.
    setLearningRate(optimizer, epoch < EPOCHS / 2 ? 0.003 : epoch < (EPOCHS * 5) / 6 ? 0.001 : 0.0003);
    const order = permutation(shuffleRng, N_TRAIN);
    let lossSum = 0;
    let accSum = 0;
    let batches = 0;
    for (let i = 0; i + BATCH <= N_TRAIN; i += BATCH) {
      const idx = tf.tensor1d(order.slice(i, i + BATCH), 'int32');
      const xb = tf.gather(train.x, idx);
      const yb = tf.gather(trainY, idx);
      const [loss, acc] = (await model.trainOnBatch(xb, yb)) as number[];
      tf.dispose([idx, xb, yb]);
      lossSum += loss;
      accSum += acc;
      batches++;
    }
    const testAcc = accuracy(predictProbs(model, test.x), CLASSES.length, test.labels);
    console.log(
      `epoch ${epoch + 1}/${EPOCHS}  loss ${(lossSum / batches).toFixed(4)}  ` +
        `train-acc ${(accSum / batches).toFixed(4)}  test-acc ${testAcc.toFixed(4)}  ` +
        `(${((Date.now() - tTrain) / 1000).toFixed(0)} s)`,
    );
  }
}

/** Two sample images per class (own seed), checked with the in-memory and the re-loaded model; true when all are right. */
async function writeAndCheckSamples(model: tfl.Sequential): Promise<boolean> {
  // Sample images: 2 per class from their own seed.
  const imgDir = path.join(OUT_DIR, 'images');
  fs.mkdirSync(imgDir, { recursive: true });
  const sampleRng = mulberry32(SEEDS.samples);
  const samples: { name: string; label: number; rgb: Uint8Array }[] = [];
  for (let k = 1; k <= 2; k++) {
    for (let label = 0; label < CLASSES.length; label++) {
      const scene = makeScene(sampleRng, label);
      const name = `${CLASSES[label]}-${k}.png`;
      writePng(path.join(imgDir, name), scene.rgb);
      samples.push({ name, label, rgb: scene.rgb });
    }
  }

  // Check the samples with the in-memory model and with the model re-loaded from disk.
  const loaded = await tfl.loadLayersModel(fileLoadHandler(path.join(OUT_DIR, 'model.json')));
  let allCorrect = true;
  let maxDiff = 0;
  for (const s of samples) {
    const x = tf.tidy(() =>
      tf.tensor4d(
        Float32Array.from(s.rgb, (v) => v / 255),
        [1, SIZE, SIZE, 3],
      ),
    );
    const p = tf.tidy(() => model.predict(x) as tf.Tensor).dataSync();
    const q = tf.tidy(() => loaded.predict(x) as tf.Tensor).dataSync();
    x.dispose();
    for (let k = 0; k < p.length; k++) maxDiff = Math.max(maxDiff, Math.abs(p[k] - q[k]));
    const pred = argmax(q);
    const ok = pred === s.label;
    allCorrect &&= ok;
    console.log(
      `sample ${s.name.padEnd(15)} -> ${CLASSES[pred].padEnd(8)} p=${q[pred].toFixed(4)}  ` +
        `[${Array.from(q, (v) => v.toFixed(3)).join(', ')}] ${ok ? 'ok' : 'WRONG'}`,
    );
  }
  console.log(`reloaded model max |Δp| vs in-memory: ${maxDiff.toExponential(2)}`);
  return allCorrect;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  installFastTrainingKernels();
  const t0 = Date.now();

  const train = makeDataset(SEEDS.train, N_TRAIN);
  const test = makeDataset(SEEDS.test, N_TEST);
  console.log(`data: ${N_TRAIN} train / ${N_TEST} test images in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const model = buildModel();
  model.summary(100, undefined, (msg) => console.log(msg));
  const optimizer = tf.train.adam(0.003);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

  const tTrain = Date.now();
  await trainEpochs(model, optimizer, train, test);
  const trainSeconds = (Date.now() - tTrain) / 1000;
  const cpuSeconds = process.cpuUsage().user / 1e6;

  const trainAcc = accuracy(predictProbs(model, train.x), CLASSES.length, train.labels);
  const testAcc = accuracy(predictProbs(model, test.x), CLASSES.length, test.labels);
  console.log(`training time ${trainSeconds.toFixed(0)} s wall (process CPU so far ${cpuSeconds.toFixed(0)} s)`);
  console.log(`final train accuracy ${(trainAcc * 100).toFixed(2)} %  (n=${N_TRAIN})`);
  console.log(`final test accuracy  ${(testAcc * 100).toFixed(2)} %  (n=${N_TEST}, held-out seed)`);

  // Save model, labels, preprocessing sidecar.
  await model.save(fileSaveHandler(OUT_DIR));
  fs.writeFileSync(path.join(OUT_DIR, 'labels.txt'), CLASSES.join('\n') + '\n');
  fs.writeFileSync(path.join(OUT_DIR, 'pathlens.json'), JSON.stringify({ preprocess: 'unit' }, null, 2) + '\n');

  const allCorrect = await writeAndCheckSamples(model);
  const bytes = fs.statSync(path.join(OUT_DIR, 'weights.bin')).size;
  console.log(`weights.bin ${bytes} bytes, params ${model.countParams()}`);
  console.log(`total time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
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
