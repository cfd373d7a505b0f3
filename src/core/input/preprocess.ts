/**
 * Image preprocessing presets and their resolution (explicit → sidecar → detected → default).
 *
 * Every preset is `x = (pixel − mean[c]) / std[c]` with pixel in 0..255 (see `Preprocessing` in types.ts).
 */
import { PathLensError } from '../errors';
import { isTeachableMachineExport, modelFolderOf, readSidecarJson } from '../model/sidecars';
import { finiteNumber, z } from '../safety';
import type { PreprocessName, Preprocessing } from '../types';

/** How a 1-channel model's input is made from an RGB image. */
export type GrayFrom = 'luminance' | 'red';

/**
 * `Preprocessing` plus the gray-conversion choice (not part of the shared types.ts contract, so it is
 * an optional extension here). Plain `Preprocessing` values are accepted everywhere; `grayFrom`
 * defaults to `'luminance'` (0.299 R + 0.587 G + 0.114 B).
 */
export interface InputPreprocessing extends Preprocessing {
  grayFrom?: GrayFrom;
}

/** File name of the per-model sidecar read by `resolvePreprocessing`. */
export const SIDECAR_FILE = 'pathlens.json';

const PRESETS: Record<Exclude<PreprocessName, 'mean-std'>, { mean: number[]; std: number[] }> = {
  unit: { mean: [0], std: [255] },
  signed: { mean: [127.5], std: [127.5] },
  raw255: { mean: [0], std: [1] },
  imagenet: {
    mean: [0.485 * 255, 0.456 * 255, 0.406 * 255],
    std: [0.229 * 255, 0.224 * 255, 0.225 * 255],
  },
};

export const PREPROCESS_PRESETS = Object.keys(PRESETS) as Exclude<PreprocessName, 'mean-std'>[];

/** mean/std for channel c (a single value applies to every channel; extra values are ignored for 1-channel models). */
export function channelMean(p: Preprocessing, c: number): number {
  return p.mean.length === 1 ? p.mean[0] : p.mean[Math.min(c, p.mean.length - 1)];
}
export function channelStd(p: Preprocessing, c: number): number {
  return p.std.length === 1 ? p.std[0] : p.std[Math.min(c, p.std.length - 1)];
}

/** Model-space value of a 0..255 pixel in channel c. */
export function normalizePixel(p: Preprocessing, pixel: number, c: number): number {
  return (pixel - channelMean(p, c)) / channelStd(p, c);
}

/** The 0..255 pixel of a model-space value in channel c (the inverse of normalizePixel), unclamped. */
export function pixelOf(p: Preprocessing, value: number, c: number): number {
  return value * channelStd(p, c) + channelMean(p, c);
}

/**
 * An NHWC image in model space as display RGBA (1 channel → gray): how a perturbed copy looks to a
 * person. Values outside 0..255 (a noise baseline) are clamped.
 */
export function displayOfImage(
  data: ArrayLike<number>,
  shape: readonly number[],
  p: Preprocessing,
): { width: number; height: number; rgba: Uint8Array } {
  const [height, width, channels] = shape as [number, number, number];
  const rgba = new Uint8Array(width * height * 4);
  const byte = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) {
      const source = channels === 1 ? 0 : Math.min(c, channels - 1);
      rgba[i * 4 + c] = byte(pixelOf(p, data[i * channels + source], source));
    }
    rgba[i * 4 + 3] = 255;
  }
  return { width, height, rgba };
}

/** Model-space [min, max] of pixels 0 and 255 over `channels` channels. */
export function preprocessRange(p: Preprocessing, channels: number): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (let c = 0; c < Math.max(1, channels); c++) {
    for (const px of [0, 255]) {
      const v = normalizePixel(p, px, c);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

function checkMeanStd(mean: number[], std: number[], where: string): void {
  const bad = (arr: number[]) => arr.length === 0 || arr.length > 4 || arr.some((v) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad(mean) || bad(std)) {
    throw new PathLensError(
      'usage',
      `${where}: mean and std need 1 to 4 finite numbers each (got mean ${JSON.stringify(mean)}, std ${JSON.stringify(std)}).`,
    );
  }
  if (std.some((s) => s === 0)) throw new PathLensError('usage', `${where}: std must not be 0 (got ${JSON.stringify(std)}).`);
}

function parseList(text: string, where: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if (parts.some((s) => s === '') || values.some((v) => !Number.isFinite(v))) {
    throw new PathLensError('usage', `${where}: "${text}" is not a comma-separated list of numbers.`);
  }
  return values;
}

function parseGrayFrom(value: unknown, where: string): GrayFrom | undefined {
  if (value === undefined) return undefined;
  if (value === 'luminance' || value === 'red') return value;
  throw new PathLensError('usage', `${where}: "grayFrom" must be "luminance" or "red" (got ${JSON.stringify(value)}).`);
}

/**
 * Parse a preprocessing spec: `unit` (x/255), `signed` (x/127.5 − 1), `raw255` (x), `imagenet`,
 * or `mean-std:<m[,m,m]>/<s[,s,s]>` in 0..255 pixel units (a single value applies to all channels).
 * Names are case-insensitive.
 */
export function parsePreprocess(spec: string, source: Preprocessing['source']): InputPreprocessing {
  const text = spec.trim();
  const lower = text.toLowerCase();
  if (lower in PRESETS) {
    const preset = PRESETS[lower as keyof typeof PRESETS];
    return { name: lower as PreprocessName, mean: [...preset.mean], std: [...preset.std], source };
  }
  if (lower.startsWith('mean-std:')) {
    const body = text.slice('mean-std:'.length);
    const slash = body.indexOf('/');
    if (slash < 0) {
      throw new PathLensError(
        'usage',
        `Preprocessing "${spec}": expected mean-std:<mean>/<std>, e.g. mean-std:127.5/127.5 or mean-std:123.7,116.3,103.5/58.4,57.1,57.4.`,
      );
    }
    const where = `Preprocessing "${spec}"`;
    const mean = parseList(body.slice(0, slash), where);
    const std = parseList(body.slice(slash + 1), where);
    checkMeanStd(mean, std, where);
    return { name: 'mean-std', mean, std, source };
  }
  throw new PathLensError(
    'usage',
    `Unknown preprocessing "${spec}". Use one of: ${PREPROCESS_PRESETS.join(', ')}, or mean-std:<mean>/<std> (0..255 pixel units).`,
  );
}

const meanOrStd = z.union([finiteNumber, z.array(finiteNumber)]);

/** pathlens.json beside a model: the declared shape, checked before its meaning (parseSidecar). */
export const sidecarSchema = z.looseObject({
  preprocess: z.string().optional(),
  mean: meanOrStd.optional(),
  std: meanOrStd.optional(),
  grayFrom: z.enum(['luminance', 'red']).optional(),
});

/** Parse the content of a `pathlens.json` sidecar. Returns null if it says nothing about preprocessing. */
export function parseSidecar(json: unknown, path: string): InputPreprocessing | null {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new PathLensError('usage', `${path}: expected a JSON object like {"preprocess": "signed"} or {"mean": [..], "std": [..]}.`);
  }
  const obj = json as Record<string, unknown>;
  const grayFrom = parseGrayFrom(obj.grayFrom, path);
  let result: InputPreprocessing | null = null;
  if (obj.preprocess !== undefined) {
    if (typeof obj.preprocess !== 'string') throw new PathLensError('usage', `${path}: "preprocess" must be a string.`);
    result = parsePreprocess(obj.preprocess, 'sidecar');
  } else if (obj.mean !== undefined || obj.std !== undefined) {
    const toList = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : typeof v === 'number' ? [v] : []);
    const mean = toList(obj.mean),
      std = toList(obj.std);
    checkMeanStd(mean, std, path);
    result = { name: 'mean-std', mean, std, source: 'sidecar' };
  } else if (grayFrom !== undefined) {
    // Only grayFrom given: keep the default preset but honour the gray conversion.
    result = null;
  }
  if (result && grayFrom) result.grayFrom = grayFrom;
  return result;
}

/**
 * Decide the preprocessing for a model:
 * 1. `explicit` spec (e.g. from `--preprocess`), source `explicit`;
 * 2. `pathlens.json` beside the model (`{"preprocess": "signed"}` or `{"mean": [...], "std": [...]}`,
 *    optional `"grayFrom": "luminance"|"red"`), source `sidecar`;
 * 3. a preprocessing layer the model starts with (`inModel`, e.g. Keras Rescaling) → `raw255`, source `detected`;
 * 4. Teachable Machine export (a `metadata.json` beside the model with a `tmVersion` key) → `signed`, source `detected`;
 * 5. the preset the model's input convention suggests (`suggested`, e.g. torchvision-like ONNX → `imagenet`), source `detected`;
 * 6. `unit`, source `default`.
 * A sidecar `grayFrom` is kept even when an explicit spec or the default picks the mean/std.
 * `modelDir` may be the model directory or the model.json path.
 */
export function resolvePreprocessing(opts: {
  explicit?: string;
  modelDir: string;
  inModel?: string;
  suggested?: { name: PreprocessName; reason: string };
}): InputPreprocessing {
  const dir = modelFolderOf(opts.modelDir);
  let sidecar: InputPreprocessing | null = null;
  let sidecarGray: GrayFrom | undefined;
  const json = readSidecarJson(dir, SIDECAR_FILE, sidecarSchema, 'usage');
  if (json) {
    const sidecarPath = `${dir}/${SIDECAR_FILE}`;
    sidecar = parseSidecar(json, sidecarPath);
    sidecarGray = parseGrayFrom(json.grayFrom, sidecarPath);
  }
  const withGray = (p: InputPreprocessing): InputPreprocessing => {
    if (sidecarGray && !p.grayFrom) p.grayFrom = sidecarGray;
    return p;
  };
  if (opts.explicit !== undefined && opts.explicit.trim() !== '') return withGray(parsePreprocess(opts.explicit, 'explicit'));
  if (sidecar) return sidecar;
  if (opts.inModel) return withGray({ ...parsePreprocess('raw255', 'detected'), reason: opts.inModel });
  if (isTeachableMachineExport(dir)) return withGray(parsePreprocess('signed', 'detected'));
  if (opts.suggested) return withGray({ ...parsePreprocess(opts.suggested.name, 'detected'), reason: opts.suggested.reason });
  return withGray(parsePreprocess('unit', 'default'));
}

/** One readable line, e.g. `signed (x − 127.5) / 127.5 [detected]`. */
export function describePreprocessing(p: Preprocessing | null): string {
  if (!p) return 'none';
  const fmt = (a: number[]) => (a.length === 1 ? `${+a[0].toFixed(4)}` : `[${a.map((v) => +v.toFixed(4)).join(', ')}]`);
  const gray = (p as InputPreprocessing).grayFrom ? `, gray from ${(p as InputPreprocessing).grayFrom}` : '';
  return `${p.name}: (pixel − ${fmt(p.mean)}) / ${fmt(p.std)} [${p.source}${gray}]${p.reason ? ` — ${p.reason}` : ''}`;
}
