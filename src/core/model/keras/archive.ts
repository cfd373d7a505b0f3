/**
 * The `.keras` zip (Keras 3): config.json, metadata.json, model.weights.h5. Read with fflate (a small,
 * maintained zip/deflate library). Declared member sizes are checked against budgets before any
 * member is inflated, and only the three members PathLens needs are extracted.
 */
import { unzipSync } from 'fflate';
import { PathLensError } from '../../errors';
import { checkDeclaredBytes, MAX_TEXT_FILE_BYTES, MAX_WEIGHT_BYTES } from '../../safety';

export interface KerasArchive {
  config: Uint8Array;
  metadata: Uint8Array | null;
  weights: Uint8Array;
}

const MEMBER_BUDGETS: Record<string, number> = {
  'config.json': MAX_TEXT_FILE_BYTES,
  'metadata.json': MAX_TEXT_FILE_BYTES,
  'model.weights.h5': MAX_WEIGHT_BYTES,
};

const ZIP_SIGNATURE = [0x50, 0x4b, 0x03, 0x04];

export function isZip(bytes: Uint8Array): boolean {
  return ZIP_SIGNATURE.every((b, i) => bytes[i] === b);
}

export function readKerasArchive(bytes: Uint8Array, file: string): KerasArchive {
  if (!isZip(bytes)) throw new PathLensError('model-load', `${file} is not a .keras archive (not a zip file)`);
  const names: string[] = [];
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes, {
      filter: (member) => {
        names.push(member.name);
        const budget = MEMBER_BUDGETS[member.name];
        if (budget === undefined) return false;
        checkDeclaredBytes(member.originalSize, budget, `${file}: zip member ${member.name}`);
        return true;
      },
    });
  } catch (err) {
    if (err instanceof PathLensError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new PathLensError('model-load', `${file}: cannot read the zip archive (${reason}); the file is truncated or corrupt`);
  }
  const config = members['config.json'];
  const weights = members['model.weights.h5'];
  if (!config) throw new PathLensError('model-load', `${file} has no config.json: not a Keras 3 .keras model`);
  if (!weights) {
    const other = names.find((n) => n.startsWith('model.weights'));
    throw new PathLensError(
      other ? 'model-unsupported' : 'model-load',
      other
        ? `${file} stores its weights as ${other}; PathLens reads model.weights.h5 (save with weights_format="h5", unsharded)`
        : `${file} has no model.weights.h5: the archive holds ${names.join(', ')}; re-save the model with model.save("model.keras")`,
    );
  }
  return { config, metadata: members['metadata.json'] ?? null, weights };
}
