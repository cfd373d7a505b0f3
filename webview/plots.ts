/**
 * Integration-path plots (uPlot): F(γ(α)), cumulative Σ attribution against F(x) − F(x′),
 * ‖∇F‖, and method-specific percentile bands (Guided IG) against the straight line.
 */
import uPlot from 'uplot';
import type { MapAccuracy, PathTrace } from '../src/shared/types';
import { formatNumber } from '../src/shared/render';

export interface PlotTheme {
  foreground: string;
  grid: string;
  series: string[];
  reference: string;
  font: string;
}

/** Colours from the VS Code theme variables (fallbacks for a plain browser). */
export function plotTheme(): PlotTheme {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const foreground = v('--vscode-foreground', '#cccccc');
  return {
    foreground,
    grid: v('--vscode-editorWidget-border', v('--vscode-panel-border', 'rgba(128,128,128,0.35)')),
    series: [
      v('--vscode-charts-blue', '#3794ff'),
      v('--vscode-charts-orange', '#d18616'),
      v('--vscode-charts-green', '#89d185'),
      v('--vscode-charts-purple', '#b180d7'),
    ],
    reference: v('--vscode-charts-red', '#f14c4c'),
    font: `11px ${v('--vscode-font-family', 'system-ui, sans-serif')}`,
  };
}

// Percentile series of per-feature progress, e.g. Guided IG's progressP10/P50/P90 (or plain p10…).
const PERCENTILE_KEY = /^(?:progress)?p(\d{1,2}(?:\.\d+)?)$/i;

/** Sort the path by its parameter (uPlot needs ascending x). */
function ordered(path: PathTrace): number[] {
  return path.alpha.map((_, i) => i).sort((a, b) => path.alpha[a]! - path.alpha[b]!);
}

/** The themed look every uPlot axis of the panel shares. */
export function axisStyle(theme: PlotTheme): uPlot.Axis {
  return {
    stroke: theme.foreground,
    font: theme.font,
    labelFont: theme.font,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1 },
  };
}

function axes(theme: PlotTheme, xLabel: string, yLabel: string): uPlot.Axis[] {
  const common = axisStyle(theme);
  return [
    { ...common, label: xLabel, labelSize: 16, size: 30 },
    { ...common, label: yLabel, labelSize: 16, size: 52, values: (_u: uPlot, splits: number[]) => splits.map((s) => formatNumber(s)) },
  ];
}

interface PlotSpec {
  title: string;
  yLabel: string;
  series: { label: string; values: number[]; color: string; dash?: number[] }[];
  bands?: uPlot.Band[];
}

/** The plots for one path, as specs (pure apart from the theme). */
function pathPlotSpecs(path: PathTrace, theme: PlotTheme, xLabel: string): { x: number[]; specs: PlotSpec[] } {
  const order = ordered(path);
  const pick = (values: number[]) => order.map((i) => values[i] ?? NaN);
  const x = pick(path.alpha);
  const specs: PlotSpec[] = [
    { title: `F(γ(${xLabel}))`, yLabel: 'F', series: [{ label: 'F(γ)', values: pick(path.value), color: theme.series[0]! }] },
    {
      title: 'Cumulative Σ attribution',
      yLabel: 'Σ attr',
      series: [
        { label: 'Σ attr', values: pick(path.cumulativeSum), color: theme.series[1]! },
        { label: 'F(x) − F(x′)', values: x.map(() => path.expected), color: theme.reference, dash: [6, 4] },
      ],
    },
    { title: '‖∇F‖', yLabel: '‖∇F‖', series: [{ label: '‖∇F‖', values: pick(path.gradNorm), color: theme.series[2]! }] },
  ];
  const extra = path.extra ?? {};
  const percentiles = Object.keys(extra)
    .filter((k) => PERCENTILE_KEY.test(k) && extra[k]!.length === path.alpha.length)
    .sort((a, b) => Number(PERCENTILE_KEY.exec(a)![1]) - Number(PERCENTILE_KEY.exec(b)![1]));
  if (percentiles.length > 0) {
    const series = [
      { label: `straight line (${xLabel})`, values: x, color: theme.reference, dash: [6, 4] },
      ...percentiles.map((k, i) => ({ label: k, values: pick(extra[k]!), color: theme.series[(i + 1) % theme.series.length]! })),
    ];
    // Band between the lowest and the highest percentile (series indices are 1-based after x).
    const bands: uPlot.Band[] = percentiles.length >= 2 ? [{ series: [series.length, 2], fill: withAlpha(theme.series[1]!, 0.18) }] : [];
    specs.push({ title: 'Per-feature progress (percentiles)', yLabel: 'progress', series, bands });
  }
  const others = Object.keys(extra).filter((k) => !percentiles.includes(k) && extra[k]!.length === path.alpha.length);
  if (others.length > 0) {
    specs.push({
      title: others.join(', '),
      yLabel: 'value',
      series: others.map((k, i) => ({ label: k, values: pick(extra[k]!), color: theme.series[i % theme.series.length]! })),
    });
  }
  return { x, specs };
}

function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})/i.exec(color.trim());
  if (!m) return color;
  const v = parseInt(m[1]!, 16);
  return `rgba(${(v >> 16) & 255}, ${(v >> 8) & 255}, ${v & 255}, ${alpha})`;
}

/** Render every plot of a path into `container` (cleared first); returns the uPlot instances. */
export function renderPathPlots(container: HTMLElement, path: PathTrace, width: number, xLabel = 'α'): uPlot[] {
  container.replaceChildren();
  const theme = plotTheme();
  const { x, specs } = pathPlotSpecs(path, theme, xLabel);
  return specs.map((spec) => plotInto(container, x, spec, xLabel, theme, width));
}

/** The adaptive rule's convergence: estimated map error (%) against the evaluations so far. */
export function renderConvergencePlot(container: HTMLElement, history: MapAccuracy['history'], width: number): uPlot | null {
  if (!history || history.length < 2) return null;
  const theme = plotTheme();
  const spec: PlotSpec = {
    title: 'Estimated map error vs evaluations',
    yLabel: 'map error %',
    series: [{ label: 'map error %', values: history.map((h) => h.mapError * 100), color: theme.series[3 % theme.series.length]! }],
  };
  const plot = plotInto(
    container,
    history.map((h) => h.evaluations),
    spec,
    'evaluations',
    theme,
    width,
  );
  plot.root.dataset.testid = 'convergence-plot';
  return plot;
}

function plotInto(container: HTMLElement, x: number[], spec: PlotSpec, xLabel: string, theme: PlotTheme, width: number): uPlot {
  const figure = document.createElement('figure');
  figure.className = 'plot';
  const caption = document.createElement('figcaption');
  caption.textContent = spec.title;
  figure.append(caption);
  container.append(figure);
  const opts: uPlot.Options = {
    width,
    height: 130,
    pxAlign: 0,
    cursor: { drag: { x: false, y: false } },
    legend: { show: true, live: true },
    scales: { x: { time: false } },
    axes: axes(theme, xLabel, spec.yLabel),
    series: [
      { label: xLabel, value: (_u, v) => (v == null ? '–' : formatNumber(v)) },
      ...spec.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 1.5,
        dash: s.dash,
        points: { show: x.length <= 24 },
        value: (_u: uPlot, v: number | null) => (v == null ? '–' : formatNumber(v)),
      })),
    ],
    bands: spec.bands,
  };
  const plot = new uPlot(opts, [x, ...spec.series.map((s) => s.values)] as uPlot.AlignedData, figure);
  plot.root.setAttribute('role', 'img');
  plot.root.setAttribute('aria-label', `${spec.title} against ${xLabel}`);
  return plot;
}
