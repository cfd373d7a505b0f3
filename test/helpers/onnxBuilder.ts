/** Writing small ONNX models for tests with the same protobuf schema PathLens reads. */
import { onnx } from 'onnx-proto';

type AttrValue = number | number[] | string | { floats: number[] } | onnx.ITensorProto;

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  return { name, type: T.TENSOR, t: value };
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  return { name, dims, dataType: 1, floatData: Array.from(values) };
}

export function int64Tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  return { name, dims, dataType: 7, int64Data: values };
}

/** raw_data little-endian float32. */
export function rawFloatTensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  return { name, dims, dataType: 1, rawData: new Uint8Array(Float32Array.from(values).buffer) };
}

export interface ModelSpec {
  nodes: NodeSpec[];
  input: { name: string; dims: (number | string)[] };
  output: { name: string; dims?: (number | string)[] };
  initializers?: onnx.ITensorProto[];
  opset?: number;
}

function valueInfo(name: string, dims: (number | string)[] = []): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: 1,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function encodeModel(spec: ModelSpec): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: 'pathlens-test',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'test',
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.op}_${i}`,
        opType: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer: spec.initializers ?? [],
      input: [valueInfo(spec.input.name, spec.input.dims)],
      output: [valueInfo(spec.output.name, spec.output.dims)],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
