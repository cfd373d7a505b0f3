import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { PathLensError } from '../errors';
import {
  checkDeclaredBytes,
  finiteNumber,
  MAX_TEXT_FILE_BYTES,
  MAX_WEIGHT_BYTES,
  parseJsonText,
  readRegularFile,
  resolveInsideFolder,
  shapeSchema,
  validate,
  z,
} from '../safety';
import { isKerasModelPath, readKerasArtifacts, type KerasSource } from './keras/read';

/** Bytes per stored element, including quantized storage types. */
const DTYPE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
  string: 0,
};

export interface ModelJson {
  modelTopology: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
  trainingConfig?: unknown;
}

export interface ReadArtifacts {
  json: ModelJson;
  artifacts: tf.io.ModelArtifacts;
  format: 'layers-model' | 'graph-model';
  weightBytes: number;
  /** Set when the artifacts were read from a Keras file (.keras / .h5) rather than a model.json. */
  keras?: KerasSource;
}

/** Bytes a manifest entry occupies in its shard (quantized entries are stored in their storage dtype). */
export function weightEntryBytes(entry: tf.io.WeightsManifestEntry, file?: string): number {
  const count = entry.shape.reduce((a, b) => a * b, 1);
  const storedDtype = entry.quantization?.dtype ?? entry.dtype;
  const bytes = DTYPE_BYTES[storedDtype];
  if (bytes === undefined || bytes === 0) {
    throw new PathLensError(
      'model-unsupported',
      `${file ? `${file}: ` : ''}weight '${entry.name}' has dtype ${JSON.stringify(storedDtype)}, which PathLens cannot load`,
    );
  }
  return count * bytes;
}

/** model.json of a TF.js layers or graph model: the fields PathLens reads, everything else kept. */
const weightEntrySchema = z.looseObject({
  name: z.string().min(1, 'must be a non-empty name'),
  shape: shapeSchema,
  dtype: z.string(),
  quantization: z.looseObject({ dtype: z.string(), scale: finiteNumber.optional(), min: finiteNumber.optional() }).optional(),
});
const weightGroupSchema = z.looseObject({
  paths: z.array(z.string().min(1, 'must be a non-empty file name')),
  weights: z.array(weightEntrySchema),
});
export const modelJsonSchema = z.looseObject({
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z.array(weightGroupSchema),
  format: z.string().optional(),
  generatedBy: z.string().optional(),
  convertedBy: z.string().nullable().optional(),
});

export function parseModelJson(text: string, file: string): ModelJson {
  const parsed = parseJsonText(text, file, 'model-json');
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PathLensError(
      'model-json',
      `${file} is JSON but not a TF.js model (expected an object with modelTopology and weightsManifest)`,
    );
  }
  const json = parsed as Partial<ModelJson>;
  if (json.modelTopology === undefined || json.modelTopology === null || typeof json.modelTopology !== 'object') {
    throw new PathLensError('model-json', `${file} has no "modelTopology": not a TF.js model.json`);
  }
  if (!Array.isArray(json.weightsManifest)) {
    throw new PathLensError('model-json', `${file} has no "weightsManifest" array: not a TF.js model.json with weights`);
  }
  return validate(modelJsonSchema, parsed, file, 'model-json') as ModelJson;
}

export function detectFormat(json: ModelJson): 'layers-model' | 'graph-model' {
  if (json.format === 'graph-model' || json.format === 'layers-model') return json.format;
  // Old exports (tfjs 1.x model.save) carry no format key: graph topologies are GraphDefs with `node`.
  return Array.isArray((json.modelTopology as { node?: unknown }).node) ? 'graph-model' : 'layers-model';
}

/**
 * Reads model.json and its weight shards from disk, checking every group's bytes against the manifest
 * before TF.js sees them, so a short or missing shard is named instead of surfacing as a shape error.
 */
export function readModelArtifacts(modelJsonPath: string): ReadArtifacts {
  if (isKerasModelPath(modelJsonPath)) return readKerasArtifacts(modelJsonPath);
  const file = path.resolve(modelJsonPath);
  if (!fs.existsSync(file)) throw new PathLensError('model-json', `model file not found: ${file}`);
  const text = new TextDecoder('utf-8').decode(readRegularFile(file, 'model', MAX_TEXT_FILE_BYTES, 'model-json'));
  const json = parseModelJson(text, file);
  const dir = path.dirname(file);
  const declared = json.weightsManifest.reduce(
    (sum, group) => sum + group.weights.reduce((s, entry) => s + weightEntryBytes(entry, file), 0),
    0,
  );
  checkDeclaredBytes(declared, MAX_WEIGHT_BYTES, `the weightsManifest of ${file}`);
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  let weightBytes = 0;

  json.weightsManifest.forEach((group, groupIndex) => {
    const needed = group.weights.reduce((sum, entry) => sum + weightEntryBytes(entry, file), 0);
    const shards = group.paths.map((shardPath, i) => {
      const what = `weight shard weightsManifest[${groupIndex}].paths[${i}] of ${file}`;
      const shardFile = resolveShard(dir, shardPath, what, groupIndex, file);
      return { shardPath, shardFile, what, size: fs.statSync(shardFile).size };
    });
    // Sizes first (from the file system), so a shard of the wrong size is never read into memory.
    const have = shards.reduce((sum, s) => sum + s.size, 0);
    if (have !== needed) {
      throw new PathLensError('model-shard', describeShardMismatch(file, groupIndex, shards, have, needed, group.weights.length));
    }
    weightSpecs.push(...group.weights);
    buffers.push(...shards.map((s) => readRegularFile(s.shardFile, s.what, s.size, 'model-shard')));
    weightBytes += have;
  });

  const weightData = concatenate(buffers, weightBytes);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs,
    weightData,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    signature: json.signature as tf.io.ModelArtifacts['signature'],
    userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
    modelInitializer: json.modelInitializer as tf.io.ModelArtifacts['modelInitializer'],
    trainingConfig: json.trainingConfig as tf.io.ModelArtifacts['trainingConfig'],
  };
  return { json, artifacts, format: detectFormat(json), weightBytes };
}

/** A shard confined to the model's folder; a missing one keeps the established message. */
function resolveShard(dir: string, shardPath: string, what: string, groupIndex: number, file: string): string {
  try {
    return resolveInsideFolder(dir, shardPath, what, { code: 'model-shard' });
  } catch (err) {
    const lexical = path.resolve(dir, shardPath);
    if (err instanceof PathLensError && err.code === 'model-shard' && !fs.existsSync(lexical) && !isSymlink(lexical)) {
      throw new PathLensError(
        'model-shard',
        `missing weight shard ${shardPath} (expected at ${lexical}, listed in weightsManifest group ${groupIndex + 1} of ${file})`,
      );
    }
    throw err;
  }
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

function describeShardMismatch(
  file: string,
  groupIndex: number,
  shards: { shardPath: string; size: number }[],
  have: number,
  needed: number,
  weightCount: number,
): string {
  const diff = needed - have;
  const listing = shards.map((s) => `${s.shardPath} (${s.size} B)`).join(', ');
  // The converter writes equal-sized shards with only the last one smaller: a non-last shard that is
  // smaller than the first is the damaged one.
  const first = shards[0]?.size ?? 0;
  const suspect = shards.find((s, i) => i < shards.length - 1 && s.size < first) ?? shards[shards.length - 1];
  const which = shards.length === 1 || diff < 0 ? '' : `; ${suspect?.shardPath} looks truncated`;
  return diff > 0
    ? `weight shard ${shards.length === 1 ? shards[0]?.shardPath : 'group ' + (groupIndex + 1)} is short by ${diff} bytes: ${listing} hold ${have} B but the ${weightCount} weights listed in ${path.basename(file)} need ${needed} B${which}`
    : `weight shard ${shards.length === 1 ? shards[0]?.shardPath : 'group ' + (groupIndex + 1)} has ${-diff} extra bytes: ${listing} hold ${have} B but the ${weightCount} weights listed in ${path.basename(file)} need ${needed} B (shard from another model?)`;
}

function concatenate(buffers: Uint8Array[], total: number): ArrayBuffer {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    out.set(b, offset);
    offset += b.length;
  }
  return out.buffer;
}
