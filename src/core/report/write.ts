/**
 * Writing a report directory: result.json, one overlay per (input, method), index.html.
 */
import { join } from 'node:path';
import { inputStem, sanitizeFileName } from '../../shared/fileNames';
import type { ExplainResult, PreparedInput } from '../types';
import { prepareOutputFolder, writeFileAtomic } from '../safety';
import { buildReportImages, renderHtmlReport } from './html';
import { toJsonString } from './json';
import type { OverlayOptions } from './overlay';
import { recoverInputs } from './recover';

export interface WriteReportOptions {
  /** The prepared inputs (matched by path) for display images and feature names. */
  inputs?: readonly PreparedInput[];
  /** Overlay rendering options (defaults: absolute, inferno, 99.5th percentile, opacity 0.6, sum). */
  overlay?: Partial<OverlayOptions>;
  /**
   * Re-read inputs missing from `inputs` from disk (images → display under the overlay, CSV → feature
   * names). Default true.
   */
  reloadInputs?: boolean;
  /** Crop used when re-reading images; default 'center' for Teachable Machine models (as the worker loads them), else 'none'. */
  crop?: 'none' | 'center';
}

/**
 * Create `dir` (recursively) and write:
 * - `result.json` (`toJsonString`, pretty),
 * - per (input, method) `<input-stem>-<method>.png` (image attributions) or `.svg` (bar chart for
 *   tabular/vector attributions), names sanitised and made unique with `-2`, `-3`, …,
 * - `index.html` (self-contained, see html.ts).
 * Returns the paths written (result.json first, index.html last).
 */
export async function writeReport(dir: string, result: ExplainResult, options: WriteReportOptions = {}): Promise<string[]> {
  const folder = prepareOutputFolder(dir);
  const written: string[] = [];
  const put = (name: string, data: string | Uint8Array) => {
    writeFileAtomic(folder, name, data);
    written.push(join(dir, name));
  };
  put('result.json', toJsonString(result, true) + '\n');

  const given = options.inputs ?? [];
  const prepared = options.reloadInputs === false ? given : [...given, ...recoverInputs(result, given, options.crop)];
  const images = buildReportImages(result, prepared, options.overlay ?? {});
  const used = new Set<string>(['result.json', 'index.html']);
  for (let k = 0; k < result.inputs.length; k++) {
    const inp = result.inputs[k];
    for (let j = 0; j < inp.results.length; j++) {
      const img = images.overlays?.[k]?.[j];
      if (img === null || img === undefined) continue;
      const ext = typeof img === 'string' ? '.svg' : '.png';
      const stem = `${inputStem(inp.path)}-${sanitizeFileName(inp.results[j].method)}`;
      let name = stem + ext;
      for (let n = 2; used.has(name.toLowerCase()); n++) name = `${stem}-${n}${ext}`;
      used.add(name.toLowerCase());
      const data =
        typeof img === 'string' && !img.includes('xmlns=') ? img.replace(/^<svg/, '<svg xmlns="http://www.w3.org/2000/svg"') : img;
      put(name, data);
    }
  }
  put('index.html', renderHtmlReport(result, images));
  return written;
}
