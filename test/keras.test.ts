/**
 * Keras model files (.keras, legacy .h5) open as TF.js layers models. Fixtures: test/fixtures/keras,
 * written by scripts/keras-fixtures.py (python3-h5py) from the zoo's layers models; tm-objects (2.4 MB
 * per format) is written at test time into a temporary folder by the same script.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { zipSync, unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { PathLensError } from '../src/core/errors';
import { describePreprocessing, resolvePreprocessing } from '../src/core/input/preprocess';
import { readModelArtifacts } from '../src/core/model/artifacts';
import { loadModel } from '../src/core/model/load';
import { tempDir } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';
import { pathlens } from './helpers/cli';

const ROOT = path.resolve(__dirname, '..');
const ZOO = path.resolve(ROOT, '../shared/zoo');
const FIXTURES = path.join(ROOT, 'test/fixtures/keras');
const PYTHON = '/usr/bin/python3';

/** Writes tm-objects' .keras and .h5 with the fixture script (needs Debian's python3-h5py). */
function writeTmObjects(): string {
  const out = tempDir('keras-tm');
  const run = spawnSync(PYTHON, [path.join(ROOT, 'scripts/keras-fixtures.py'), path.join(ZOO, 'tm-objects'), out], { encoding: 'utf8' });
  if (run.status !== 0) {
    throw new Error(`scripts/keras-fixtures.py failed (install python3-h5py: apt-get install python3-h5py): ${run.stderr}`);
  }
  fs.copyFileSync(path.join(ZOO, 'tm-objects/metadata.json'), path.join(out, 'metadata.json'));
  return out;
}

async function loadError(file: string): Promise<PathLensError> {
  try {
    (await loadModel(file)).dispose();
  } catch (err) {
    expect(err).toBeInstanceOf(PathLensError);
    expect((err as Error).message).not.toContain('\n');
    return err as PathLensError;
  }
  throw new Error(`expected ${file} to fail`);
}

function relativeL1(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += Math.abs(a[i]! - b[i]!);
    norm += Math.abs(b[i]!);
  }
  return diff / norm;
}

function sampleInput(shape: number[], seed: number): number[] {
  return Array.from(tf.tidy(() => tf.randomUniform(shape, 0, 1, 'float32', seed).dataSync()));
}

beforeAll(useCpu);

const CASES: { name: string; steps: number }[] = [
  { name: 'iris-mlp', steps: 16 },
  { name: 'mnist-cnn', steps: 16 },
  { name: 'sign-digits-64', steps: 16 },
  { name: 'tm-objects', steps: 2 },
];

describe('Keras files explain like the model.json they came from', () => {
  let tmFolder = '';
  beforeAll(() => {
    tmFolder = writeTmObjects();
  });
  const folderOf = (name: string) => (name === 'tm-objects' ? tmFolder : path.join(FIXTURES, name));

  for (const { name, steps } of CASES) {
    it(`${name}: IG from .keras and .h5 equals the model.json run (relative L1 ≤ 1e-4)`, async () => {
      const reference = await loadModel(path.join(ZOO, name, 'model.json'));
      const x = sampleInput(reference.inputShape, 7);
      const target = tf.tidy(() => tf.argMax(reference.scores(tf.tensor([x], [1, ...reference.inputShape]), 'logit'), 1).dataSync()[0]!);
      const options = { steps, rule: 'gauss-legendre' as const };
      const expected = (await runMethod(reference, 'ig', x, null, options, { target })).result.attribution.data;
      for (const file of ['model.keras', 'model.h5']) {
        const model = await loadModel(path.join(folderOf(name), file));
        expect(model.summary.totalParams).toBe(reference.summary.totalParams);
        expect(model.summary.finalActivation).toBe(reference.summary.finalActivation);
        expect(model.summary.source).toMatch(file.endsWith('.keras') ? /Keras 3\.9\.2 \.keras/ : /Keras 2\.6\.0 \.h5/);
        const got = (await runMethod(model, 'ig', x, null, options, { target })).result.attribution.data;
        const l1 = relativeL1(got, expected);
        console.log(`IG agreement ${name} ${file}: relative L1 ${l1.toExponential(2)}`);
        expect(l1).toBeLessThanOrEqual(1e-4);
        model.dispose();
      }
      reference.dispose();
    }, 600_000);
  }

  it('an .h5 written by Keras 3 (Keras 3 config values, variable-path weight names) computes what model.json computes', async () => {
    const reference = await loadModel(path.join(ZOO, 'iris-mlp/model.json'));
    const model = await loadModel(path.join(FIXTURES, 'iris-mlp/keras3-saved.h5'));
    expect(model.summary.source).toMatch(/Keras 3\.9\.2 \.h5/);
    const x = tf.tensor([
      [5.1, 3.5, 1.4, 0.2],
      [6.7, 3.0, 5.2, 2.3],
    ]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(model.scores(x, 'logit'), reference.scores(x, 'logit')))).dataSync()[0]!);
    expect(diff).toBe(0);
    x.dispose();
    model.dispose();
    reference.dispose();
  });

  it('tm-objects from .keras keeps its labels and Teachable Machine preprocessing from metadata.json beside it', async () => {
    const model = await loadModel(path.join(tmFolder, 'model.keras'));
    expect(model.summary.labels).toEqual(['Ball', 'Gun', 'banana', 'apple', 'mobile']);
    const chosen = resolvePreprocessing({ modelDir: path.join(tmFolder, 'model.keras'), inModel: model.summary.inputPreprocessingLayer });
    expect([chosen.name, chosen.source]).toEqual(['signed', 'detected']);
    model.dispose();
  }, 300_000);
});

describe('bad Keras files give one clear line', () => {
  const iris = (file: string) => path.join(FIXTURES, 'iris-mlp', file);

  it('truncated zip and HDF5 (header and data regions)', async () => {
    const dir = tempDir('keras-bad');
    const keras = fs.readFileSync(iris('model.keras'));
    const h5 = fs.readFileSync(iris('model.h5'));
    const cases: [string, Uint8Array, RegExp][] = [
      ['cut.keras', keras.subarray(0, keras.length - 200), /cannot read the zip archive .*truncated or corrupt/],
      ['empty.keras', new Uint8Array(0), /not a \.keras archive/],
      ['head.h5', h5.subarray(0, 1000), /is truncated/],
      ['tail.h5', h5.subarray(0, Math.floor(h5.length * 0.8)), /is truncated: the HDF5 header declares \d+ bytes but the data holds/],
      [
        'inner.keras',
        rezip(keras, (m) => ({ ...m, 'model.weights.h5': m['model.weights.h5']!.subarray(0, 3000) })),
        /model.weights.h5\) is truncated/,
      ],
    ];
    for (const [name, bytes, pattern] of cases) {
      fs.writeFileSync(path.join(dir, name), bytes);
      expect((await loadError(path.join(dir, name))).message).toMatch(pattern);
    }
  });

  it('a .keras without model.weights.h5, or with weights in npz, says so', async () => {
    expect((await loadError(iris('no-weights.keras'))).message).toMatch(/has no model\.weights\.h5/);
    const dir = tempDir('keras-npz');
    const npz = rezip(fs.readFileSync(iris('model.keras')), (m) => {
      const { ['model.weights.h5']: h5, ...rest } = m;
      return { ...rest, 'model.weights.npz': h5! };
    });
    fs.writeFileSync(path.join(dir, 'model.keras'), npz);
    expect((await loadError(path.join(dir, 'model.keras'))).message).toMatch(/stores its weights as model\.weights\.npz/);
  });

  it('config that is not JSON', async () => {
    expect((await loadError(iris('config-not-json.keras'))).message).toMatch(/config\.json\) is not valid JSON/);
  });

  it('a weight whose shape disagrees with the config names the weight', async () => {
    for (const file of ['bad-shape.keras', 'bad-shape.h5']) {
      expect((await loadError(iris(file))).message).toMatch(
        /weight 'dense_3\/kernel' has shape \[3,100\] but the model's layer needs \[4,100\]/,
      );
    }
    const dir = tempDir('keras-units');
    fs.writeFileSync(
      path.join(dir, 'model.keras'),
      rezip(fs.readFileSync(iris('model.keras')), (m) => editConfig(m, (c) => c.replace('"units": 100', '"units": 99'))),
    );
    expect((await loadError(path.join(dir, 'model.keras'))).message).toMatch(
      /weight 'dense_3\/kernel' \(layers\/dense\/vars\/0\) has shape \[4, 100\] but the config .* needs \[\*, 99\]/,
    );
  });

  it('model.weights.h5 of another model is named as such', async () => {
    const dir = tempDir('keras-swap');
    const mnistWeights = unzipSync(fs.readFileSync(path.join(FIXTURES, 'mnist-cnn/model.keras')))['model.weights.h5']!;
    fs.writeFileSync(
      path.join(dir, 'model.keras'),
      rezip(fs.readFileSync(iris('model.keras')), (m) => ({ ...m, 'model.weights.h5': mnistWeights })),
    );
    expect((await loadError(path.join(dir, 'model.keras'))).message).toMatch(
      /layers\/dense\/vars belongs to layer 'dense' but the config puts layer 'dense_3' there; the weights are not this model's/,
    );
  });

  it('custom and unknown layer classes are named with what to do', async () => {
    const custom = await loadError(iris('custom-layer.keras'));
    expect(custom.code).toBe('model-unsupported');
    expect(custom.message).toMatch(/custom class 'my_package>MyDense'.*Python code/);
    expect((await loadError(iris('custom-layer.h5'))).message).toMatch(/class 'MyDense', which TF\.js layers cannot build/);
  });

  it('an .h5 that is not a Keras model, and a weights-only .h5, say so', async () => {
    expect((await loadError(iris('not-keras.h5'))).message).toMatch(/HDF5 file but not a Keras model/);
    expect((await loadError(iris('weights-only.h5'))).message).toMatch(/holds only weights/);
  });

  it('mixed precision computes in float32 and says so', async () => {
    const model = await loadModel(iris('mixed-float16.keras'));
    expect(model.summary.source).toMatch(/mixed-precision policy 'mixed_float16' computed in float32/);
    model.dispose();
  });

  it('corrupted bytes anywhere in the HDF5 headers give a PathLensError (or a model), never a crash or a hang', () => {
    const source = fs.readFileSync(iris('model.h5'));
    const dir = tempDir('keras-fuzz');
    let seed = 1;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    let failures = 0;
    for (let n = 0; n < 200; n++) {
      const bytes = Uint8Array.from(source);
      for (let k = 0; k < 4; k++) bytes[Math.floor(random() * 4000)] = Math.floor(random() * 256);
      const file = path.join(dir, 'fuzz.h5');
      fs.writeFileSync(file, bytes);
      const started = Date.now();
      try {
        readModelArtifacts(file);
      } catch (err) {
        expect(err, String(err)).toBeInstanceOf(PathLensError);
        expect((err as Error).message).not.toContain('\n');
        failures++;
      }
      expect(Date.now() - started).toBeLessThan(5000);
    }
    expect(failures).toBeGreaterThan(100);
  });

  it('a zip member declaring a huge size is refused before it is inflated', async () => {
    const dir = tempDir('keras-bomb');
    const bytes = Uint8Array.from(fs.readFileSync(iris('model.keras')));
    setDeclaredSize(bytes, 'config.json', 0xfffffff0);
    fs.writeFileSync(path.join(dir, 'model.keras'), bytes);
    const err = await loadError(path.join(dir, 'model.keras'));
    expect(err.code).toBe('limit');
    expect(err.message).toMatch(/zip member config\.json needs 4\.0 GB, more than the budget/);
  });
});

function rezip(bytes: Uint8Array, edit: (members: Record<string, Uint8Array>) => Record<string, Uint8Array>): Uint8Array {
  return zipSync(edit(unzipSync(bytes)), { level: 0 });
}

function editConfig(members: Record<string, Uint8Array>, edit: (text: string) => string): Record<string, Uint8Array> {
  const text = new TextDecoder().decode(members['config.json']);
  return { ...members, 'config.json': new TextEncoder().encode(edit(text)) };
}

/** Overwrites the uncompressed size of `name` in its central-directory record (a lying header). */
function setDeclaredSize(bytes: Uint8Array, name: string, size: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < bytes.length - 46; i++) {
    if (view.getUint32(i, true) !== 0x02014b50) continue;
    const nameLength = view.getUint16(i + 28, true);
    if (new TextDecoder().decode(bytes.subarray(i + 46, i + 46 + nameLength)) === name) {
      view.setUint32(i + 24, size, true);
      return;
    }
  }
  throw new Error(`no central-directory record for ${name}`);
}

describe('the CLI on Keras files', () => {
  it('explains iris from .keras and .h5 exactly as from model.json', () => {
    const dir = tempDir('keras-cli');
    const csv = path.join(dir, 'flower.csv');
    fs.writeFileSync(csv, 'sl,sw,pl,pw\n5.9,3.0,5.1,1.8\n');
    const explain = (model: string) => {
      const run = pathlens('explain', '--model', model, '--input', csv, '--method', 'ig', '--steps', '32', '--json');
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as { model: { source?: string }; inputs: { results: { attribution: { data: number[] } }[] }[] };
    };
    const reference = explain(path.join(ZOO, 'iris-mlp/model.json'));
    for (const file of ['model.keras', 'model.h5']) {
      const result = explain(path.join(FIXTURES, 'iris-mlp', file));
      expect(result.model.source).toMatch(/read directly/);
      expect(result.inputs[0]!.results[0]!.attribution).toEqual(reference.inputs[0]!.results[0]!.attribution);
    }
  });

  it('sanity checks and pattern fitting run on Keras files (MNIST .keras and .h5)', () => {
    const dir = tempDir('keras-sanity');
    fs.copyFileSync(path.join(FIXTURES, 'mnist-cnn/model.keras'), path.join(dir, 'mnist.keras'));
    fs.copyFileSync(path.join(FIXTURES, 'mnist-cnn/model.h5'), path.join(dir, 'mnist.h5'));
    fs.writeFileSync(path.join(dir, 'pathlens.json'), '{"preprocess": "raw255", "grayFrom": "red"}');
    const samples = path.join(ZOO, 'mnist-cnn/samples');
    const sanity = pathlens(
      'sanity',
      '--model',
      path.join(dir, 'mnist.keras'),
      '--input',
      samples,
      '--method',
      'gradient',
      '--check',
      'cascading',
      '--json',
    );
    expect(sanity.code, sanity.stderr).toBe(0);
    expect(sanity.stdout).toMatch(/"verdict"/);
    const fit = pathlens('patterns', 'fit', '--model', path.join(dir, 'mnist.h5'), '--data', samples);
    expect(fit.code, fit.stderr).toBe(0);
    const explained = pathlens(
      'explain',
      '--model',
      path.join(dir, 'mnist.h5'),
      '--input',
      samples,
      '--method',
      'pattern-attribution',
      '--json',
    );
    expect(explained.code, explained.stderr).toBe(0);
  });

  it('info on an .h5 that is not a Keras model: exit 1, one line', () => {
    const run = pathlens('info', '--model', path.join(FIXTURES, 'iris-mlp/not-keras.h5'));
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/is an HDF5 file but not a Keras model/);
  });
});

describe('semantics traps', () => {
  const synthetic = (file: string) => path.join(FIXTURES, 'synthetic', file);
  const xs = [-5, -2.5, -1, -0.2, 0, 0.3, 1, 2.5, 7];
  const erf = (x: number) => {
    // Abramowitz–Stegun 7.1.26 is too coarse for 1e-5; integrate exp(-t²) instead (Simpson, 2000 panels).
    const n = 2000;
    let sum = 0;
    for (let i = 0; i <= n; i++) {
      const t = (x * i) / n;
      sum += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * Math.exp(-t * t);
    }
    return ((2 / Math.sqrt(Math.PI)) * sum * x) / (3 * n);
  };
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const clip01 = (x: number) => Math.min(1, Math.max(0, x));
  const FORMULAS: Record<string, (x: number) => number> = {
    hard_sigmoid_keras3: (x) => clip01(x / 6 + 0.5),
    hard_sigmoid_keras2: (x) => clip01(0.2 * x + 0.5),
    silu: (x) => x * sigmoid(x),
    swish: (x) => x * sigmoid(x),
    gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    relu6: (x) => Math.min(6, Math.max(0, x)),
    hard_silu: (x) => x * clip01(x / 6 + 0.5),
    leaky_relu: (x) => (x >= 0 ? x : 0.2 * x),
  };

  async function outputs(file: string): Promise<number[][]> {
    const model = await loadModel(file);
    const out = tf.tidy(() => model.predict(tf.tensor(xs, [xs.length, 1])).arraySync() as number[][]);
    model.dispose();
    return out;
  }

  it('Keras 3 activation names compute Keras 3 functions (hard_sigmoid = relu6(x + 3) / 6)', async () => {
    const names = ['hard_sigmoid_keras3', 'silu', 'swish', 'gelu', 'relu6', 'hard_silu', 'leaky_relu'];
    const out = await outputs(synthetic('activations.keras'));
    xs.forEach((x, i) => names.forEach((name, k) => expect(out[i]![k]!, `${name}(${x})`).toBeCloseTo(FORMULAS[name]!(x), 5)));
  });

  it('Keras 2 hard_sigmoid keeps its Keras 2 formula clip(0.2x + 0.5)', async () => {
    const names = ['hard_sigmoid_keras2', 'swish', 'gelu', 'relu6'];
    const out = await outputs(synthetic('activations-keras2.h5'));
    xs.forEach((x, i) => names.forEach((name, k) => expect(out[i]![k]!, `${name}(${x})`).toBeCloseTo(FORMULAS[name]!(x), 5)));
  });

  it('an unknown activation is refused, not dropped', async () => {
    const dir = tempDir('keras-act');
    const edited = rezip(fs.readFileSync(synthetic('activations.keras')), (m) =>
      editConfig(m, (c) => c.replace('"activation": "gelu"', '"activation": "sparsemax"')),
    );
    fs.writeFileSync(path.join(dir, 'model.keras'), edited);
    expect((await loadError(path.join(dir, 'model.keras'))).message).toMatch(/layer 'act_gelu' uses the activation 'sparsemax'/);
  });

  for (const format of ['keras', 'h5']) {
    it(`Rescaling and Normalization (.${format}) are applied and make the input raw 0..255 pixels`, async () => {
      const pixels = Array.from({ length: 16 }, (_, i) => i * 17);
      for (const [name, transform] of [
        ['rescaling', (p: number) => p / 255],
        ['normalization', (p: number) => (p - 120) / 60],
      ] as const) {
        const model = await loadModel(synthetic(`${name}.${format}`));
        expect(model.summary.inputPreprocessingLayer).toMatch(
          name === 'rescaling' ? /is Rescaling\(scale 0\.0039\d*, offset 0\): it takes raw 0\.\.255 pixels/ : /is Normalization/,
        );
        // The model's Dense applied by hand to the transformed pixels.
        const got = tf.tidy(() => model.predict(tf.tensor(pixels, [1, 4, 4, 1])).arraySync() as number[][]);
        const [kernel, bias] = denseWeights(synthetic(`${name}.${format}`));
        const byHand = [0, 1, 2].map((j) => pixels.reduce((s, p, i) => s + transform(p) * kernel[i]![j]!, bias[j]!));
        got[0]!.forEach((v, j) => expect(v).toBeCloseTo(byHand[j]!, 4));
        model.dispose();
      }
    });
  }

  it("the preprocessing a report states comes from the model's Rescaling layer", async () => {
    const model = await loadModel(synthetic('rescaling.keras'));
    const chosen = resolvePreprocessing({ modelDir: synthetic('rescaling.keras'), inModel: model.summary.inputPreprocessingLayer });
    expect(chosen.name).toBe('raw255');
    expect(chosen.source).toBe('detected');
    expect(describePreprocessing(chosen)).toMatch(
      /raw255: \(pixel − 0\) \/ 1 \[detected\] — the model's first layer 'rescaling' is Rescaling/,
    );
    model.dispose();
  });
});

/** The Dense kernel and bias of a synthetic model, as the reader hands them to TF.js. */
function denseWeights(file: string): [number[][], number[]] {
  const read = readModelArtifacts(file);
  const values = new Float32Array(read.artifacts.weightData as ArrayBuffer);
  let offset = 0;
  const out: Record<string, number[]> = {};
  for (const spec of read.artifacts.weightSpecs!) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    out[spec.name] = Array.from(values.subarray(offset, offset + n));
    offset += n;
  }
  const flat = out['dense/kernel']!;
  return [Array.from({ length: 16 }, (_, i) => flat.slice(i * 3, i * 3 + 3)), out['dense/bias']!];
}

describe('a real Keras-written file (Keras 3.9.2, FlowNet-ANN, MIT)', () => {
  const file = path.join(FIXTURES, 'real/flownet-ann.keras');

  it('computes the outputs numpy computes from the same file, and IG is complete', async () => {
    const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'real/flownet-ann.expected.json'), 'utf8')) as {
      inputs: number[][];
      outputs: number[][];
    };
    const model = await loadModel(file);
    expect(model.summary.source).toMatch(/Keras 3\.9\.2 \.keras/);
    expect(model.summary.layers.map((l) => l.className)).toEqual(['Dense', 'Dropout', 'Dense', 'LeakyReLU', 'Dense', 'LeakyReLU', 'Dense']);
    const got = tf.tidy(() => model.predict(tf.tensor(expected.inputs)).arraySync() as number[][]);
    got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected.outputs[i]![j]!, 5)));
    const { result } = await runMethod(model, 'ig', expected.inputs[2]!, null, { steps: 64 }, { target: 0 });
    expect(Math.abs(result.completeness!.relative)).toBeLessThan(0.01);
    model.dispose();
  });
});

describe('which files are Keras models', () => {
  it('by extension, case-insensitive; model.json and other formats are not', async () => {
    const { isKerasModelFileName, isModelFileName } = await import('../src/shared/fileNames');
    for (const name of ['m.keras', 'dir/M.H5', 'C:\\models\\net.hdf5']) expect(isKerasModelFileName(name), name).toBe(true);
    for (const name of ['model.json', 'net.onnx', 'weights.bin', '.h5', 'h5']) expect(isKerasModelFileName(name), name).toBe(false);
    expect(isModelFileName('x/model.json')).toBe(true);
    expect(isModelFileName('x/other.json')).toBe(false);
  });
});
