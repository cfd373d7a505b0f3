/**
 * Attribution heatmaps over the input image (RGBA bytes) and bar charts for non-image inputs.
 * DOM-free and Node-free: the webview bundles this module directly (PNG encoding lives in overlay.ts).
 */
import { colormapLut, defaultColormap, type ColormapName } from './colormap';

export type SignMode = 'positive' | 'negative' | 'absolute' | 'signed';
export type Aggregation = 'sum' | 'max-abs' | 'l2';

export interface OverlayOptions {
  /** Which part of the attribution to show. Default 'absolute'. */
  sign: SignMode;
  /** Default: `rdbu` for signed, `inferno` otherwise. */
  colormap: ColormapName;
  /** Values at/above this percentile of |value| (non-zero values) get the extreme colour. Default 99.5. */
  clipPercentile: number;
  /** Weight of the heatmap over the image: out = (1 − opacity)·gray(image) + opacity·colour. Default 0.6. */
  opacity: number;
  /** Channel aggregation over the last axis of [H, W, C]. Default 'sum'. */
  aggregation: Aggregation;
}

export interface RgbaImageData {
  width: number;
  height: number;
  rgba: Uint8Array;
}

function overlayDefaults(options: Partial<OverlayOptions> = {}): OverlayOptions {
  const sign = options.sign ?? 'absolute';
  return {
    sign,
    colormap: options.colormap ?? defaultColormap(sign),
    clipPercentile: options.clipPercentile ?? 99.5,
    opacity: options.opacity ?? 0.6,
    aggregation: options.aggregation ?? 'sum',
  };
}

/** True when an attribution of this shape can be drawn as a 2-D map ([H, W] or [H, W, C]). */
export function isSpatial(shape: readonly number[]): boolean {
  return shape.length === 2 || shape.length === 3;
}

/**
 * Reduce [H, W, C] to an [H, W] map: `sum` (signed sum), `max-abs` (the channel value with the
 * largest |v|, sign kept) or `l2` (√Σv², non-negative). [H, W] passes through.
 */
export function aggregateChannels(
  attr: { shape: readonly number[]; data: ArrayLike<number> },
  aggregation: Aggregation,
): { height: number; width: number; values: Float32Array } {
  if (!isSpatial(attr.shape))
    throw new Error(`Cannot draw an attribution of shape [${attr.shape.join(', ')}] as an image; use renderBarChart.`);
  const [height, width] = attr.shape;
  const c = attr.shape.length === 3 ? attr.shape[2] : 1;
  if (attr.data.length !== height * width * c)
    throw new Error(`Attribution data has ${attr.data.length} values, shape says ${height * width * c}.`);
  const values = new Float32Array(height * width);
  for (let p = 0; p < height * width; p++) {
    let acc = 0;
    for (let k = 0; k < c; k++) {
      const v = attr.data[p * c + k];
      if (aggregation === 'sum') acc += v;
      else if (aggregation === 'l2') acc += v * v;
      else if (Math.abs(v) > Math.abs(acc)) acc = v;
    }
    values[p] = aggregation === 'l2' ? Math.sqrt(acc) : acc;
  }
  return { height, width, values };
}

/** p-th percentile (0..100, linear interpolation) of the given values. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return 0;
  const pos = (Math.max(0, Math.min(100, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(pos),
    hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Map an [H, W] map to colormap positions t ∈ [0, 1] by sign mode:
 * positive → max(v, 0), negative → max(−v, 0), absolute → |v| (t = m / scale, clipped at 1);
 * signed → t = 0.5 + 0.5·v/scale (clipped to [0, 1], 0.5 = zero). `scale` is the clipPercentile
 * of the non-zero magnitudes, so a few extreme pixels do not wash the map out. Non-finite → 0.
 */
export function normalizeForDisplay(values: Float32Array, sign: SignMode, clipPercentile: number): { t: Float32Array; scale: number } {
  const mag = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number.isFinite(values[i]) ? values[i] : 0;
    mag[i] = sign === 'positive' ? Math.max(v, 0) : sign === 'negative' ? Math.max(-v, 0) : Math.abs(v);
  }
  const nonZero = mag.filter((m) => m > 0);
  const scale = nonZero.length ? percentile(nonZero, clipPercentile) : 0;
  const t = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (sign === 'signed') {
      const v = Number.isFinite(values[i]) ? values[i] : 0;
      t[i] = scale > 0 ? Math.max(0, Math.min(1, 0.5 + (0.5 * v) / scale)) : 0.5;
    } else {
      t[i] = scale > 0 ? Math.min(1, mag[i] / scale) : 0;
    }
  }
  return { t, scale };
}

/**
 * Draw the attribution over `display` (the image as the model sees it, shown in grayscale underneath
 * the colours). Returns RGBA bytes of the
 * display size (or of the attribution size when there is no display; then opacity is ignored).
 * An attribution map whose H×W differs from the display is mapped by nearest neighbour.
 */
export function renderOverlay(
  attr: { shape: readonly number[]; data: ArrayLike<number> },
  display: RgbaImageData | null | undefined,
  options: Partial<OverlayOptions> = {},
): RgbaImageData {
  const o = overlayDefaults(options);
  const map = aggregateChannels(attr, o.aggregation);
  const { t } = normalizeForDisplay(map.values, o.sign, o.clipPercentile);
  const lut = colormapLut(o.colormap);
  const width = display?.width ?? map.width,
    height = display?.height ?? map.height;
  const alpha = display ? Math.max(0, Math.min(1, o.opacity)) : 1;
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const ay = Math.min(map.height - 1, Math.floor((y * map.height) / height));
    for (let x = 0; x < width; x++) {
      const ax = Math.min(map.width - 1, Math.floor((x * map.width) / width));
      const li = Math.round(t[ay * map.width + ax] * 255) * 3;
      const o4 = (y * width + x) * 4;
      // The image underneath is shown in grayscale so the colormap stays readable.
      const base = display ? 0.299 * display.rgba[o4] + 0.587 * display.rgba[o4 + 1] + 0.114 * display.rgba[o4 + 2] : 0;
      for (let k = 0; k < 3; k++) rgba[o4 + k] = Math.round((1 - alpha) * base + alpha * lut[li + k]);
      rgba[o4 + 3] = 255;
    }
  }
  return { width, height, rgba };
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** Compact number formatting for labels (4 significant digits, exponent when tiny/huge). */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return String(+v.toPrecision(4));
}

export interface BarChartOptions {
  /** Show at most this many features (largest |value| first). Default 30. */
  maxBars?: number;
  /** Chart width in px. Default 560. */
  width?: number;
  /** Add the SVG namespace attribute (needed for a standalone .svg file, not for inline HTML). Default false. */
  standalone?: boolean;
  /** Title drawn above the bars. */
  title?: string;
  /** Positive / negative bar colours. */
  positiveColor?: string;
  negativeColor?: string;
}

/**
 * Signed horizontal bar chart of a vector attribution (tabular/vector inputs) as an SVG string.
 * Features are sorted by |value| (largest first); names default to `x[i]`. All text is escaped.
 */
export function renderBarChart(values: ArrayLike<number>, featureNames?: readonly string[], options: BarChartOptions = {}): string {
  const maxBars = options.maxBars ?? 30;
  const width = options.width ?? 560;
  const items = Array.from({ length: values.length }, (_, i) => ({
    name: featureNames?.[i] ?? `x[${i}]`,
    value: Number.isFinite(values[i]) ? values[i] : 0,
  }));
  items.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const shown = items.slice(0, maxBars);
  const hidden = items.length - shown.length;
  const rowH = 18,
    top = options.title ? 26 : 8,
    labelW = 150,
    valueW = 70;
  const plotW = Math.max(60, width - labelW - valueW - 10);
  const maxAbs = Math.max(1e-30, ...shown.map((s) => Math.abs(s.value)));
  const hasNeg = shown.some((s) => s.value < 0);
  const zeroX = labelW + (hasNeg ? plotW / 2 : 0);
  const half = hasNeg ? plotW / 2 : plotW;
  const height = top + shown.length * rowH + (hidden > 0 ? rowH : 0) + 8;
  const pos = options.positiveColor ?? '#d6604d',
    neg = options.negativeColor ?? '#4393c3';
  const parts: string[] = [];
  parts.push(
    `<svg${options.standalone ? ' xmlns="http://www.w3.org/2000/svg"' : ''} class="bars" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" font-family="system-ui, sans-serif" font-size="11">`,
  );
  if (options.title) parts.push(`<text x="4" y="16" font-weight="600" fill="currentColor">${escapeXml(options.title)}</text>`);
  shown.forEach((s, i) => {
    const y = top + i * rowH;
    const len = (Math.abs(s.value) / maxAbs) * half;
    const x = s.value >= 0 ? zeroX : zeroX - len;
    const name = s.name.length > 24 ? s.name.slice(0, 23) + '…' : s.name;
    parts.push(
      `<text x="${labelW - 6}" y="${y + 12}" text-anchor="end" fill="currentColor">${escapeXml(name)}<title>${escapeXml(s.name)}</title></text>`,
      `<rect x="${x.toFixed(1)}" y="${y + 3}" width="${Math.max(0.5, len).toFixed(1)}" height="${rowH - 6}" fill="${s.value >= 0 ? pos : neg}"><title>${escapeXml(`${s.name}: ${s.value}`)}</title></rect>`,
      `<text x="${labelW + plotW + 6}" y="${y + 12}" fill="currentColor">${escapeXml(formatNumber(s.value))}</text>`,
    );
  });
  parts.push(
    `<line x1="${zeroX}" x2="${zeroX}" y1="${top}" y2="${top + shown.length * rowH}" stroke="currentColor" stroke-opacity="0.5"/>`,
  );
  if (hidden > 0) {
    parts.push(
      `<text x="${labelW}" y="${top + shown.length * rowH + 12}" fill="currentColor" fill-opacity="0.7">… ${hidden} more feature${hidden === 1 ? '' : 's'} with smaller |attribution|</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}
