/**
 * Internal-neuron attributions (Lundstrom, Huang, Razaviyayn 2022; ALGORITHMS.md §8) as straight-path
 * integrals evaluated chunk by chunk: total conductance per unit (optionally restricted to a region of
 * the input), layer IG, and the input maps of one unit (its conductance C_{k,·}, or IG of h_k).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Evaluator } from '../engine/evaluator';
import type { Quadrature } from '../path/quadrature';
import {
  activationDerivative,
  activations,
  layerGradients,
  scoresFromActivation,
  unitActivation,
  unitCount,
  type SplitModel,
} from './pathTensors';

/** Chunking, cancellation, progress and counting: the job's evaluator runs the chunk loop. */
export type ChunkRunner = Pick<Evaluator, 'chunkSize' | 'forChunks' | 'evaluations'>;

export interface PathSpec {
  input: Float32Array;
  baseline: Float32Array;
  quadrature: Quadrature;
}

/** Runs `body` on consecutive chunks of the quadrature nodes; returns nothing, `body` accumulates. */
async function forChunks(
  runner: ChunkRunner,
  count: number,
  stage: string,
  body: (start: number, n: number) => Promise<void>,
  pointsPerChunk?: number,
): Promise<void> {
  // Each point costs a backward pass plus two forward passes to the layer: half the measured chunk.
  const chunk = pointsPerChunk ?? Math.max(1, Math.floor((await runner.chunkSize()) / 2));
  await runner.forChunks(count, chunk, stage, body);
}

/** Path points x' + α_j (x − x') for nodes [start, start + n), shaped [n, ...inputShape]. */
function pathPoints(path: PathSpec, inputShape: number[], start: number, n: number): tf.Tensor {
  const size = path.input.length;
  const data = new Float32Array(n * size);
  for (let j = 0; j < n; j++) {
    const alpha = path.quadrature.alphas[start + j]!;
    for (let i = 0; i < size; i++) data[j * size + i] = path.baseline[i]! + alpha * (path.input[i]! - path.baseline[i]!);
  }
  return tf.tensor(data, [n, ...inputShape]);
}

function chunkWeights(path: PathSpec, start: number, n: number): tf.Tensor1D {
  return tf.tensor1d(path.quadrature.weights.slice(start, start + n));
}

/** Σ_b w_b t_b over the batch axis of t [n, ...], flattened. */
function weightedBatchSum(weights: tf.Tensor1D, t: tf.Tensor): tf.Tensor1D {
  const flat = tf.reshape(t, [t.shape[0], -1]);
  return tf.sum(tf.mul(flat, tf.reshape(weights, [-1, 1])), 0) as tf.Tensor1D;
}

function addInto(target: Float64Array, values: Float32Array | Int32Array | Uint8Array): void {
  for (let i = 0; i < target.length; i++) target[i]! += values[i]!;
}

export interface UnitIntegral {
  /** One value per unit of the layer, row-major with channels fastest. */
  units: Float64Array;
  /** Σ_{i∈S} IG_i with the same nodes (S = the region, or every feature), for the completeness check. */
  inputIgSum: number;
}

/**
 * Conductance of every unit: Σ_j w_j ∂F/∂h_k(p_j) · dh_k/dα(p_j) with dh/dα along `direction` (x − x'
 * restricted to the region's features when `regionMask` is given, which gives A_{k,S}). One backward
 * and two forward passes to the layer per node, whatever the number of units or region size.
 */
export async function unitConductance(
  split: SplitModel,
  runner: ChunkRunner,
  path: PathSpec,
  regionMask?: Float32Array,
): Promise<UnitIntegral> {
  const inputShape = split.fn.model.inputShape;
  const direction = Float32Array.from(path.input, (v, i) => (v - path.baseline[i]!) * (regionMask ? regionMask[i]! : 1));
  const units = new Float64Array(unitCount(split));
  let inputIgSum = 0;
  await forChunks(runner, path.quadrature.alphas.length, 'conductance', async (start, n) => {
    const [unitPart, igPart] = tf.tidy(() => {
      const points = pathPoints(path, inputShape, start, n);
      const weights = chunkWeights(path, start, n);
      const dir = tf.tensor(direction, [1, ...inputShape]);
      const { gradX, gradH } = layerGradients(split, points);
      const dh = activationDerivative(split, points, tf.broadcastTo(dir, points.shape));
      const ig = tf.sum(tf.mul(weightedBatchSum(weights, gradX), tf.reshape(dir, [-1])));
      return [weightedBatchSum(weights, tf.mul(gradH, dh)), ig];
    });
    addInto(units, await unitPart!.data());
    inputIgSum += (await igPart!.data())[0]!;
    tf.dispose([unitPart!, igPart!]);
  });
  return { units, inputIgSum };
}

/**
 * Layer IG (Captum LayerIntegratedGradients semantics): IG in the layer's activation space along
 * h(x') + β(h(x) − h(x')), with the model's input held at x for any path around the layer.
 */
export async function layerIntegratedGradients(
  split: SplitModel,
  runner: ChunkRunner,
  path: PathSpec,
): Promise<{ units: Float64Array; endValues: [number, number] }> {
  const inputShape = split.fn.model.inputShape;
  const { hInput, hBaseline } = tf.tidy(() => ({
    hInput: activations(split, tf.tensor(path.input, [1, ...inputShape])),
    hBaseline: activations(split, tf.tensor(path.baseline, [1, ...inputShape])),
  }));
  const deltaH = tf.sub(hInput, hBaseline);
  const units = new Float64Array(unitCount(split));
  const ends = tf.tidy(() => {
    const x2 = tf.tensor(path.input, [1, ...inputShape]).tile([2, ...inputShape.map(() => 1)]);
    return scoresFromActivation(split, x2, tf.concat([hInput, hBaseline], 0));
  });
  const endValues = Array.from(await ends.data()) as [number, number];
  await forChunks(runner, path.quadrature.alphas.length, 'layer IG', async (start, n) => {
    const part = tf.tidy(() => {
      const betas = tf.tensor(path.quadrature.alphas.slice(start, start + n), [n, ...split.layer.shape.map(() => 1)]);
      const points = tf.add(hBaseline, tf.mul(betas, deltaH));
      const inputs = tf.tensor(path.input, [1, ...inputShape]).tile([n, ...inputShape.map(() => 1)]);
      const grad = tf.grad((h: tf.Tensor) => scoresFromActivation(split, inputs, h))(points, tf.ones([n]));
      return tf.mul(weightedBatchSum(chunkWeights(path, start, n), grad), tf.reshape(deltaH, [-1]));
    });
    addInto(units, await part.data());
    part.dispose();
  });
  tf.dispose([hInput, hBaseline, deltaH, ends]);
  return { units, endValues };
}

/**
 * Input maps of one unit k: `conductance` gives C_{k,i} = (x_i − x'_i) Σ_j w_j ∂F/∂h_k(p_j) ∂h_k/∂x_i(p_j)
 * (Σ_i = the unit's total conductance); `ig` gives IG of h_k itself (Captum NeuronIntegratedGradients).
 */
export async function unitInputMap(
  split: SplitModel,
  runner: ChunkRunner,
  path: PathSpec,
  unit: number,
  kind: 'conductance' | 'ig',
): Promise<{ map: Float64Array; unitValues: [number, number] }> {
  const inputShape = split.fn.model.inputShape;
  const size = path.input.length;
  const map = new Float64Array(size);
  await forChunks(runner, path.quadrature.alphas.length, `unit ${kind}`, async (start, n) => {
    const part = tf.tidy(() => {
      const points = pathPoints(path, inputShape, start, n);
      let weights = chunkWeights(path, start, n);
      if (kind === 'conductance') {
        const gradH = tf.reshape(layerGradients(split, points).gradH, [n, -1]);
        const mask = tf.oneHot(tf.tensor1d([unit], 'int32'), gradH.shape[1]!).reshape([1, -1]);
        weights = tf.mul(weights, tf.sum(tf.mul(gradH, mask), 1)) as tf.Tensor1D;
      }
      const kept: tf.Tensor[] = [];
      const grad = tf.grad((p: tf.Tensor) => unitActivation(split, p, unit, kept))(points, tf.ones([n]));
      tf.dispose(kept);
      return weightedBatchSum(weights, grad);
    });
    addInto(map, await part.data());
    part.dispose();
  });
  for (let i = 0; i < size; i++) map[i]! *= path.input[i]! - path.baseline[i]!;
  const kept: tf.Tensor[] = [];
  tf.tidy(() => unitActivation(split, tf.tensor([...path.input, ...path.baseline], [2, ...inputShape]), unit, kept));
  const unitValues = Array.from(await kept[0]!.data()) as [number, number];
  tf.dispose(kept);
  return { map, unitValues };
}
