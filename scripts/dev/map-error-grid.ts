/**
 * Development script (not shipped): dense gradient grids along the IG path of zoo samples, saved as
 * .bin files, to calibrate and test map-error estimators offline (any rule whose nodes lie on the
 * dyadic grid α = j/2^k can be simulated without new model evaluations).
 *   npx tsx scripts/dev/map-error-grid.ts <out-dir> [levels=10] [model]
 * With a model name, only that model's cases, and for tm-objects all 9 samples; grids already in
 * <out-dir> are kept.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/engine/backend';
import { Evaluator } from '../../src/core/engine/evaluator';
import { loadInputs, parsePreprocess } from '../../src/core/input';
import { loadModel } from '../../src/core/model/load';
import { straightPathPoints } from '../../src/core/path/straightPath';

const ZOO = path.resolve(__dirname, '../../../shared/zoo');
const CASES = [
  { model: 'mnist-cnn', preprocess: 'raw255', samples: ['sample_digit.png'] },
  { model: 'sign-digits-64', preprocess: 'unit', samples: ['0.jpeg', '3.jpeg'] },
  { model: 'mobilenet-v1-025-graph', preprocess: 'unit', samples: ['../../tm-objects/samples/apple_a11.jpeg'] },
  { model: 'tm-objects', preprocess: 'signed', samples: ['apple_a11.jpeg', 'ball_b1.jpeg'] },
];

function selectedCases(model: string | undefined): typeof CASES {
  if (model === undefined) return CASES;
  return CASES.filter((c) => c.model === model).map((c) =>
    c.model === 'tm-objects' ? { ...c, samples: fs.readdirSync(path.join(ZOO, c.model, 'samples')).sort() } : c,
  );
}

async function main(): Promise<void> {
  const out = process.argv[2] ?? '/tmp/map-error-grids';
  const levels = Number(process.argv[3] ?? 10);
  const n = 2 ** levels + 1;
  fs.mkdirSync(out, { recursive: true });
  await initBackend('wasm');
  for (const c of selectedCases(process.argv[4])) {
    const model = await loadModel(path.join(ZOO, c.model, 'model.json'));
    for (const sample of c.samples) {
      const name = `${c.model}--${path.basename(sample)}`;
      if (fs.existsSync(path.join(out, `${name}.json`))) continue;
      const crop = c.model === 'tm-objects' ? 'center' : 'none';
      const [input] = await loadInputs([path.join(ZOO, c.model, 'samples', sample)], model, parsePreprocess(c.preprocess, 'explicit'), {
        crop,
      });
      const x = input!.data;
      const scores = tf.tidy(() => model.predict(tf.tensor(x, [1, ...model.inputShape])).dataSync());
      const target = scores.indexOf(Math.max(...scores));
      const evaluator = new Evaluator({ model, target, output: 'logit' });
      const baseline = new Float32Array(x.length);
      const alphas = Array.from({ length: n }, (_, j) => j / (n - 1));
      const grid = new Float32Array(n * x.length);
      const values = new Float32Array(n);
      const started = Date.now();
      await evaluator.evaluatePoints(
        { count: n, build: straightPathPoints(x, baseline, alphas), keepGradients: true },
        (start, chunk) => {
          grid.set(chunk.gradients!, start * x.length);
          values.set(chunk.value, start);
        },
        'grid',
      );
      fs.writeFileSync(path.join(out, `${name}.grad.bin`), Buffer.from(grid.buffer));
      fs.writeFileSync(
        path.join(out, `${name}.json`),
        JSON.stringify({ model: c.model, sample, n, size: x.length, target, input: Array.from(x), values: Array.from(values) }),
      );
      console.log(`${name}: ${n} points in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    model.dispose();
  }
}

void main();
