/**
 * Pure display logic of the panel (no DOM): display options, completeness levels, path images,
 * input coercion. Shared rendering math comes from src/core/report (render.ts, colormap.ts).
 */
import { COLORMAPS, DIVERGING_COLORMAPS, isColormapName, type ColormapName } from '../src/shared/colormap';
import type { Aggregation, SignMode } from '../src/shared/render';
import type { Completeness, MapAccuracy, MethodResult, Preprocessing } from '../src/shared/types';

export interface DisplayOptions {
  sign: SignMode;
  colormap: ColormapName;
  clipPercentile: number;
  opacity: number;
  aggregation: Aggregation;
}

export const SIGN_MODES: { value: SignMode; label: string }[] = [
  { value: 'absolute', label: 'Absolute |a|' },
  { value: 'positive', label: 'Positive' },
  { value: 'negative', label: 'Negative' },
  { value: 'signed', label: 'Signed (diverging)' },
];

export const AGGREGATIONS: { value: Aggregation; label: string }[] = [
  { value: 'sum', label: 'Sum' },
  { value: 'max-abs', label: 'Max |a|' },
  { value: 'l2', label: 'L2 norm' },
];

const SEQUENTIAL_COLORMAPS: ColormapName[] = COLORMAPS.filter((c) => !DIVERGING_COLORMAPS.includes(c));

export interface ColormapDefaults {
  colormap: ColormapName;
  divergingColormap: ColormapName;
}

const DEFAULT_COLORMAPS: ColormapDefaults = { colormap: 'inferno', divergingColormap: 'rdbu' };

export function defaultDisplay(defaults: ColormapDefaults = DEFAULT_COLORMAPS): DisplayOptions {
  return { sign: 'absolute', colormap: defaults.colormap, clipPercentile: 99.5, opacity: 0.6, aggregation: 'sum' };
}

/** Colormaps offered for a sign mode: diverging maps for signed values, sequential ones otherwise. */
export function colormapsFor(sign: SignMode): ColormapName[] {
  return sign === 'signed' ? [...DIVERGING_COLORMAPS] : SEQUENTIAL_COLORMAPS;
}

/**
 * Apply a change to display options, keeping them consistent: switching between signed and
 * magnitude modes swaps the colormap to the matching default; numbers are clamped.
 */
export function updateDisplay(
  current: DisplayOptions,
  change: Partial<DisplayOptions>,
  defaults: ColormapDefaults = DEFAULT_COLORMAPS,
): DisplayOptions {
  const next: DisplayOptions = { ...current, ...change };
  if (!isColormapName(next.colormap) || !colormapsFor(next.sign).includes(next.colormap)) {
    next.colormap = next.sign === 'signed' ? defaults.divergingColormap : defaults.colormap;
    if (!colormapsFor(next.sign).includes(next.colormap)) next.colormap = colormapsFor(next.sign)[0]!;
  }
  next.clipPercentile = clamp(Number.isFinite(next.clipPercentile) ? next.clipPercentile : 99.5, 50, 100);
  next.opacity = clamp(Number.isFinite(next.opacity) ? next.opacity : 0.6, 0, 1);
  return next;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

export type CompletenessLevel = 'ok' | 'warn' | 'bad' | 'na';

/** Badge level: amber above 1 % relative error, red above 5 %, 'na' for methods not complete by design. */
export function completenessLevel(c: Completeness | null | undefined): CompletenessLevel {
  if (!c) return 'na';
  const r = Number.isNaN(c.relative) ? Infinity : Math.abs(c.relative);
  if (r > 0.05) return 'bad';
  if (r > 0.01) return 'warn';
  return 'ok';
}

/**
 * The baseline as a display pixel (0..255 per channel) when the webview can know it:
 * 'black' is 0, 'white' is 255, 'zero' is the pixel that preprocesses to 0 (the preset's mean).
 * Anything else (random, blurred, file baselines) is not known here: null.
 */
export function baselinePixel(baseline: unknown, preprocessing: Preprocessing | null): number[] | null {
  if (baseline === 'black') return [0, 0, 0];
  if (baseline === 'white') return [255, 255, 255];
  if (baseline === 'zero') {
    if (!preprocessing) return null;
    const mean = preprocessing.mean.length ? preprocessing.mean : [0];
    return [0, 1, 2].map((c) => Math.max(0, Math.min(255, mean[c % mean.length]!)));
  }
  return null;
}

/** x′ + α(x − x′) in display space for a constant baseline pixel. */
export function pathImage(display: { width: number; height: number; rgba: Uint8Array }, base: number[], alpha: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(display.rgba.length);
  for (let i = 0; i < display.rgba.length; i += 4) {
    for (let c = 0; c < 3; c++) out[i + c] = Math.round(base[c]! + alpha * (display.rgba[i + c]! - base[c]!));
    out[i + 3] = 255;
  }
  return out;
}

/**
 * Typed arrays may arrive as they are (structured clone), as plain arrays, or as index-keyed
 * objects (a JSON round trip of a typed array). Normalise to the wanted typed array.
 */
export function toFloat32(v: unknown): Float32Array {
  if (v instanceof Float32Array) return v;
  if (ArrayBuffer.isView(v)) return Float32Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return Float32Array.from(v, Number);
  if (v && typeof v === 'object') return Float32Array.from(Object.values(v as Record<string, number>), Number);
  return new Float32Array(0);
}

export function toUint8(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof Uint8ClampedArray) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (ArrayBuffer.isView(v)) return Uint8Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return Uint8Array.from(v, Number);
  if (v && typeof v === 'object') return Uint8Array.from(Object.values(v as Record<string, number>), Number);
  return new Uint8Array(0);
}

/** File name for an exported map: `<input stem>-<method>.png`, only characters the host accepts. */
export function exportFileName(inputPath: string, method: string, ext = 'png'): string {
  // `table.csv#row3` → `table-row3`; `digit.png` → `digit`.
  const [file = 'input', fragment] = (inputPath.split(/[\\/]/).pop() ?? 'input').split('#');
  const base = file.replace(/\.[^.]+$/, '') + (fragment ? `-${fragment}` : '');
  const safe = `${base}-${method}`.replace(/[^\w.\- ]+/g, '_').slice(0, 150) || 'map';
  return `${safe}.${ext}`;
}

const LEVEL_ORDER: CompletenessLevel[] = ['na', 'ok', 'warn', 'bad'];

/**
 * Map-error level: green ≤ 2 %, amber ≤ 5 %, red above; never green when the refinement stopped at
 * its cap before reaching its tolerance ('na' without an estimate).
 */
export function accuracyLevel(a: MapAccuracy | null | undefined): CompletenessLevel {
  if (!a) return 'na';
  const e = Number.isNaN(a.mapError) ? Infinity : a.mapError;
  const level: CompletenessLevel = e > 0.05 ? 'bad' : e > 0.02 ? 'warn' : 'ok';
  return !a.converged && level === 'ok' ? 'warn' : level;
}

/** The badge's colour: the worse of the map-error and completeness levels. */
export function resultLevel(result: Pick<MethodResult, 'completeness' | 'accuracy'>): CompletenessLevel {
  const levels = [completenessLevel(result.completeness), accuracyLevel(result.accuracy)];
  return levels.reduce((worst, l) => (LEVEL_ORDER.indexOf(l) > LEVEL_ORDER.indexOf(worst) ? l : worst), 'na');
}

export function formatPercent(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? '∞ %' : 'n/a';
  const p = v * 100;
  return `${Math.abs(p) >= 10 ? p.toFixed(1) : Math.abs(p) >= 0.01 ? p.toFixed(2) : p.toExponential(1)} %`;
}

export function basename(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}
