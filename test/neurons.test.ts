/**
 * Internal-neuron attributions on models whose answers are known in closed form (ALGORITHMS.md §8).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Evaluator } from '../src/core/engine/evaluator';
import { loadModel } from '../src/core/model/load';
import { layerIntegratedGradients, unitConductance, unitInputMap, type PathSpec } from '../src/core/neurons/integrals';
import { splitModel } from '../src/core/neurons/pathTensors';
import { quadrature } from '../src/core/path/quadrature';
import { axis1, denseModel, graphModel } from './helpers/analyticModels';
import { useCpu } from './helpers/runMethod';

const FLOAT = { type: 'DT_FLOAT' };

/** h = (x₁, x₂²) as x ⊙ (a + b ⊙ x) with a = (1, 0), b = (0, 1); F = g(h) = h₁·h₂. */
function productNet(): string {
  return graphModel(
    'product-net',
    2,
    [
      { name: 'bx', op: 'Mul', input: ['x', 'b'], attr: { T: FLOAT } },
      { name: 'abx', op: 'AddV2', input: ['bx', 'a'], attr: { T: FLOAT } },
      { name: 'h', op: 'Mul', input: ['x', 'abx'], attr: { T: FLOAT } },
      { name: 'prod', op: 'Prod', input: ['h', 'axis'], attr: { keep_dims: { b: true }, T: FLOAT, Tidx: { type: 'DT_INT32' } } },
      { name: 'Identity', op: 'Identity', input: ['prod'], attr: { T: FLOAT } },
    ],
    [axis1, { name: 'a', dtype: 'float32', shape: [1, 2], values: [1, 0] }, { name: 'b', dtype: 'float32', shape: [1, 2], values: [0, 1] }],
  );
}

// F = v·(Wx + c): kernel [in = 3, out = 2] row-major, so W_ki = kernel[i·2 + k].
const kernel = [0.5, -1, 2, 0.25, -0.75, 1.5];
const v = [2, -3];
const x = [1.5, -0.5, 2];
const xb = [0.2, 0.1, -0.4];

function expectRelative(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.abs(expected));
}

function runner(): Evaluator {
  // An evaluator only for its chunking, cancellation and progress (the split model does the work).
  return new Evaluator({ model: null as never, target: 0, output: 'logit' }, { chunkSize: 4 });
}

function pathOf(input: number[], baseline: number[], steps = 16): PathSpec {
  return { input: Float32Array.from(input), baseline: Float32Array.from(baseline), quadrature: quadrature('gauss-legendre', steps) };
}

describe('neuron attributions, closed forms', () => {
  beforeAll(useCpu);

  it('F = v·(Wx): conductance of unit k is v_k Σ_i W_ki (x_i − x′_i), and its input map is v_k W_ki (x_i − x′_i)', async () => {
    const model = await loadModel(
      denseModel('linear-split', 3, [
        { units: 2, activation: 'linear', kernel, bias: [0.3, -0.2] },
        { units: 1, activation: 'linear', kernel: v, bias: [0.1] },
      ]),
    );
    const split = splitModel({ model, target: 0, output: 'logit' }, 'dense_0');
    expect(split.layer.shape).toEqual([2]);
    const exact = (k: number, i: number) => v[k]! * kernel[i * 2 + k]! * (x[i]! - xb[i]!);
    const { units, inputIgSum } = await unitConductance(split, runner(), pathOf(x, xb, 4));
    // The central difference (step 1e-3 of the path) in float32 leaves ≈ 6e-8/1e-3 relative error.
    for (let k = 0; k < 2; k++) expectRelative(units[k]!, exact(k, 0) + exact(k, 1) + exact(k, 2), 1e-4);
    expectRelative(units[0]! + units[1]!, inputIgSum, 1e-4);
    const { map } = await unitInputMap(split, runner(), pathOf(x, xb, 4), 1, 'conductance');
    for (let i = 0; i < 3; i++) expect(map[i]).toBeCloseTo(exact(1, i), 5);
    model.dispose();
  });

  it('product net h = (x₁, x₂²), g = h₁h₂: conductance (1/3, 2/3)·F and layer IG (1/2, 1/2)·F', async () => {
    const model = await loadModel(productNet());
    const split = splitModel({ model, target: 0, output: 'logit' }, 'h');
    const input = [1.2, -0.8];
    const F = input[0]! * input[1]! ** 2;
    const path = pathOf(input, [0, 0], 8); // the integrands are polynomials of degree ≤ 3: GL-8 is exact
    const { units, inputIgSum } = await unitConductance(split, runner(), path);
    expect(units[0]).toBeCloseTo(F / 3, 4);
    expect(units[1]).toBeCloseTo((2 * F) / 3, 4);
    expect(inputIgSum).toBeCloseTo(F, 5);
    const lig = await layerIntegratedGradients(split, runner(), path);
    expect(lig.units[0]).toBeCloseTo(F / 2, 5);
    expect(lig.units[1]).toBeCloseTo(F / 2, 5);
    expect(lig.endValues[0] - lig.endValues[1]).toBeCloseTo(F, 5);
    model.dispose();
  });

  it('a region restricts conductance to A_{k,S}, whose sum over units is the region’s IG mass', async () => {
    const model = await loadModel(productNet());
    const split = splitModel({ model, target: 0, output: 'logit' }, 'h');
    const input = [1.2, -0.8];
    const path = pathOf(input, [0, 0], 8);
    const onlyFirst = Float32Array.from([1, 0]);
    const { units, inputIgSum } = await unitConductance(split, runner(), path, onlyFirst);
    // IG of F = x₁x₂² from 0 splits F/3 to x₁ and 2F/3 to x₂; all of x₁'s share flows through h₁.
    const F = input[0]! * input[1]! ** 2;
    expect(inputIgSum).toBeCloseTo(F / 3, 5);
    expect(units[0]).toBeCloseTo(F / 3, 4);
    expect(units[1]).toBeCloseTo(0, 5);
    model.dispose();
  });

  it('neuron IG of a unit sums to h_k(x) − h_k(x′)', async () => {
    const model = await loadModel(productNet());
    const split = splitModel({ model, target: 0, output: 'logit' }, 'h');
    const { map, unitValues } = await unitInputMap(split, runner(), pathOf([1.2, -0.8], [0.5, 0.5], 8), 1, 'ig');
    expect(map[0]).toBeCloseTo(0, 6);
    expect(map[1]).toBeCloseTo(unitValues[0] - unitValues[1], 5);
    expect(unitValues[0]).toBeCloseTo(0.64, 5);
    model.dispose();
  });

  it('an unknown layer is a usage error naming valid layers', async () => {
    const model = await loadModel(productNet());
    expect(() => splitModel({ model, target: 0, output: 'logit' }, 'nope')).toThrow(/no layer 'nope'.*e\.g\./);
    model.dispose();
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
