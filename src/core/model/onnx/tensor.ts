/**
 * ONNX TensorProto → host arrays: every storage form (raw_data little-endian, float_data, int32_data,
 * int64_data, double_data, fp16 in raw_data or int32_data) and external data files beside the model.
 * int64 is narrowed to int32 (TF.js has no int64), saturating so INT64_MAX "to the end" stays large.
 */
import * as fs from 'node:fs';
import { PathLensError } from '../../errors';
import { checkDeclaredBytes, elementCount, resolveInsideFolder } from '../../safety';
import { toNumber, type TensorProto } from './proto';
import type { OnnxDtype, OnnxInitializerInfo } from './types';

export interface HostTensor {
  dtype: OnnxDtype;
  dims: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'FLOAT',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'STRING',
  9: 'BOOL',
  10: 'FLOAT16',
  11: 'DOUBLE',
  12: 'UINT32',
  13: 'UINT64',
  16: 'BFLOAT16',
};
/** Bytes per element in raw_data, for the types PathLens reads. */
const RAW_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 16: 2 };

export function typeName(dataType: number): string {
  return TYPE_NAMES[dataType] ?? `type ${dataType}`;
}

/** Where a tensor's bytes live and what it declares, for summaries. */
export function describeInitializer(t: TensorProto): OnnxInitializerInfo {
  const ext = externalEntry(t);
  return {
    name: t.name ?? '',
    dims: (t.dims ?? []).map(toNumber),
    fileType: typeName(t.dataType ?? 0),
    storage: ext ? { location: ext.location, offset: ext.offset, length: ext.length } : 'inline',
  };
}

interface ExternalEntry {
  location: string;
  offset: number;
  length: number;
}

function externalEntry(t: TensorProto): ExternalEntry | null {
  if (t.dataLocation !== 1) return null;
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  return { location: kv.get('location') ?? '', offset: Number(kv.get('offset') ?? 0), length: Number(kv.get('length') ?? -1) };
}

export interface TensorReadContext {
  /** The model's folder (external data is confined to it). */
  folder: string;
  file: string;
  budget: number;
}

/** Decodes one tensor; `what` names it in errors (e.g. "initializer 'conv1.weight'"). */
export function readTensor(t: TensorProto, what: string, ctx: TensorReadContext): HostTensor {
  const dataType = t.dataType ?? 0;
  const dims = (t.dims ?? []).map(toNumber);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new PathLensError('model-load', `${ctx.file}: ${what} has invalid dims [${dims}]`);
  }
  const count = elementCount(dims);
  const elementBytes = RAW_BYTES[dataType];
  if (elementBytes === undefined) {
    throw new PathLensError('model-unsupported', `${ctx.file}: ${what} has element type ${typeName(dataType)}, which PathLens cannot read`);
  }
  checkDeclaredBytes(count * 4, ctx.budget, `${ctx.file}: ${what} [${dims}]`, 'raise --memory-budget-mb');
  const raw = rawBytes(t, what, ctx, count * elementBytes);
  const data = raw ? fromRaw(raw, dataType, count) : fromTypedFields(t, dataType);
  if (data.length !== count) {
    throw new PathLensError(
      'model-load',
      `${ctx.file}: ${what} declares shape [${dims}] (${count} values) but stores ${data.length} values`,
    );
  }
  return { dtype: dtypeOf(dataType), dims, data };
}

function dtypeOf(dataType: number): OnnxDtype {
  if (dataType === 9) return 'bool';
  return [1, 10, 11, 16].includes(dataType) ? 'float32' : 'int32';
}

function rawBytes(t: TensorProto, what: string, ctx: TensorReadContext, expected: number): Uint8Array | null {
  const ext = externalEntry(t);
  if (ext) return readExternal(ext, what, ctx, expected);
  return t.rawData && t.rawData.length > 0 ? t.rawData : null;
}

/** One place that confines external data to the model's folder (shared src/core/safety helper). */
function externalDataPath(location: string, what: string, ctx: TensorReadContext): string {
  return resolveInsideFolder(ctx.folder, location, `${ctx.file}: external data of ${what}`, { code: 'model-shard' });
}

function readExternal(ext: ExternalEntry, what: string, ctx: TensorReadContext, expected: number): Uint8Array {
  const file = externalDataPath(ext.location, what, ctx);
  const length = ext.length >= 0 ? ext.length : expected;
  if (length !== expected) {
    throw new PathLensError('model-load', `${ctx.file}: ${what} declares ${length} external bytes but its shape needs ${expected}`);
  }
  const size = fs.statSync(file).size;
  if (!Number.isInteger(ext.offset) || ext.offset < 0 || ext.offset + length > size) {
    throw new PathLensError(
      'model-shard',
      `${ctx.file}: ${what} needs bytes ${ext.offset}..${ext.offset + length} of ${ext.location}, which has ${size} bytes (short by ${ext.offset + length - size})`,
    );
  }
  const out = Buffer.alloc(length);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, out, 0, length, ext.offset);
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

function saturate(v: number): number {
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
}

function fromRaw(raw: Uint8Array, dataType: number, count: number): Float32Array | Int32Array | Uint8Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const need = count * RAW_BYTES[dataType]!;
  if (raw.byteLength !== need) return new Float32Array(Math.floor(raw.byteLength / RAW_BYTES[dataType]!)); // size error follows
  const read: Record<number, (i: number) => number> = {
    1: (i) => view.getFloat32(i * 4, true),
    2: (i) => view.getUint8(i),
    3: (i) => view.getInt8(i),
    4: (i) => view.getUint16(i * 2, true),
    5: (i) => view.getInt16(i * 2, true),
    6: (i) => view.getInt32(i * 4, true),
    7: (i) => saturate(Number(view.getBigInt64(i * 8, true))),
    9: (i) => view.getUint8(i),
    10: (i) => halfToFloat(view.getUint16(i * 2, true)),
    11: (i) => view.getFloat64(i * 8, true),
    12: (i) => saturate(view.getUint32(i * 4, true)),
    16: (i) => bfloat16ToFloat(view.getUint16(i * 2, true)),
  };
  const out = allocate(dataType, count);
  const get = read[dataType]!;
  for (let i = 0; i < count; i++) out[i] = get(i);
  return out;
}

function allocate(dataType: number, count: number): Float32Array | Int32Array | Uint8Array {
  const dtype = dtypeOf(dataType);
  return dtype === 'float32' ? new Float32Array(count) : dtype === 'bool' ? new Uint8Array(count) : new Int32Array(count);
}

function fromTypedFields(t: TensorProto, dataType: number): Float32Array | Int32Array | Uint8Array {
  if (dataType === 1) return Float32Array.from(t.floatData ?? []);
  if (dataType === 11) return Float32Array.from(t.doubleData ?? []);
  if (dataType === 10) return Float32Array.from(t.int32Data ?? [], halfToFloat);
  if (dataType === 16) return Float32Array.from(t.int32Data ?? [], bfloat16ToFloat);
  if (dataType === 7) return Int32Array.from(t.int64Data ?? [], (v) => saturate(toNumber(v)));
  if (dataType === 12) return Int32Array.from(t.uint64Data ?? [], (v) => saturate(toNumber(v)));
  if (dataType === 9) return Uint8Array.from(t.int32Data ?? []);
  return Int32Array.from(t.int32Data ?? []);
}

/** IEEE 754 binary16 → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** bfloat16 is the upper half of a float32. */
function bfloat16ToFloat(b: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, b << 16);
  return view.getFloat32(0);
}
