/**
 * Keras model files read as TF.js layers-model artifacts, so every loader, method, sanity check and
 * pattern fit works on them unchanged: `.keras` (Keras 3 zip) and legacy `.h5` (Keras 2, or Keras 3's
 * `model.save("x.h5")`). Nothing runs Python.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { PathLensError } from '../../errors';
import { MAX_WEIGHT_BYTES, MAX_TEXT_FILE_BYTES, parseJsonBytes, parseJsonText, readRegularFile } from '../../safety';
import type { ModelJson, ReadArtifacts } from '../artifacts';
import { readKerasArchive } from './archive';
import { normaliseModelConfig, type NormaliseContext } from './config';
import { h5Get, hasAttr, isGroup, openHdf5, stringAttr } from './hdf5';
import { readKeras3Weights, readLegacyWeights, type KerasWeights } from './weights';

/** True for a path PathLens reads as a Keras model file (by extension). */
export { isKerasModelFileName as isKerasModelPath } from '../../../shared/fileNames';

/** Keras version and notes of the last file read, for the model summary. */
export interface KerasSource {
  format: 'keras-v3' | 'keras-h5';
  kerasVersion: string | null;
  notes: string[];
}

/** One line for the model summary: which Keras file and what was adapted. */
export function describeKerasSource(source: KerasSource): string {
  const kind = source.format === 'keras-v3' ? '.keras (Keras 3 archive)' : '.h5 (legacy Keras HDF5)';
  const version = source.kerasVersion ? `Keras ${source.kerasVersion} ` : 'Keras ';
  return `${version}${kind}, read directly${source.notes.length ? `; ${source.notes.join('; ')}` : ''}`;
}

function majorOf(version: string | null, fallback: number): number {
  const major = version ? Number.parseInt(version, 10) : NaN;
  return Number.isFinite(major) ? major : fallback;
}

function artifactsOf(topology: Record<string, unknown>, weights: KerasWeights, source: KerasSource): ReadArtifacts {
  const json: ModelJson = {
    modelTopology: topology,
    weightsManifest: [{ paths: [], weights: weights.specs }],
    format: 'layers-model',
    generatedBy: source.kerasVersion ? `keras v${source.kerasVersion}` : 'keras',
    convertedBy: 'PathLens Keras reader',
  };
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: topology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: weights.specs,
    weightData: weights.data,
    format: 'layers-model',
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
  };
  return { json, artifacts, format: 'layers-model', weightBytes: weights.bytes, keras: source };
}

function readKerasV3(bytes: Uint8Array, file: string): ReadArtifacts {
  const archive = readKerasArchive(bytes, file);
  const metadata = archive.metadata ? parseJsonBytes(archive.metadata, `${file} (metadata.json)`, 'model-load') : null;
  const version =
    typeof (metadata as { keras_version?: unknown } | null)?.keras_version === 'string'
      ? (metadata as { keras_version: string }).keras_version
      : null;
  const config = parseJsonBytes(archive.config, `${file} (config.json)`, 'model-load') as Record<string, unknown>;
  const ctx: NormaliseContext = { file, kerasMajor: majorOf(version, 3), notes: new Set() };
  const normalised = normaliseModelConfig(config, ctx);
  const h5 = openHdf5(archive.weights, `${file} (model.weights.h5)`);
  const weights = readKeras3Weights(h5, config, normalised, `${file} (model.weights.h5)`);
  const topology = { class_name: normalised.class_name, config: normalised.config, keras_version: version, backend: 'tensorflow' };
  return artifactsOf(topology, weights, { format: 'keras-v3', kerasVersion: version, notes: [...ctx.notes] });
}

function readLegacyH5(bytes: Uint8Array, file: string): ReadArtifacts {
  const h5 = openHdf5(bytes, file);
  const configText = stringAttr(h5, 'model_config', file);
  if (configText === null) {
    const weightsOnly = stringAttr(h5, 'keras_version', file) !== null || hasAttr(h5, 'layer_names', file);
    throw new PathLensError(
      'model-load',
      weightsOnly
        ? `${file} holds only weights (model.save_weights): it has no model_config, so the architecture is unknown; save the whole model with model.save()`
        : `${file} is an HDF5 file but not a Keras model (no model_config attribute)`,
    );
  }
  const version = stringAttr(h5, 'keras_version', file);
  const ctx: NormaliseContext = { file, kerasMajor: majorOf(version, 2), notes: new Set() };
  const normalised = normaliseModelConfig(parseJsonText(configText, `${file} (model_config)`, 'model-load'), ctx);
  const modelWeights = h5Get(h5, 'model_weights', file);
  if (!isGroup(modelWeights))
    throw new PathLensError('model-load', `${file} has a model_config but no model_weights group (saved without weights?)`);
  const weights = readLegacyWeights(modelWeights, normalised, file);
  const topology = { class_name: normalised.class_name, config: normalised.config, keras_version: version, backend: 'tensorflow' };
  return artifactsOf(topology, weights, { format: 'keras-h5', kerasVersion: version, notes: [...ctx.notes] });
}

/** Reads a `.keras` or `.h5` Keras model as TF.js layers-model artifacts. */
export function readKerasArtifacts(modelPath: string): ReadArtifacts {
  const file = path.resolve(modelPath);
  if (!fs.existsSync(file)) throw new PathLensError('model-json', `model file not found: ${file}`);
  const limit = path.extname(file).toLowerCase() === '.keras' ? MAX_WEIGHT_BYTES + MAX_TEXT_FILE_BYTES : MAX_WEIGHT_BYTES;
  const bytes = readRegularFile(file, 'model', limit, 'model-load');
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b) return readKerasV3(bytes, file);
  if (path.extname(file).toLowerCase() === '.keras') return readKerasV3(bytes, file);
  return readLegacyH5(bytes, file);
}
