/**
 * Decoding an ONNX ModelProto with the official onnx.proto (compiled by protobufjs in `onnx-proto`),
 * and reading node attributes with their defaults.
 */
import { onnx } from 'onnx-proto';
import { PathLensError } from '../../errors';

export type ModelProto = onnx.ModelProto;
export type NodeProto = onnx.INodeProto;
export type TensorProto = onnx.ITensorProto;
export const AttributeType = onnx.AttributeProto.AttributeType;

/** protobufjs gives int64 fields as Long objects (with `long` installed) or numbers. */
export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

export function decodeModel(bytes: Uint8Array, file: string): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new PathLensError('model-load', `${file} is not a readable ONNX model (truncated or corrupt protobuf: ${why})`);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0) {
    throw new PathLensError('model-load', `${file} is not an ONNX model: it has no graph nodes (truncated or not a .onnx file)`);
  }
  return model;
}

export function decodeTensor(bytes: Uint8Array, file: string): TensorProto {
  try {
    return onnx.TensorProto.decode(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new PathLensError('model-load', `${file} is not a readable ONNX TensorProto (${why})`);
  }
}

/** Typed, defaulted access to one node's attributes. */
export class Attributes {
  private readonly byName = new Map<string, onnx.IAttributeProto>();

  constructor(
    readonly node: NodeProto,
    readonly nodeName: string,
  ) {
    for (const a of node.attribute ?? []) if (a.name) this.byName.set(a.name, a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  int(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? toNumber(a.i) : fallback;
  }

  ints(name: string, fallback: number[] | null = null): number[] | null {
    const a = this.byName.get(name);
    return a ? (a.ints ?? []).map(toNumber) : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? (a.f ?? 0) : fallback;
  }

  floats(name: string): number[] | null {
    const a = this.byName.get(name);
    return a ? (a.floats ?? []) : null;
  }

  string(name: string, fallback: string): string {
    const a = this.byName.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : fallback;
  }

  tensor(name: string): TensorProto | null {
    return this.byName.get(name)?.t ?? null;
  }

  /** Throws a clear error for an attribute value PathLens does not implement. */
  unsupported(what: string): never {
    throw new PathLensError('model-unsupported', `ONNX node '${this.nodeName}' (${this.node.opType}): ${what} is not supported`);
  }
}
