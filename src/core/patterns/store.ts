/**
 * Pattern files beside the model: `<model dir>/.pathlens/patterns-<hash>.bin` (a JSON header and the
 * float32 patterns) plus a readable copy of the header in `patterns-<hash>.json`. The hash covers the
 * model's topology and weights, so a model whose weights changed never picks up stale patterns; an
 * explicit `--patterns` file fitted for other weights is refused.
 *
 * File layout: "PLPATT01" (8 bytes), header length (uint32 LE), header JSON (UTF-8), zero padding to a
 * multiple of 4, then every layer's pattern as float32 LE at the header's offsets (in floats).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PathLensError } from '../errors';
import {
  dimension,
  MAX_WEIGHT_BYTES,
  parseJsonText,
  prepareOutputFolder,
  readRegularFile,
  resolveInsideFolder,
  shapeSchema,
  validate,
  writeFileAtomic,
  z,
} from '../safety';
import { readModelArtifacts, type ReadArtifacts } from '../model/artifacts';
import type { CancellationSignal, Preprocessing, ProgressCallback } from '../types';
import { dataBatches } from './data';
import type { EstimatorName } from './estimators';
import { fitPatterns, groupShape } from './fit';
import { buildPatternNetwork, type PatternNetwork } from './network';
import { bindPatterns, type PatternHeader, type Patterns } from './patterns';
import { describePreprocessing } from '../input';

const MAGIC = 'PLPATT01';
export const PATTERN_DIR = '.pathlens';

/** SHA-256 (hex) of the model's topology, weight manifest and weight bytes. */
export function modelHash(read: ReadArtifacts): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(read.artifacts.modelTopology ?? null));
  hash.update(JSON.stringify(read.artifacts.weightSpecs ?? []));
  const data = read.artifacts.weightData;
  if (data) for (const buffer of Array.isArray(data) ? data : [data]) hash.update(new Uint8Array(buffer));
  return hash.digest('hex');
}

export function defaultPatternFile(modelJsonPath: string, hash: string): string {
  return path.join(path.dirname(path.resolve(modelJsonPath)), PATTERN_DIR, `patterns-${hash.slice(0, 16)}.bin`);
}

export interface PatternFile {
  header: PatternHeader;
  layers: { name: string; kernelShape: number[]; pattern: Float32Array }[];
}

export function writePatternFile(file: string, header: PatternHeader, patterns: Float32Array[]): void {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const headerEnd = 12 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const floats = patterns.reduce((s, p) => s + p.length, 0);
  const out = Buffer.alloc(dataStart + floats * 4);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  let at = dataStart;
  for (const p of patterns) {
    for (let i = 0; i < p.length; i++, at += 4) out.writeFloatLE(p[i]!, at);
  }
  const folder = prepareOutputFolder(path.dirname(file), 'pattern folder');
  // Written then renamed, so a reader never sees half a file.
  writeFileAtomic(folder, path.basename(file), out, 'pattern file');
  writeFileAtomic(folder, path.basename(file).replace(/\.bin$/, '') + '.json', JSON.stringify(header, null, 2) + '\n', 'pattern file');
}

const patternHeaderSchema = z.looseObject({
  format: z.literal('pathlens-patterns'),
  version: z.literal(1),
  modelHash: z.string(),
  layers: z.array(
    z.looseObject({
      name: z.string(),
      shape: shapeSchema,
      offset: dimension,
      length: dimension,
    }),
  ),
});

export function readPatternFile(file: string): PatternFile {
  if (!fs.existsSync(file)) throw new PathLensError('usage', `pattern file not found: ${file}`);
  const bytes = readRegularFile(file, 'pattern file', MAX_WEIGHT_BYTES, 'usage');
  if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== MAGIC)
    throw new PathLensError('usage', `${file} is not a PathLens pattern file`);
  const length = bytes.readUInt32LE(8);
  if (12 + length > bytes.length)
    throw new PathLensError('usage', `${file}: the header length ${length} runs past the end of the file; re-fit the patterns`);
  let parsed: unknown;
  try {
    parsed = parseJsonText(bytes.toString('utf8', 12, 12 + length), file, 'usage');
  } catch (err) {
    if (err instanceof PathLensError && err.code === 'limit') throw err;
    throw new PathLensError('usage', `${file}: the pattern file's header is damaged; re-fit the patterns`);
  }
  const header = validate(patternHeaderSchema, parsed, file, 'usage', 'pattern header') as unknown as PatternHeader;
  const dataStart = Math.ceil((12 + length) / 4) * 4;
  const layers = header.layers.map((l, index) => {
    const where = `${file}: field "layers[${index}]" (layer '${l.name}')`;
    if (l.length !== l.shape.reduce((a, b) => a * b, 1)) {
      throw new PathLensError(
        'usage',
        `${where}: length ${l.length} does not match its shape [${l.shape.join(', ')}]; re-fit the patterns`,
      );
    }
    const start = dataStart + l.offset * 4;
    if (start + l.length * 4 > bytes.length)
      throw new PathLensError('usage', `${file} is truncated (layer '${l.name}'); re-fit the patterns`);
    const pattern = new Float32Array(l.length);
    for (let i = 0; i < l.length; i++) pattern[i] = bytes.readFloatLE(start + i * 4);
    const bad = pattern.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new PathLensError('usage', `${where}: value ${bad} is ${pattern[bad]}; the patterns are damaged — re-fit them`);
    return { name: l.name, kernelShape: l.shape, pattern };
  });
  return { header, layers };
}

function fitHint(modelJsonPath: string): string {
  return `fit them with: pathlens patterns fit --model ${modelJsonPath} --data <folder of images | data.csv | data.json>`;
}

/**
 * The patterns for a model: `explicit` (checked against the model's weights) or the ones saved beside
 * the model for its current weights. Clear errors say how to fit them when there are none.
 */
export async function loadPatterns(modelJsonPath: string, explicit?: string): Promise<Patterns> {
  const read = readModelArtifacts(modelJsonPath);
  if (read.format !== 'layers-model') {
    throw new PathLensError(
      'model-unsupported',
      `pattern methods (pattern-net, pattern-attribution, pgig) need a TF.js layers model; ${modelJsonPath} is a graph model`,
    );
  }
  const hash = modelHash(read);
  let file: string;
  if (explicit) {
    file = path.resolve(explicit);
  } else {
    file = defaultPatternFile(modelJsonPath, hash);
    const dir = path.dirname(file);
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
      throw new PathLensError(
        'usage',
        `${dir} (where PathLens keeps fitted patterns) is a file, not a folder; remove it and re-fit the patterns`,
      );
    }
    if (!fs.existsSync(file)) {
      const stale = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^patterns-[0-9a-f]+\.bin$/.test(f)) : [];
      const why =
        stale.length > 0
          ? `the patterns in ${dir} were fitted for other weights of this model (the weights changed)`
          : `no patterns were fitted for ${modelJsonPath}`;
      throw new PathLensError(
        'usage',
        `pattern methods need fitted patterns, but ${why}; ${fitHint(modelJsonPath)} (or pass --patterns <file>)`,
      );
    }
  }
  if (!explicit) {
    // Fitted patterns beside the model are part of the untrusted folder: confined like its weights.
    const modelDir = path.dirname(path.resolve(modelJsonPath));
    file = resolveInsideFolder(modelDir, path.relative(modelDir, file), 'fitted patterns', { code: 'usage' });
  }
  const { header, layers } = readPatternFile(file);
  if (header.modelHash !== hash) {
    throw new PathLensError(
      'usage',
      `${file} was fitted for different weights (model hash ${header.modelHash.slice(0, 16)}, this model ${hash.slice(0, 16)}); stale patterns are never used — ${fitHint(modelJsonPath)}`,
    );
  }
  const network = await buildPatternNetwork(read, modelJsonPath);
  try {
    return bindPatterns(network, header, layers, file);
  } catch (err) {
    network.dispose();
    throw err;
  }
}

export interface FitRequest {
  modelPath: string;
  data: string[];
  estimator?: EstimatorName;
  maxSamples?: number;
  preprocessing: Preprocessing | null;
  crop?: 'none' | 'center';
  /** Where to write (default: beside the model). */
  out?: string;
  memoryBudgetMB?: number;
}

export interface FitResult {
  file: string;
  header: PatternHeader;
  ms: number;
}

/**
 * Samples per fitting batch, from one probe forward pass: every op's activations plus each kernel
 * layer's rows (fan-in × output positions) and their products, with a safety factor, against the budget.
 */
function batchSizeFor(network: PatternNetwork, budgetMB: number): number {
  const floats = tf.tidy(() => {
    const cache = network.forward(tf.zeros([1, ...network.inputShape]));
    let total = cache.inputs.reduce((s, t) => s + t.size, 0) + cache.output.size;
    for (const op of network.kernelOps) {
      const pre = cache.pre[network.ops.indexOf(op)]!;
      const positions = pre.size / Math.max(1, pre.shape[pre.shape.length - 1]!);
      total += positions * groupShape(op).n * groupShape(op).groups * 3 + pre.size * 6;
    }
    return total;
  });
  const perSample = floats * 4 * 3;
  return Math.max(1, Math.min(256, Math.floor((budgetMB * 1024 * 1024) / perSample)));
}

/** Fits patterns for a layers model over a data set in one streaming pass and saves them. */
export async function fitModelPatterns(
  request: FitRequest,
  hooks: { signal?: CancellationSignal; onProgress?: ProgressCallback } = {},
): Promise<FitResult> {
  const started = performance.now();
  const read = readModelArtifacts(request.modelPath);
  const hash = modelHash(read);
  const network = await buildPatternNetwork(read, request.modelPath);
  try {
    const batchSize = batchSizeFor(network, request.memoryBudgetMB ?? 256);
    const batches = dataBatches(request.data, {
      inputShape: network.inputShape,
      preprocessing: request.preprocessing,
      maxSamples: request.maxSamples,
      batchSize,
      crop: request.crop,
    });
    const fitted = await fitPatterns(network, batches, {
      estimator: request.estimator,
      signal: hooks.signal,
      onProgress: hooks.onProgress,
    });
    let offset = 0;
    const header: PatternHeader = {
      format: 'pathlens-patterns',
      version: 1,
      modelHash: hash,
      model: path.resolve(request.modelPath),
      estimator: fitted.estimator,
      samples: fitted.samples,
      dataSource: request.data.map((d) => path.resolve(d)),
      preprocessing: request.preprocessing ? describePreprocessing(request.preprocessing) : null,
      date: new Date().toISOString(),
      layers: fitted.layers.map((l) => {
        const entry = {
          name: l.name,
          className: l.className,
          shape: l.kernelShape,
          estimator: l.estimator,
          foldedBatchNorm: l.foldedBatchNorm,
          offset,
          length: l.pattern.length,
        };
        offset += l.pattern.length;
        return entry;
      }),
    };
    const file = request.out ? path.resolve(request.out) : defaultPatternFile(request.modelPath, hash);
    writePatternFile(
      file,
      header,
      fitted.layers.map((l) => l.pattern),
    );
    return { file, header, ms: Math.round(performance.now() - started) };
  } finally {
    network.dispose();
  }
}
