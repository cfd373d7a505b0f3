/**
 * Files beside a model.json (metadata.json, labels.txt, pathlens.json): read through the safety
 * policy — confined to the model's folder, regular files only, size-limited — and validated with a
 * schema. An absent sidecar is null; a present but unusable one is a one-line error naming it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ErrorCode } from '../errors';
import { MAX_TEXT_FILE_BYTES, parseJsonBytes, readInsideFolder, validate, z } from '../safety';

/** The folder a model path stands for: the folder itself, or the folder of a model.json. */
export function modelFolderOf(modelPathOrDir: string): string {
  const resolved = path.resolve(modelPathOrDir);
  try {
    if (fs.statSync(resolved).isDirectory()) return resolved;
  } catch {
    /* a missing model is reported by its loader */
  }
  return path.dirname(resolved);
}

/** True when `name` exists beside the model (a dangling link counts: reading it then says so). */
export function sidecarExists(modelPathOrDir: string, name: string): boolean {
  try {
    fs.lstatSync(path.join(modelFolderOf(modelPathOrDir), name));
    return true;
  } catch {
    return false;
  }
}

/** Bytes and path of a sidecar, or null when absent. Throws for escapes, non-regular or huge files. */
export function readSidecarBytes(
  modelPathOrDir: string,
  name: string,
  code: ErrorCode = 'model-json',
): { file: string; bytes: Buffer } | null {
  if (!sidecarExists(modelPathOrDir, name)) return null;
  const folder = modelFolderOf(modelPathOrDir);
  return readInsideFolder(folder, name, `${name} beside the model`, MAX_TEXT_FILE_BYTES, { code });
}

/** A JSON sidecar parsed and validated against `schema`, or null when absent. */
export function readSidecarJson<T extends z.ZodType>(modelPathOrDir: string, name: string, schema: T, code: ErrorCode): z.output<T> | null {
  const read = readSidecarBytes(modelPathOrDir, name, code);
  if (!read) return null;
  return validate(schema, parseJsonBytes(read.bytes, read.file, code), read.file, code);
}

/** Teachable Machine's metadata.json (only the fields PathLens reads; the rest is kept as is). */
export const metadataSchema = z.looseObject({
  tmVersion: z.string().optional(),
  labels: z.array(z.string()).optional(),
});
export type ModelMetadata = z.output<typeof metadataSchema>;

/** metadata.json beside the model, validated; null when absent. */
export function readModelMetadata(modelPathOrDir: string): ModelMetadata | null {
  return readSidecarJson(modelPathOrDir, 'metadata.json', metadataSchema, 'model-json');
}

/**
 * True for a Teachable Machine export (metadata.json with tmVersion). A broken metadata.json is not
 * one; the model loader reports it.
 */
export function isTeachableMachineExport(modelPathOrDir: string): boolean {
  try {
    return typeof readModelMetadata(modelPathOrDir)?.tmVersion === 'string';
  } catch {
    return false;
  }
}

/** How images are cropped for this model: 'center' for Teachable Machine exports (as they were trained), else 'none'. */
export function defaultCropFor(modelPath: string): 'none' | 'center' {
  return isTeachableMachineExport(modelPath) ? 'center' : 'none';
}
