/**
 * Tiny inline-SVG line charts (no DOM, no JS) for the path plots in the HTML report.
 * SVGs are meant to be inlined in HTML, so they carry no xmlns (pass `standalone` for a file).
 */
import type { PathTrace } from '../types';
import { escapeXml, formatNumber } from './overlay';

export interface LineSeries {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color: string;
  label: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  /** Horizontal reference line (e.g. the expected F(x) − F(x')). */
  hline?: { y: number; label: string; color: string };
  standalone?: boolean;
}

interface Frame {
  width: number;
  height: number;
  m: { left: number; right: number; top: number; bottom: number };
  pw: number;
  ph: number;
}

interface Scales {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  pad: number;
  sx(v: number): number;
  sy(v: number): number;
}

export function renderLineChart(series: LineSeries[], options: LineChartOptions = {}): string {
  const width = options.width ?? 300,
    height = options.height ?? 170;
  const m = { left: 52, right: 10, top: options.title ? 22 : 10, bottom: 30 };
  const frame: Frame = { width, height, m, pw: width - m.left - m.right, ph: height - m.top - m.bottom };
  const hline = options.hline && Number.isFinite(options.hline.y) ? options.hline : undefined;
  const { xs, ys } = finiteValues(series, hline);
  const ns = options.standalone ? ' xmlns="http://www.w3.org/2000/svg"' : '';
  const parts: string[] = [
    `<svg${ns} class="plot" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" font-family="system-ui, sans-serif" font-size="10">`,
  ];
  if (options.title) parts.push(`<text x="${m.left}" y="14" font-weight="600" fill="currentColor">${escapeXml(options.title)}</text>`);
  if (xs.length === 0) {
    parts.push(
      `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="currentColor" fill-opacity="0.6">no finite data</text></svg>`,
    );
    return parts.join('');
  }
  const scales = chartScales(xs, ys, frame);
  parts.push(...axes(frame, scales, options.xLabel));
  if (hline) {
    const y = scales.sy(hline.y).toFixed(1);
    parts.push(
      `<line x1="${m.left}" x2="${m.left + frame.pw}" y1="${y}" y2="${y}" stroke="${hline.color}" stroke-dasharray="4 3"><title>${escapeXml(`${hline.label} = ${hline.y}`)}</title></line>`,
    );
  }
  let legendX = m.left + 4;
  for (const s of series) {
    parts.push(...seriesSvg(s, scales), `<text x="${legendX}" y="${m.top + 11}" fill="${s.color}">${escapeXml(s.label)}</text>`);
    legendX += 8 + 6 * s.label.length;
  }
  if (hline) parts.push(`<text x="${legendX}" y="${m.top + 11}" fill="${hline.color}">${escapeXml(hline.label)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

/** The finite x and y values of every series (and the reference line's y), which set the axes. */
function finiteValues(series: LineSeries[], hline: LineChartOptions['hline']): { xs: number[]; ys: number[] } {
  const xs: number[] = [],
    ys: number[] = [];
  for (const s of series) {
    for (let i = 0; i < Math.min(s.x.length, s.y.length); i++) {
      if (Number.isFinite(s.x[i]) && Number.isFinite(s.y[i])) {
        xs.push(s.x[i]);
        ys.push(s.y[i]);
      }
    }
  }
  if (hline) ys.push(hline.y);
  return { xs, ys };
}

/** Data → pixel maps; a flat range is widened so it still has a height, y gets a 5 % margin. */
function chartScales(xs: number[], ys: number[], { m, pw, ph }: Frame): Scales {
  let x0 = Math.min(...xs),
    x1 = Math.max(...xs),
    y0 = Math.min(...ys),
    y1 = Math.max(...ys);
  if (x1 === x0) {
    x0 -= 0.5;
    x1 += 0.5;
  }
  if (y1 === y0) {
    const d = Math.abs(y0) * 0.1 || 0.5;
    y0 -= d;
    y1 += d;
  }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  return {
    x0,
    x1,
    y0,
    y1,
    pad,
    sx: (v) => m.left + ((v - x0) / (x1 - x0)) * pw,
    sy: (v) => m.top + (1 - (v - y0) / (y1 - y0)) * ph,
  };
}

/** Frame, tick labels and the x-axis label. */
function axes({ m, pw, ph, height }: Frame, { x0, x1, y0, y1, pad, sx, sy }: Scales, xLabel: string | undefined): string[] {
  const parts = [`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="currentColor" stroke-opacity="0.3"/>`];
  for (const v of [y0 + pad, (y0 + y1) / 2, y1 - pad]) {
    parts.push(
      `<text x="${m.left - 4}" y="${sy(v) + 3}" text-anchor="end" fill="currentColor" fill-opacity="0.75">${escapeXml(formatNumber(v))}</text>`,
    );
  }
  for (const v of [x0, x1]) {
    parts.push(
      `<text x="${sx(v)}" y="${m.top + ph + 12}" text-anchor="middle" fill="currentColor" fill-opacity="0.75">${escapeXml(formatNumber(v))}</text>`,
    );
  }
  if (xLabel)
    parts.push(`<text x="${m.left + pw / 2}" y="${height - 4}" text-anchor="middle" fill="currentColor">${escapeXml(xLabel)}</text>`);
  return parts;
}

/** One series as a polyline, with point markers when there are few points. */
function seriesSvg(s: LineSeries, { sx, sy }: Scales): string[] {
  const pts: string[] = [];
  for (let i = 0; i < Math.min(s.x.length, s.y.length); i++) {
    if (Number.isFinite(s.x[i]) && Number.isFinite(s.y[i])) pts.push(`${sx(s.x[i]).toFixed(1)},${sy(s.y[i]).toFixed(1)}`);
  }
  const parts = [
    `<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
  ];
  if (pts.length <= 64) {
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="1.6" fill="${s.color}"/>`);
    }
  }
  return parts;
}

/** Two small panels: Σ attribution vs α (with the expected F(x) − F(x') line) and F vs α. */
export function renderPathPlots(path: PathTrace, options: { width?: number; height?: number } = {}): string {
  const xLabel = 'path parameter (α)';
  const cum = renderLineChart([{ x: path.alpha, y: path.cumulativeSum, color: '#e08214', label: 'Σ attribution' }], {
    ...options,
    title: 'Cumulative attribution',
    xLabel,
    hline: { y: path.expected, label: 'F(x) − F(x′)', color: '#7f7f7f' },
  });
  const val = renderLineChart([{ x: path.alpha, y: path.value, color: '#2b8cbe', label: 'F' }], {
    ...options,
    title: 'Output along the path',
    xLabel,
  });
  return `<div class="plots">${cum}${val}</div>`;
}
