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
import { loadModel } from '../src/core/model/load';
import { tempDir } from './helpers/analyticModels';
import { runMethod, useCpu } from './helpers/runMethod';

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

  it('tm-objects from .keras keeps its labels and Teachable Machine preprocessing from metadata.json beside it', async () => {
    const model = await loadModel(path.join(tmFolder, 'model.keras'));
    expect(model.summary.labels).toEqual(['Ball', 'Gun', 'banana', 'apple', 'mobile']);
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
  const CLI = path.join(ROOT, 'dist/cli.js');
  const pathlens = (...args: string[]) => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
    const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };

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

  it('info on an .h5 that is not a Keras model: exit 1, one line', () => {
    const run = pathlens('info', '--model', path.join(FIXTURES, 'iris-mlp/not-keras.h5'));
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/is an HDF5 file but not a Keras model/);
  });
});
