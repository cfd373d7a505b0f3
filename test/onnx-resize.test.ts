/**
 * Resize beyond ONNX's own node tests (which are all opset 13): the opset 10 / 11 / 18 input forms and
 * Upsample agree with the equivalent opset-13 node, and linear half_pixel / nearest asymmetric agree
 * with TF.js's own resizeBilinear / resizeNearestNeighbor (an independent implementation).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/engine/backend';
import { buildNodes, ExecutionPlan } from '../src/core/model/onnx/graph';
import { decodeModel } from '../src/core/model/onnx/proto';
import { readTensor } from '../src/core/model/onnx/tensor';
import { encodeModel, floatTensor, int64Tensor, type NodeSpec } from './helpers/onnxBuilder';
import type { onnx } from 'onnx-proto';

const X_SHAPE = [1, 2, 5, 4];
const X = Array.from({ length: 40 }, (_, i) => Math.sin(i * 12.9898 + 1.7) * 2);

/** Runs one Resize/Upsample node on X (a plan with X bound as the graph input). */
function run(node: Omit<NodeSpec, 'outputs'>, consts: onnx.ITensorProto[], opset: number): tf.Tensor {
  const bytes = encodeModel({
    input: { name: 'x', dims: X_SHAPE },
    output: { name: 'y' },
    initializers: consts,
    opset,
    nodes: [{ ...node, outputs: ['y'] }],
  });
  const model = decodeModel(bytes, 'resize');
  const readContext = { folder: '/', file: 'resize', budget: 1 << 30 };
  const weights = new Map(
    (model.graph!.initializer ?? []).map((t) => {
      const h = readTensor(t, t.name ?? '', readContext);
      return [t.name ?? '', tf.tensor(h.data, h.dims, h.dtype)] as const;
    }),
  );
  const nodes = buildNodes(model.graph!.node ?? [], { 'ai.onnx': opset }, 'resize');
  const plan = new ExecutionPlan({ nodes, inputName: 'x', outputName: 'y', readContext }, weights, X_SHAPE);
  const y = tf.keep(plan.run(tf.tensor(X, X_SHAPE), 'y'));
  plan.dispose();
  return y;
}

function expectClose(a: tf.Tensor, b: tf.Tensor): void {
  expect(a.shape).toEqual(b.shape);
  const [da, db] = [a.dataSync(), b.dataSync()];
  da.forEach((v, i) => expect(v).toBeCloseTo(db[i]!, 5));
}

const scales = (values: number[]) => floatTensor('s', [4], values);
const sizes = (values: number[]) => int64Tensor('z', [values.length], values);
const nhwc = (x: tf.Tensor) => tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D;

describe.each(['cpu', 'wasm'] as const)('ONNX Resize forms on %s', (backend) => {
  beforeAll(async () => {
    expect(await initBackend(backend)).toBe(backend);
  });

  it('opset 18 axes + sizes equals opset 13 sizes for every axis', () => {
    const attrs = { mode: 'linear' };
    const axes = run({ op: 'Resize', inputs: ['x', '', '', 'z'], attrs: { ...attrs, axes: [2, 3] } }, [sizes([8, 3])], 18);
    const all = run({ op: 'Resize', inputs: ['x', '', '', 'z'], attrs }, [sizes([1, 2, 8, 3])], 13);
    expect(all.shape).toEqual([1, 2, 8, 3]);
    expectClose(axes, all);
  });

  it('opset 18 keep_aspect_ratio_policy not_larger scales both axes alike', () => {
    const y = run(
      { op: 'Resize', inputs: ['x', '', '', 'z'], attrs: { mode: 'nearest', axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' } },
      [sizes([10, 12])],
      18,
    );
    expect(y.shape).toEqual([1, 2, 10, 8]); // min(10/5, 12/4) = 2
  });

  it('opset 10 Resize and opset 9 Upsample are opset 13 asymmetric (nearest takes the floor)', () => {
    const modern = (mode: string) =>
      run(
        { op: 'Resize', inputs: ['x', '', 's'], attrs: { mode, coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } },
        [scales([1, 1, 2, 1.5])],
        13,
      );
    expectClose(run({ op: 'Resize', inputs: ['x', 's'], attrs: { mode: 'nearest' } }, [scales([1, 1, 2, 1.5])], 10), modern('nearest'));
    expectClose(run({ op: 'Upsample', inputs: ['x', 's'], attrs: { mode: 'linear' } }, [scales([1, 1, 2, 1.5])], 9), modern('linear'));
  });

  it('linear half_pixel matches tf.image.resizeBilinear (half-pixel centers), nearest asymmetric its nearest neighbour', () => {
    const x = tf.tensor(X, X_SHAPE);
    const linear = run({ op: 'Resize', inputs: ['x', '', '', 'z'], attrs: { mode: 'linear' } }, [sizes([1, 2, 9, 7])], 13);
    expectClose(nhwc(linear), tf.image.resizeBilinear(nhwc(x), [9, 7], false, true));
    const nearest = run(
      {
        op: 'Resize',
        inputs: ['x', '', 's'],
        attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
      },
      [scales([1, 1, 2, 3])],
      13,
    );
    expectClose(nhwc(nearest), tf.image.resizeNearestNeighbor(nhwc(x), [10, 12], false, false));
  });

  it('refuses what it does not compute with a clear error', () => {
    expect(() =>
      run({ op: 'Resize', inputs: ['x', '', 's'], attrs: { mode: 'linear', antialias: 1 } }, [scales([1, 1, 0.5, 0.5])], 18),
    ).toThrow(/antialias/);
    expect(() => run({ op: 'Resize', inputs: ['x', '', 's'], attrs: { mode: 'area' } }, [scales([1, 1, 2, 2])], 13)).toThrow(/mode 'area'/);
  });
});
