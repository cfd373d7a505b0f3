/**
 * Small, valid base fixtures the hostile corpus mutates: model folders (layers dense, functional,
 * CNN, graph), inputs (PNG, JPEG, JSON, CSV) and a pattern store. Written with plain fs, no TF.js.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { createRng } from '../../src/core/random';

export type ModelKind = 'dense' | 'functional' | 'cnn' | 'graph';

interface Weight {
  name: string;
  shape: number[];
  dtype?: 'float32' | 'int32';
}

/** Deterministic pseudo-random numbers in [0, 1) (PathLens' own seeded generator), so the corpus is the same on every run. */
export function rng(seed: number): () => number {
  const generator = createRng(seed);
  return () => generator.uniform();
}

function weightBytes(weights: Weight[], seed: number): Buffer {
  const random = rng(seed);
  const count = weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  const values = new Float32Array(count).map(() => (random() - 0.5) * 0.5);
  return Buffer.from(values.buffer);
}

function dense(name: string, units: number, extra: Record<string, unknown> = {}) {
  return { class_name: 'Dense', config: { name, units, activation: 'linear', use_bias: true, ...extra } };
}

function topologyOf(kind: Exclude<ModelKind, 'graph'>): { topology: object; weights: Weight[] } {
  if (kind === 'dense') {
    return {
      topology: {
        class_name: 'Sequential',
        config: { name: 'dense_model', layers: [dense('dense', 3, { batch_input_shape: [null, 4], activation: 'softmax' })] },
      },
      weights: [
        { name: 'dense/kernel', shape: [4, 3] },
        { name: 'dense/bias', shape: [3] },
      ],
    };
  }
  if (kind === 'functional') {
    const inbound = (from: string) => [[[from, 0, 0, {}]]];
    return {
      topology: {
        class_name: 'Model',
        config: {
          name: 'functional_model',
          layers: [
            {
              class_name: 'InputLayer',
              name: 'input_1',
              config: { batch_input_shape: [null, 4], dtype: 'float32', name: 'input_1' },
              inbound_nodes: [],
            },
            { ...dense('d1', 3, { activation: 'relu' }), name: 'd1', inbound_nodes: inbound('input_1') },
            { ...dense('d2', 2), name: 'd2', inbound_nodes: inbound('d1') },
          ],
          input_layers: [['input_1', 0, 0]],
          output_layers: [['d2', 0, 0]],
        },
      },
      weights: [
        { name: 'd1/kernel', shape: [4, 3] },
        { name: 'd1/bias', shape: [3] },
        { name: 'd2/kernel', shape: [3, 2] },
        { name: 'd2/bias', shape: [2] },
      ],
    };
  }
  return {
    topology: {
      class_name: 'Sequential',
      config: {
        name: 'cnn_model',
        layers: [
          {
            class_name: 'Conv2D',
            config: {
              name: 'conv',
              filters: 2,
              kernel_size: [3, 3],
              strides: [1, 1],
              padding: 'valid',
              activation: 'relu',
              use_bias: true,
              batch_input_shape: [null, 8, 8, 3],
            },
          },
          { class_name: 'Flatten', config: { name: 'flatten' } },
          dense('out', 3),
        ],
      },
    },
    weights: [
      { name: 'conv/kernel', shape: [3, 3, 3, 2] },
      { name: 'conv/bias', shape: [2] },
      { name: 'out/kernel', shape: [72, 3] },
      { name: 'out/bias', shape: [3] },
    ],
  };
}

const FLOAT = { type: 'DT_FLOAT' };

function graphTopology(): { topology: object; weights: Weight[] } {
  const constNode = (name: string, shape: number[]) => ({
    name,
    op: 'Const',
    attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: shape.map((s) => ({ size: String(s) })) } } }, dtype: FLOAT },
  });
  return {
    topology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: { dim: [{ size: '-1' }, { size: '4' }] } } } },
        constNode('W', [4, 3]),
        constNode('b', [3]),
        { name: 'mm', op: 'MatMul', input: ['x', 'W'], attr: { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: false } } },
        { name: 'logits', op: 'BiasAdd', input: ['mm', 'b'], attr: { T: FLOAT } },
        { name: 'Identity', op: 'Softmax', input: ['logits'], attr: { T: FLOAT } },
      ],
      versions: { producer: 1 },
    },
    weights: [
      { name: 'W', shape: [4, 3] },
      { name: 'b', shape: [3] },
    ],
  };
}

export interface ModelFiles {
  modelJson: Record<string, unknown> & {
    modelTopology: Record<string, unknown>;
    weightsManifest: { paths: string[]; weights: Weight[] }[];
  };
  weights: Buffer;
}

/** The model.json object and weight bytes of a base model (mutate, then `writeModel`). */
export function baseModel(kind: ModelKind, seed = 1): ModelFiles {
  const { topology, weights } = kind === 'graph' ? graphTopology() : topologyOf(kind);
  const modelJson = {
    format: kind === 'graph' ? 'graph-model' : 'layers-model',
    generatedBy: 'pathlens-hostile-corpus',
    modelTopology: topology as Record<string, unknown>,
    weightsManifest: [{ paths: ['weights.bin'], weights: weights.map((w) => ({ ...w, dtype: w.dtype ?? 'float32' })) }],
  };
  return { modelJson, weights: weightBytes(weights, seed) };
}

export function writeModel(dir: string, files: ModelFiles, shardName = 'weights.bin'): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, shardName), files.weights);
  const file = path.join(dir, 'model.json');
  fs.writeFileSync(file, JSON.stringify(files.modelJson));
  return file;
}

export const inputShapeOf = (kind: ModelKind): number[] => (kind === 'cnn' ? [8, 8, 3] : [4]);

/** A small PNG of `width`×`height` with seeded noise. */
export function pngBytes(width = 8, height = 8, seed = 3): Buffer {
  const random = rng(seed);
  const png = new PNG({ width, height });
  for (let i = 0; i < png.data.length; i++) png.data[i] = i % 4 === 3 ? 255 : Math.floor(random() * 256);
  return PNG.sync.write(png);
}

export function jpegBytes(width = 8, height = 8, seed = 4): Buffer {
  const random = rng(seed);
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? 255 : Math.floor(random() * 256);
  return Buffer.from(jpeg.encode({ width, height, data }, 90).data);
}

/** A PNG whose IHDR declares `width`×`height` (CRC fixed up), followed by `tail` (e.g. nothing: header-only). */
export function pngHeader(width: number, height: number, tail: Buffer = Buffer.alloc(0)): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const chunk = Buffer.concat([Buffer.from('IHDR'), ihdr]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(13);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(chunk));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), length, chunk, crc, tail]);
}

/** A PNG that declares a huge size and holds one small compressed IDAT (a decompression bomb's head). */
export function pngBomb(width: number, height: number): Buffer {
  const valid = pngBytes(4, 4);
  // Keep everything after the valid IHDR (IDAT, IEND) behind the lying header.
  return pngHeader(width, height, valid.subarray(33));
}

/** A baseline JPEG whose SOF0 declares `width`×`height`. */
export function jpegWithSize(width: number, height: number): Buffer {
  const bytes = Buffer.from(jpegBytes());
  for (let at = 2; at + 9 < bytes.length;) {
    const marker = bytes[at + 1]!;
    if (marker === 0xc0) {
      bytes.writeUInt16BE(height, at + 5);
      bytes.writeUInt16BE(width, at + 7);
      return bytes;
    }
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  throw new Error('no SOF0 in the generated JPEG');
}

let crcTable: Uint32Array | null = null;
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = crcTable[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Pattern store bytes in PathLens' layout ("PLPATT01", header length, header JSON, padding, float32 data). */
export function patternStore(header: Record<string, unknown>, floats: number[]): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = Math.ceil((12 + json.length) / 4) * 4;
  const out = Buffer.alloc(dataStart + floats.length * 4);
  out.write('PLPATT01', 0, 'latin1');
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  floats.forEach((v, i) => out.writeFloatLE(v, dataStart + i * 4));
  return out;
}
