/** Running ONNX's own node tests (Debian libonnx-testdata) through PathLens's importer. */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildNodes, ExecutionPlan } from '../../src/core/model/onnx/graph';
import { decodeModel, decodeTensor, toNumber } from '../../src/core/model/onnx/proto';
import { readTensor, type HostTensor, type TensorReadContext } from '../../src/core/model/onnx/tensor';

export const NODE_TEST_ROOT = '/usr/share/libonnx-testdata/data/node';

export interface NodeTestCase {
  name: string;
  dir: string;
  opTypes: string[];
}

export function listNodeTests(): NodeTestCase[] {
  return fs
    .readdirSync(NODE_TEST_ROOT)
    .sort()
    .map((name) => {
      const dir = path.join(NODE_TEST_ROOT, name);
      const model = decodeModel(fs.readFileSync(path.join(dir, 'model.onnx')), name);
      return { name, dir, opTypes: [...new Set((model.graph!.node ?? []).map((n) => n.opType ?? ''))] };
    });
}

function readPb(file: string, ctx: TensorReadContext): { name: string; tensor: HostTensor } {
  const proto = decodeTensor(fs.readFileSync(file), file);
  return { name: proto.name ?? '', tensor: readTensor(proto, file, ctx) };
}

/**
 * Runs a node test with every graph input bound as a constant (so the whole graph folds, which is
 * the forward of each op) and returns the produced and expected outputs.
 */
export function runNodeTest(dir: string): { got: tf.Tensor; want: HostTensor; name: string }[] {
  const file = path.join(dir, 'model.onnx');
  const model = decodeModel(fs.readFileSync(file), file);
  const graph = model.graph!;
  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport ?? []) opsets[o.domain || 'ai.onnx'] = toNumber(o.version);
  const ctx: TensorReadContext = { folder: dir, file, budget: 1024 ** 3 };
  const data = path.join(dir, 'test_data_set_0');
  const weights = new Map<string, tf.Tensor>();
  const inputs = (graph.input ?? []).filter((i) => !(graph.initializer ?? []).some((t) => t.name === i.name));
  inputs.forEach((input, i) => {
    const pb = path.join(data, `input_${i}.pb`);
    if (!fs.existsSync(pb)) return; // an omitted optional input
    const { tensor } = readPb(pb, ctx);
    weights.set(input.name ?? '', tf.tensor(tensor.data, tensor.dims, tensor.dtype));
  });
  for (const t of graph.initializer ?? []) {
    const host = readTensor(t, t.name ?? '', ctx);
    weights.set(t.name ?? '', tf.tensor(host.data, host.dims, host.dtype));
  }
  const nodes = buildNodes(graph.node ?? [], opsets, file);
  const outputs = graph.output ?? [];
  const plan = new ExecutionPlan({ nodes, inputName: '\u0000none', outputName: outputs[0]!.name ?? '', readContext: ctx }, weights, [1]);
  return outputs.map((o, i) => {
    const want = readPb(path.join(data, `output_${i}.pb`), ctx).tensor;
    return { name: o.name ?? '', got: plan.run(tf.zeros([1]), o.name ?? ''), want };
  });
}
