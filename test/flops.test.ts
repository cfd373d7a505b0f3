/**
 * FLOP counting (src/core/engine/flops.ts): exact counts on hand-built models, agreement between the
 * layer walk and the profiled kernels, and the zoo's MobileNets against their papers.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/core/engine/backend';
import { kernelFlops, layersModelFlops, profiledFlops } from '../src/core/engine/flops';
import { flopsPerEvaluation, physicalLimitMs, achievedFraction } from '../bench/limits';

const ZOO = '/work/shared/zoo';

function seq(input: number[], layers: tfl.layers.Layer[]): tfl.LayersModel {
  const inp = tfl.input({ shape: input });
  let y = inp as tfl.SymbolicTensor;
  for (const l of layers) y = l.apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: y });
}

beforeAll(async () => {
  await initBackend('cpu');
});

describe('layers models: exact counts', () => {
  test('Dense 7→5 relu, Dense 5→3 linear', () => {
    const m = seq([7], [tfl.layers.dense({ units: 5, activation: 'relu' }), tfl.layers.dense({ units: 3 })]);
    const f = layersModelFlops(m);
    expect(f.macs).toBe(7 * 5 + 5 * 3);
    // forward: 2·MACs + bias (5, 3) + relu (5); backward: 2·MACs + relu mask (5)
    expect(f.forward).toBe(2 * 50 + 5 + 3 + 5);
    expect(f.backward).toBe(2 * 50 + 5);
    expect(f.total).toBe(f.forward + f.backward);
    m.dispose();
  });

  test('Conv2D 3x3 s1 same 3→4 on 9x9, no bias, linear', () => {
    const m = seq([9, 9, 3], [tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false })]);
    const f = layersModelFlops(m);
    expect(f.macs).toBe(9 * 9 * 4 * 3 * 3 * 3);
    expect(f.forward).toBe(2 * f.macs);
    expect(f.backward).toBe(2 * f.macs);
    m.dispose();
  });

  test('Conv2D s2 valid relu with bias, DepthwiseConv2D dm2, BatchNorm, MaxPool, GlobalAveragePooling', () => {
    const m = seq(
      [9, 9, 3],
      [
        tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }), // 4x4x4
        tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', useBias: false }), // 4x4x8
        tfl.layers.batchNormalization(),
        tfl.layers.maxPooling2d({ poolSize: 2 }), // 2x2x8
        tfl.layers.globalAveragePooling2d({}),
      ],
    );
    const f = layersModelFlops(m);
    const conv = 4 * 4 * 4 * 27;
    const dw = 4 * 4 * 8 * 9;
    expect(f.macs).toBe(conv + dw);
    const fwd = 2 * conv + 64 /* bias */ + 64 /* relu */ + 2 * dw + 2 * 128 /* BN */ + 32 * 4 /* pool */ + 32; /* GAP */
    const bwd = 2 * conv + 64 + 2 * dw + 128 + 128 + 32;
    expect(f.forward).toBe(fwd);
    expect(f.backward).toBe(bwd);
    m.dispose();
  });

  test('the layer walk and the profiled kernels agree on multiply-adds', async () => {
    const m = seq(
      [12, 12, 3],
      [
        tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
        tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }),
        tfl.layers.conv2d({ filters: 6, kernelSize: 1 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 5 }),
      ],
    );
    const a = layersModelFlops(m);
    const b = await profiledFlops((x) => m.predict(x) as tf.Tensor, [12, 12, 3]);
    expect(b.macs).toBe(a.macs);
    m.dispose();
  });
});

describe('kernel counting', () => {
  test('shapes of a profile', () => {
    const f = kernelFlops(
      [
        { name: 'FusedConv2D', inputShapes: [[2, 8, 8, 3], [3, 3, 3, 4], [4]], outputShapes: [[2, 8, 8, 4]] },
        {
          name: 'DepthwiseConv2dNative',
          inputShapes: [
            [2, 8, 8, 4],
            [3, 3, 4, 1],
          ],
          outputShapes: [[2, 8, 8, 4]],
        },
        {
          name: 'BatchMatMul',
          inputShapes: [
            [1, 2, 256],
            [1, 256, 10],
          ],
          outputShapes: [[1, 2, 10]],
        },
        { name: 'Reshape', inputShapes: [[2, 8, 8, 4]], outputShapes: [[2, 256]] },
      ],
      2,
    );
    expect(f.macs).toBe((2 * 64 * 4 * 27 + 2 * 64 * 4 * 9 + 2 * 10 * 256) / 2);
  });
});

describe('zoo MobileNets', () => {
  test('tm-objects (MobileNetV2 0.35, 224): ≈ 59 M multiply-adds as in the paper, minus the ImageNet classifier', async () => {
    const f = await flopsPerEvaluation(path.join(ZOO, 'tm-objects/model.json'));
    // Paper: 59 M MACs incl. the 1280×1000 classifier (1.28 M); TM's head is 1280→100→5.
    expect(f.macs).toBeGreaterThan(55e6);
    expect(f.macs).toBeLessThan(61e6);
    expect(f.total).toBeGreaterThan(4 * f.macs);
    expect(f.total).toBeLessThan(4.6 * f.macs);
  });

  test('mobilenet-v1-025-graph: ≈ 41 M multiply-adds (paper), layer and graph counts consistent', async () => {
    const p = path.join(ZOO, 'mobilenet-v1-025-graph/model.json');
    if (!fs.existsSync(p)) return;
    const f = await flopsPerEvaluation(p);
    expect(f.macs).toBeGreaterThan(39e6);
    expect(f.macs).toBeLessThan(43e6);
  });

  test('limit helpers', () => {
    expect(physicalLimitMs(2e9, 10)).toBeCloseTo(200);
    expect(achievedFraction(50, 200)).toBeCloseTo(0.25);
  });
});
