/**
 * Re-create display images / feature names for a finished ExplainResult from the input files on
 * disk, for callers (CLI, worker) that only kept the result. Best effort: anything that cannot be
 * re-read is skipped and drawn without an image underneath.
 */
import { existsSync } from 'node:fs';
import { loadInputsSync } from '../input/load';
import { defaultCropFor } from '../model/sidecars';
import type { ExplainResult, PreparedInput } from '../types';

/**
 * Prepared inputs (display + featureNames) for the result's inputs that are missing from `have`,
 * re-read with the result's preprocessing and the given crop (default: `defaultCropFor(model.path)`).
 */
export function recoverInputs(
  result: ExplainResult,
  have: readonly PreparedInput[] = [],
  crop: 'none' | 'center' = defaultCropFor(result.model.path),
): PreparedInput[] {
  const known = new Set(have.map((i) => i.path));
  // The maps have the shape inputs were explained in (H×W×C also for channels-first ONNX models).
  const shape = result.inputs.flatMap((i) => i.results)[0]?.attribution.shape ?? result.model.inputs[0]?.shape.slice(1);
  if (!shape || shape.length === 0 || shape.some((d) => d === null || !(d > 0))) return [];
  const inputShape = shape as number[];
  const out: PreparedInput[] = [];
  const csvCache = new Map<string, Map<string, PreparedInput>>();
  for (const inp of result.inputs) {
    if (known.has(inp.path)) continue;
    try {
      const row = /^(.*\.csv)#row(\d+)$/i.exec(inp.path);
      if (row) {
        let rows = csvCache.get(row[1]);
        if (!rows) {
          const needed = Math.max(
            ...result.inputs.map((i) => (i.path.startsWith(row[1] + '#row') ? Number(i.path.slice(row[1].length + 4)) : 0)),
          );
          rows = new Map(loadInputsSync([row[1]], { inputShape }, null, { maxRows: needed }).map((p) => [p.path, p]));
          csvCache.set(row[1], rows);
        }
        const found = rows.get(inp.path);
        if (found) out.push(found);
        continue;
      }
      if (inputShape.length === 3 && result.preprocessing && existsSync(inp.path) && /\.(png|jpe?g)$/i.test(inp.path)) {
        out.push(...loadInputsSync([inp.path], { inputShape }, result.preprocessing, { crop }));
      }
    } catch {
      /* best effort */
    }
  }
  return out;
}
