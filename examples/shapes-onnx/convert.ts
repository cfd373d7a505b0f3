/**
 * Writes the trained shapes CNN (../shapes, a TF.js layers model) as the ONNX graph PyTorch would
 * export for it: NCHW input [batch, 3, 48, 48], Conv weights OIHW, Gemm, a final Softmax.
 *
 *   npx tsx examples/shapes-onnx/convert.ts
 *
 * The weights are the trained ones, so right-clicking shapes.onnx explains the same predictions as
 * ../shapes/model.json (test/examples.test.ts checks that the maps agree).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onnx } from 'onnx-proto';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE = path.join(HERE, '..', 'shapes');

interface WeightSpec {
  name: string;
  shape: number[];
}

/** Every weight of model.json by name, as float32 values in the manifest's order. */
function readWeights(): Map<string, { shape: number[]; data: Float32Array }> {
  const json = JSON.parse(fs.readFileSync(path.join(SOURCE, 'model.json'), 'utf8')) as {
    weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  };
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const group of json.weightsManifest) {
    const bytes = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(SOURCE, p))));
    const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    let offset = 0;
    for (const w of group.weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      out.set(w.name, { shape: w.shape, data: all.slice(offset, offset + size) });
      offset += size;
    }
  }
  return out;
}

/** HWIO (Keras) → OIHW (ONNX). */
function oihw({ shape: [h, w, i, o], data }: { shape: number[]; data: Float32Array }): onnx.ITensorProto {
  const out = new Float32Array(data.length);
  for (let a = 0; a < h!; a++)
    for (let b = 0; b < w!; b++)
      for (let c = 0; c < i!; c++)
        for (let d = 0; d < o!; d++) out[((d * i! + c) * h! + a) * w! + b] = data[((a * w! + b) * i! + c) * o! + d]!;
  return { dims: [o!, i!, h!, w!], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(out.buffer) };
}

function tensor(name: string, dims: number[], data: Float32Array): onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.slice().buffer) };
}

function ints(name: string, values: number[]): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}

function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } };
}

function graph(): onnx.IGraphProto {
  const weights = readWeights();
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let x = 'input';
  for (const [k, conv] of ['conv1', 'conv2', 'conv3', 'conv4'].entries()) {
    initializers.push(
      { ...oihw(weights.get(`${conv}/kernel`)!), name: `${conv}.weight` },
      tensor(`${conv}.bias`, [weights.get(`${conv}/bias`)!.shape[0]!], weights.get(`${conv}/bias`)!.data),
    );
    nodes.push(
      {
        name: `/${conv}/Conv`,
        opType: 'Conv',
        input: [x, `${conv}.weight`, `${conv}.bias`],
        output: [`${conv}_out`],
        attribute: [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])],
      },
      { name: `/${conv}/Relu`, opType: 'Relu', input: [`${conv}_out`], output: [`${conv}_relu`] },
    );
    x = `${conv}_relu`;
    if (k < 3) {
      nodes.push({
        name: `/pool${k + 1}/MaxPool`,
        opType: 'MaxPool',
        input: [x],
        output: [`pool${k + 1}`],
        attribute: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])],
      });
      x = `pool${k + 1}`;
    }
  }
  nodes.push(
    { name: '/gap/GlobalAveragePool', opType: 'GlobalAveragePool', input: [x], output: ['gap'] },
    { name: '/Flatten', opType: 'Flatten', input: ['gap'], output: ['features'] },
  );
  for (const [layer, input, output] of [
    ['fc', 'features', 'fc_out'],
    ['predictions', 'fc_relu', 'logits'],
  ] as const) {
    const kernel = weights.get(`${layer}/kernel`)!;
    initializers.push(
      tensor(`${layer}.weight`, kernel.shape, kernel.data),
      tensor(`${layer}.bias`, [kernel.shape[1]!], weights.get(`${layer}/bias`)!.data),
    );
    nodes.push({ name: `/${layer}/Gemm`, opType: 'Gemm', input: [input, `${layer}.weight`, `${layer}.bias`], output: [output] });
  }
  nodes.splice(nodes.length - 1, 0, { name: '/fc/Relu', opType: 'Relu', input: ['fc_out'], output: ['fc_relu'] });
  nodes.push({
    name: '/Softmax',
    opType: 'Softmax',
    input: ['logits'],
    output: ['probabilities'],
    attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
  });
  return {
    name: 'shapes',
    node: nodes,
    initializer: initializers,
    input: [valueInfo('input', ['batch', 3, 48, 48])],
    output: [valueInfo('probabilities', ['batch', 3])],
  };
}

const model: onnx.IModelProto = {
  irVersion: 8,
  producerName: 'pathlens examples/shapes-onnx/convert.ts',
  opsetImport: [{ domain: '', version: 17 }],
  graph: graph(),
};
fs.writeFileSync(path.join(HERE, 'shapes.onnx'), onnx.ModelProto.encode(model).finish());
fs.copyFileSync(path.join(SOURCE, 'labels.txt'), path.join(HERE, 'labels.txt'));
console.log(`wrote ${path.join(HERE, 'shapes.onnx')}`);
