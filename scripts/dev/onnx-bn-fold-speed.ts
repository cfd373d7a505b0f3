/**
 * BatchNorm folding speed: a ResNet-like stack (8 × Conv 3×3 64→64 + BatchNormalization + Relu at
 * 56×56, then GAP + Gemm) written as ONNX, timed with and without folding: one input gradient of
 * the logit per evaluation, batch 4, on the chosen backend. Usage: npx tsx scripts/dev/onnx-bn-fold-speed.ts [wasm|cpu]
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/core/engine/backend';
import type { BackendChoice } from '../../src/core/types';
import { buildOnnxModel, readOnnx } from '../../src/core/model/onnx/load';
import { createRng } from '../../src/core/random';
import { encodeModel, floatTensor, type NodeSpec } from '../../test/helpers/onnxBuilder';

const LAYERS = 8;
const C = 64;
const rng = createRng(1);
const values = (n: number, scale: number) => Array.from({ length: n }, () => rng.normal() * scale);

function stack(): Uint8Array {
  const nodes: NodeSpec[] = [];
  const inits = [];
  let prev = 'x';
  for (let l = 0; l < LAYERS; l++) {
    const p = `l${l}`;
    inits.push(floatTensor(`${p}.w`, [C, C, 3, 3], values(C * C * 9, 0.05)));
    for (const [k, v] of Object.entries({ g: 1, b: 0, m: 0, v: 1 })) {
      inits.push(
        floatTensor(
          `${p}.${k}`,
          [C],
          values(C, 0.1).map((d) => (k === 'v' ? 1 + Math.abs(d) : v + d)),
        ),
      );
    }
    nodes.push({ op: 'Conv', inputs: [prev, `${p}.w`], outputs: [`${p}.c`], attrs: { pads: [1, 1, 1, 1] } });
    nodes.push({ op: 'BatchNormalization', inputs: [`${p}.c`, `${p}.g`, `${p}.b`, `${p}.m`, `${p}.v`], outputs: [`${p}.n`] });
    nodes.push({ op: 'Relu', inputs: [`${p}.n`], outputs: [`${p}.r`] });
    prev = `${p}.r`;
  }
  inits.push(floatTensor('fc', [10, C], values(10 * C, 0.1)));
  nodes.push({ op: 'GlobalAveragePool', inputs: [prev], outputs: ['g'] });
  nodes.push({ op: 'Flatten', inputs: ['g'], outputs: ['f'] });
  nodes.push({ op: 'Gemm', inputs: ['f', 'fc'], outputs: ['y'], attrs: { transB: 1 } });
  return encodeModel({ input: { name: 'x', dims: ['N', C, 56, 56] }, output: { name: 'y' }, initializers: inits, nodes });
}

async function main(): Promise<void> {
  const backend = await initBackend((process.argv[2] ?? 'wasm') as BackendChoice);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bnfold-')), 'stack.onnx');
  fs.writeFileSync(file, stack());
  const source = readOnnx(file, 1 << 30);
  const x = tf.randomNormal([4, C, 56, 56], 0, 1, 'float32', 3);
  for (const fold of [false, true]) {
    const model = buildOnnxModel(source, { budget: 1 << 30, foldBatchNorm: fold });
    const evaluate = () =>
      tf.tidy(() =>
        tf
          .grad((v: tf.Tensor) => tf.sum(tf.slice(model.scores(v, 'logit'), [0, 0], [-1, 1])))(x)
          .dataSync(),
      );
    evaluate();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      evaluate();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    console.log(`${backend} fold=${fold}: median ${times[2]!.toFixed(0)} ms per gradient (batch 4), min ${times[0]!.toFixed(0)} ms`);
    model.dispose();
  }
}

void main();
