/**
 * Reading Keras HDF5 files with jsfive. Why jsfive rather than h5wasm: Keras files use only what jsfive
 * reads (groups, attributes, contiguous or chunked/gzip float datasets, fixed and variable-length
 * strings), it is pure JS (≈ 190 KB bundled, synchronous, no wasm to ship or initialise in every
 * worker), while h5wasm adds a 5.6 MB wasm build of libhdf5 for features Keras never writes.
 *
 * Every access goes through this module so that jsfive's exceptions on damaged files (RangeError,
 * TypeError from reading past the end) become one line naming the file and the object.
 */
import * as hdf5 from 'jsfive';
import { PathLensError } from '../../errors';
import { checkDeclaredBytes, elementCount } from '../../safety';

export type H5Group = hdf5.Group;
export type H5Dataset = hdf5.Dataset;

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(bytes: Uint8Array): boolean {
  return HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Runs a jsfive read, turning its low-level exceptions into a 'model-load' line about `what`. */
export function h5Try<T>(file: string, what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof PathLensError) throw err;
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new PathLensError('model-load', `${file}: cannot read ${what} from the HDF5 data (${reason}); the file is truncated or corrupt`);
  }
}

/**
 * The end-of-file address the superblock declares (HDF5 spec, superblock versions 0-3), or null when
 * the header itself is cut. A file shorter than that lost its tail: jsfive would read the missing
 * objects as absent, so this is checked first.
 */
function declaredEnd(bytes: Uint8Array): number | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[8];
  const offsetSize = version === undefined ? 0 : version < 2 ? bytes[13]! : bytes[9]!;
  const at = version === 0 ? 24 + 2 * offsetSize : version === 1 ? 28 + 2 * offsetSize : 12 + 2 * offsetSize;
  if (offsetSize !== 8 && offsetSize !== 4) return null;
  if (at + offsetSize > bytes.length) return null;
  return offsetSize === 8 ? Number(view.getBigUint64(at, true)) : view.getUint32(at, true);
}

export function openHdf5(bytes: Uint8Array, file: string): hdf5.File {
  if (!isHdf5(bytes)) throw new PathLensError('model-load', `${file} is not an HDF5 file (no HDF5 signature)`);
  const end = declaredEnd(bytes);
  if (end === null || end > bytes.length) {
    throw new PathLensError(
      'model-load',
      `${file} is truncated: ${end === null ? 'its HDF5 header is cut' : `the HDF5 header declares ${end} bytes but the data holds ${bytes.length}`}`,
    );
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return h5Try(file, 'the root group', () => new hdf5.File(buffer, file));
}

/** The child at `path` (walked one name at a time), or null when any part is absent. */
export function h5Get(group: hdf5.Group, path: string, file: string): hdf5.Group | hdf5.Dataset | null {
  return h5Try(file, `'${path}'`, () => {
    let node: hdf5.Group | hdf5.Dataset = group;
    for (const name of path.split('/')) {
      if (!(node instanceof hdf5.Group) || !node.keys.includes(name)) return null;
      const child: hdf5.Group | hdf5.Dataset | null = node.get(name);
      if (!child) return null;
      node = child;
    }
    return node;
  });
}

/** True when the node carries the attribute (attribute tables of damaged files can throw). */
export function hasAttr(node: hdf5.Group, name: string, file: string): boolean {
  return h5Try(file, `attribute '${name}'`, () => name in node.attrs);
}

export function isGroup(node: unknown): node is hdf5.Group {
  return node instanceof hdf5.Group;
}

export function isDataset(node: unknown): node is hdf5.Dataset {
  return node instanceof hdf5.Dataset;
}

/** Strings as Keras stores them: vlen str, fixed-length bytes (NUL-padded) or byte arrays. */
function asText(value: unknown): string | null {
  if (typeof value === 'string') return value.replace(/\0+$/, '');
  if (value instanceof Uint8Array) return new TextDecoder('utf-8').decode(value).replace(/\0+$/, '');
  return null;
}

/** A string attribute, or null when absent. */
export function stringAttr(node: hdf5.Group | hdf5.Dataset, name: string, file: string): string | null {
  const attrs = h5Try(file, `attribute '${name}'`, () => node.attrs);
  if (!(name in attrs)) return null;
  const value = attrs[name];
  const text = asText(Array.isArray(value) && value.length === 1 ? value[0] : value);
  if (text === null) throw new PathLensError('model-load', `${file}: attribute '${name}' is not a string`);
  return text;
}

/**
 * A list-of-names attribute (layer_names, weight_names), also when Keras split it into `name0`,
 * `name1`, ... (lists above 64 KB) or stored an empty list as an empty float64 array.
 */
export function stringListAttr(node: hdf5.Group, name: string, file: string): string[] | null {
  const attrs = h5Try(file, `attribute '${name}'`, () => node.attrs);
  const parts: unknown[] = [];
  if (name in attrs) parts.push(attrs[name]);
  else for (let i = 0; `${name}${i}` in attrs; i++) parts.push(attrs[`${name}${i}`]);
  if (parts.length === 0) return null;
  const out: string[] = [];
  for (const part of parts) {
    const items = Array.isArray(part) ? part : ArrayBuffer.isView(part) ? Array.from(part as unknown as ArrayLike<unknown>) : [part];
    for (const item of items) {
      const text = asText(item);
      if (text === null) throw new PathLensError('model-load', `${file}: attribute '${name}' is not a list of names`);
      out.push(text);
    }
  }
  return out;
}

/** A float dataset as float32, its declared size checked against `budget` before it is read. */
export function readFloatDataset(dataset: hdf5.Dataset, what: string, file: string, budget: number): Float32Array {
  const shape = h5Try(file, what, () => dataset.shape);
  const dtype = h5Try(file, what, () => dataset.dtype);
  if (typeof dtype !== 'string' || !/^[<>]f[248]$/.test(dtype)) {
    throw new PathLensError('model-unsupported', `${file}: ${what} has dtype ${JSON.stringify(dtype)}; PathLens reads float weights only`);
  }
  checkDeclaredBytes(elementCount(shape) * 4, budget, `${file}: ${what} [${shape.join(', ')}]`);
  const values = h5Try(file, what, () => dataset.value);
  if (values.length !== elementCount(shape)) {
    throw new PathLensError(
      'model-load',
      `${file}: ${what} holds ${values.length} values but declares shape [${shape.join(', ')}]; the file is truncated or corrupt`,
    );
  }
  return Float32Array.from(values);
}

export function datasetShape(dataset: hdf5.Dataset, what: string, file: string): number[] {
  return h5Try(file, what, () => [...dataset.shape]);
}
