/**
 * Development script: for fixed quadrature rules, the true map error of rule(n) against the dense-grid
 * reference, and the difference ‖A_n − A_{n/2}‖ of the same rule at half the points (the estimate's basis).
 *   npx tsx scripts/dev/map-error-fixed.ts [/tmp/map-error-grids] [rule=gauss-legendre] [n=50]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/engine/backend';
import { Evaluator } from '../../src/core/engine/evaluator';
import { loadModel } from '../../src/core/model/load';
import { quadrature } from '../../src/core/path/quadrature';
import { integrateStraightPath } from '../../src/core/path/straightPath';
import type { QuadratureRuleName } from '../../src/core/types';

const ZOO = path.resolve(__dirname, '../../../shared/zoo');
const l1 = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + Math.abs(x), 0);

async function main(): Promise<void> {
  const dir = process.argv[2] ?? '/tmp/map-error-grids';
  const rule = (process.argv[3] ?? 'gauss-legendre') as QuadratureRuleName;
  const n = Number(process.argv[4] ?? 50);
  await initBackend('wasm');
  for (const f of fs.readdirSync(dir).filter((name) => name.endsWith('.json'))) {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    const buf = fs.readFileSync(path.join(dir, f.replace(/\.json$/, '.grad.bin')));
    const grad = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const N = meta.n - 1;
    const x = Float32Array.from(meta.input as number[]);
    const reference = new Float64Array(meta.size);
    for (let j = 0; j <= N; j++) {
      const w = (j === 0 || j === N ? 1 : j % 2 === 1 ? 4 : 2) / (3 * N);
      for (let i = 0; i < meta.size; i++) reference[i]! += w * grad[j * meta.size + i]! * x[i]!;
    }
    const model = await loadModel(path.join(ZOO, meta.model, 'model.json'));
    const evaluator = new Evaluator({ model, target: meta.target, output: 'logit' });
    const mapOf = async (steps: number) => {
      const integral = await integrateStraightPath(evaluator, x, new Float32Array(x.length), quadrature(rule, steps), 'fixed');
      return Float64Array.from(integral.weightedGradSum, (g, i) => g * x[i]!);
    };
    const full = await mapOf(n);
    const half = await mapOf(Math.ceil(n / 2));
    const truth = l1(full.map((v, i) => v - reference[i]!)) / l1(reference);
    const diff = l1(full.map((v, i) => v - half[i]!)) / l1(full);
    console.log(
      `${f.padEnd(45)} ${rule}-${n}: truth ${(truth * 100).toFixed(2)}%  ‖A_n − A_n/2‖ ${(diff * 100).toFixed(2)}%  ratio ${(truth / diff).toFixed(2)}`,
    );
    model.dispose();
    tf.disposeVariables();
  }
}

void main();
