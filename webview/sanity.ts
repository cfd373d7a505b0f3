/**
 * The "Sanity checks" view: a grid of maps (rows = methods, columns = the original then each
 * randomized layer / noise level, as in Adebayo et al.'s figure) drawn with the same overlay renderer
 * as the other maps, a uPlot line per similarity metric against the layer index / noise level, and
 * the verdicts with their reasons. Fills in as the check's events arrive.
 *
 * Test hooks: `sanity-view`, `sanity-grid`, `sanity-map-<method>-<column>` (column 0 = original,
 * k = step k − 1; `data-rendered="true"` once drawn), `sanity-plot-<metric>`, `sanity-verdict-<method>`.
 */
import uPlot from 'uplot';
import { METRIC_LABELS, METRICS, type MetricName, type SanityStepInfo } from '../src/shared/sanity';
import type { MethodResult } from '../src/shared/types';
import { colormapHex } from '../src/shared/colormap';
import { formatNumber, isSpatial, renderBarChart, renderOverlay } from '../src/shared/render';
import { button } from './controls';
import { basename, type DisplayOptions } from './display';
import { h, imageData } from './dom';
import { axisStyle, plotTheme } from './plots';
import { ProgressIndicator } from './progress';
import { plannedSteps, similaritySeries, xAxisLabel, type SanityViewState } from './sanityState';

const CHECK_TITLES = {
  cascading: 'Cascading model randomization',
  independent: 'Independent layer randomization',
  perturbation: 'Model perturbation',
} as const;

export class SanityView {
  readonly root: HTMLElement;
  private readonly summary = h('p', { class: 'muted sanity-summary' });
  private readonly progress = new ProgressIndicator('Sanity check progress');
  private readonly progressBox: HTMLElement;
  private readonly note = h('p', { class: 'run-note muted', 'aria-live': 'polite', 'data-testid': 'sanity-status' });
  private readonly errorBox = h('div', { class: 'errors' });
  private readonly grid = h('div', {
    class: 'sanity-grid',
    'data-testid': 'sanity-grid',
    role: 'table',
    'aria-label': 'Sanity check maps: rows are methods, columns are the original model then each modified model',
  });
  private readonly plotsBox = h('div', { class: 'sanity-plots' });
  private readonly verdictsBox = h('div', { class: 'sanity-verdicts', 'aria-live': 'polite' });
  private gridKey = '';
  private cells = new Map<string, { box: HTMLElement; sim: HTMLElement; drawn: string; result: MethodResult | null }>();
  private plotsKey = '';
  private plots: uPlot[] = [];
  private verdictsFor: unknown = null;

  constructor(cancel: () => void) {
    const cancelButton = button('Cancel', cancel, { 'data-testid': 'sanity-cancel', secondary: true });
    this.progressBox = h(
      'div',
      { class: 'progress', role: 'status' },
      this.progress.bar,
      h('div', { class: 'progress-row' }, this.progress.text, cancelButton),
    );
    this.root = h(
      'section',
      { class: 'sanity', 'data-testid': 'sanity-view', 'aria-label': 'Sanity checks' },
      h('h2', {}, 'Sanity checks'),
      this.summary,
      this.progressBox,
      this.note,
      this.errorBox,
      h('h3', {}, 'Maps'),
      h('div', { class: 'sanity-grid-scroll' }, this.grid),
      h('h3', {}, 'Similarity to the original map'),
      this.plotsBox,
      h('h3', {}, 'Verdicts'),
      this.verdictsBox,
    );
    this.root.hidden = true;
  }

  update(state: SanityViewState | null, options: DisplayOptions, divergingColormap: string, themeKey: string): void {
    this.root.hidden = state === null;
    if (!state) return;
    const plan = state.plan;
    const title = CHECK_TITLES[state.check];
    this.summary.textContent = `${title} of ${state.methods.map((m) => m.title).join(', ')} on ${basename(state.inputPath)}${
      plan
        ? ` — ${plan.layers.length} weighted layer${plan.layers.length === 1 ? '' : 's'}, ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}, seed ${plan.seed}`
        : ''
    }${state.original ? `; prediction ${state.original.prediction.label ?? `class ${state.original.prediction.index}`} (${formatNumber(state.original.prediction.score)})` : ''}.`;
    this.renderStatus(state);
    this.errorBox.replaceChildren(
      ...(state.error
        ? [
            h(
              'div',
              { class: 'error', role: 'alert', 'data-testid': 'sanity-error', 'data-code': state.error.code },
              h('strong', {}, 'Sanity check failed: '),
              state.error.message,
            ),
          ]
        : []),
    );
    this.renderGrid(state, options, divergingColormap);
    this.renderPlots(state, themeKey);
    this.renderVerdicts(state);
  }

  private renderStatus(state: SanityViewState): void {
    this.progressBox.hidden = !state.running;
    this.progress.show(state.progress, 'Loading the model…');
    const total = plannedSteps(state).length;
    const arrived = state.steps.filter(Boolean).length;
    this.note.dataset.state = state.running ? 'running' : state.cancelled ? 'cancelled' : state.error ? 'failed' : 'done';
    if (state.running) this.note.textContent = total ? `${arrived} of ${total} steps computed…` : '';
    else if (state.cancelled) this.note.textContent = `Cancelled: ${arrived} of ${total} steps were computed.`;
    else if (state.error) this.note.textContent = '';
    else this.note.textContent = `Done: ${arrived} of ${total} steps.`;
  }

  private columns(state: SanityViewState): { label: string; title: string; step: SanityStepInfo | null }[] {
    return [
      { label: 'Original', title: 'The trained model', step: null },
      ...plannedSteps(state).map((step) => ({
        label: step.label,
        title:
          state.check === 'perturbation'
            ? `Gaussian noise σ = ${formatNumber((step.level ?? 0) * 100)}% of each weight tensor's std`
            : `Randomized: ${step.randomized.join(', ')}`,
        step,
      })),
    ];
  }

  private renderGrid(state: SanityViewState, options: DisplayOptions, divergingColormap: string): void {
    const columns = this.columns(state);
    const key = `${state.sanityId}|${state.methods.map((m) => m.name).join(',')}|${columns.map((c) => c.label).join('\u0001')}`;
    if (key !== this.gridKey) {
      this.gridKey = key;
      this.cells.clear();
      this.grid.style.setProperty('--sanity-columns', String(columns.length));
      const heads = columns.map((c, k) =>
        h('div', { class: 'sanity-col-head', role: 'columnheader', title: c.title, 'data-column': k }, c.label),
      );
      const rows = state.methods.flatMap((m) => [
        h(
          'div',
          { class: 'sanity-row-head', role: 'rowheader', title: m.description },
          h('strong', {}, m.title),
          h('span', { class: 'muted' }, ` ${m.name}`),
        ),
        ...columns.map((c, k) => {
          const box = h(
            'div',
            {
              class: 'sanity-map-box',
              'data-testid': `sanity-map-${m.name}-${k}`,
              'data-rendered': 'false',
              role: 'cell',
              'aria-label': `${m.title}, ${c.label}`,
            },
            h('span', { class: 'muted' }, '…'),
          );
          const sim = h('div', { class: 'sanity-sim muted' });
          this.cells.set(`${m.name}|${k}`, { box, sim, drawn: '', result: null });
          return h('figure', { class: 'sanity-cell' }, box, sim);
        }),
      ]);
      this.grid.replaceChildren(h('div', { class: 'sanity-corner', role: 'columnheader' }, 'Method'), ...heads, ...rows);
    }
    const display = state.plan?.input.display ?? null;
    const kind = state.plan?.input.kind;
    const metric = state.plan?.thresholds.metric ?? 'spearmanAbs';
    const optionsKey = JSON.stringify(options) + divergingColormap;
    columns.forEach((c, k) => {
      const step = c.step ? state.steps[c.step.index] : undefined;
      state.methods.forEach((m, row) => {
        const cell = this.cells.get(`${m.name}|${k}`);
        if (!cell) return;
        const result =
          c.step === null
            ? (state.original?.results.find((r) => r.method === m.name) ?? state.original?.results[row] ?? null)
            : step
              ? (step.results.find((r) => r.method === m.name) ?? null)
              : null;
        if (c.step === null) cell.sim.textContent = state.original ? 'original' : '';
        else if (step) {
          const v = step.similarities[m.name]?.[metric];
          cell.sim.textContent = `${METRIC_LABELS[metric]} ${v === null || v === undefined ? 'n/a' : v.toFixed(2)}${step.draws ? ` · kept ${step.draws.kept}/${step.draws.drawn}` : ''}`;
        } else cell.sim.textContent = '';
        if (!result) {
          if (step && cell.result === null && cell.drawn !== 'none') {
            cell.drawn = 'none';
            cell.box.replaceChildren(h('span', { class: 'muted' }, step.draws ? 'no perturbed model kept its prediction' : 'no map'));
          } else if (!step && c.step !== null && !state.running && cell.drawn === '') {
            cell.box.replaceChildren(h('span', { class: 'muted' }, state.cancelled ? 'cancelled' : '—'));
          }
          return;
        }
        if (cell.result === result && cell.drawn === optionsKey) return;
        cell.result = result;
        cell.drawn = optionsKey;
        this.draw(cell.box, result, display, kind, options, divergingColormap, `${m.title}, ${c.label}`);
      });
    });
  }

  private draw(
    box: HTMLElement,
    result: MethodResult,
    display: NonNullable<SanityViewState['plan']>['input']['display'] | null,
    kind: string | undefined,
    options: DisplayOptions,
    divergingColormap: string,
    label: string,
  ): void {
    const attr = result.attribution;
    if (isSpatial(attr.shape) && kind !== 'tabular') {
      const img = renderOverlay(attr, display ?? null, options);
      const canvas = h('canvas', {
        class: 'sanity-map',
        role: 'img',
        'aria-label': `${label} attribution map`,
        width: img.width,
        height: img.height,
      });
      canvas.classList.toggle('pixelated', Math.max(img.width, img.height) < 128);
      canvas.getContext('2d')!.putImageData(imageData(img.rgba, img.width, img.height), 0, 0);
      box.replaceChildren(canvas);
    } else {
      const svg = renderBarChart(attr.data, undefined, {
        width: 160,
        maxBars: 10,
        positiveColor: colormapHex(divergingColormap as 'rdbu', 0.9),
        negativeColor: colormapHex(divergingColormap as 'rdbu', 0.1),
      });
      const bars = h('div', { class: 'bars-box', role: 'img', 'aria-label': `${label} signed attribution per feature` });
      bars.innerHTML = svg;
      box.replaceChildren(bars);
    }
    box.dataset.rendered = 'true';
    box.dataset.sign = options.sign;
    box.dataset.colormap = options.colormap;
  }

  private renderPlots(state: SanityViewState, themeKey: string): void {
    const arrived = state.steps.filter(Boolean).length;
    const key = `${state.sanityId}|${arrived}|${state.original ? 1 : 0}|${themeKey}`;
    if (key === this.plotsKey) return;
    this.plotsKey = key;
    for (const p of this.plots) p.destroy();
    this.plots = [];
    this.plotsBox.replaceChildren();
    const theme = plotTheme();
    const xLabel = xAxisLabel(state.check);
    for (const metric of METRICS) {
      const { x, series } = similaritySeries(state, metric);
      const figure = h(
        'figure',
        { class: 'plot sanity-plot', 'data-testid': `sanity-plot-${metric}`, 'data-rendered': 'false', 'data-points': String(x.length) },
        h('figcaption', {}, `${METRIC_LABELS[metric]} against ${xLabel}`),
      );
      this.plotsBox.append(figure);
      if (x.length < 2 && !state.original) continue;
      const lines = metricLines(state, metric, x, series, theme);
      const plot = new uPlot(
        similarityPlotOptions(state.check, metric, xLabel, lines, x.length, theme),
        [x, ...lines.map((l) => l.values)] as uPlot.AlignedData,
        figure,
      );
      plot.root.setAttribute('role', 'img');
      plot.root.setAttribute('aria-label', `${METRIC_LABELS[metric]} of each method's map to the original, against ${xLabel}`);
      figure.dataset.rendered = 'true';
      this.plots.push(plot);
    }
  }

  private renderVerdicts(state: SanityViewState): void {
    if (this.verdictsFor === state.verdicts && this.verdictsBox.childElementCount > 0) return;
    this.verdictsFor = state.verdicts;
    if (!state.verdicts) {
      this.verdictsBox.replaceChildren(
        h(
          'p',
          { class: 'muted' },
          state.running ? 'The verdicts follow when every step is computed.' : 'No verdicts (the check did not finish).',
        ),
      );
      return;
    }
    this.verdictsBox.replaceChildren(
      h(
        'ul',
        { class: 'verdicts' },
        ...state.verdicts.map((v) => {
          const title = state.methods.find((m) => m.name === v.method)?.title ?? v.method;
          return h(
            'li',
            { class: `verdict verdict-${v.status}`, 'data-testid': `sanity-verdict-${v.method}`, 'data-status': v.status },
            h('strong', {}, `${title}: `),
            h(
              'span',
              {
                class: `badge badge-${v.status === 'pass' ? 'ok' : v.status === 'fail' ? 'bad' : 'warn'}`,
                title: v.status,
                'aria-label': v.status,
              },
              v.status === 'pass' ? '✓' : v.status === 'fail' ? '✗' : '?',
            ),
            ' ',
            v.reason,
          );
        }),
      ),
      h(
        'p',
        { class: 'muted' },
        `Verdicts on ${METRIC_LABELS[state.plan?.thresholds.metric ?? 'spearmanAbs']}; thresholds: changed below ${state.plan?.thresholds.randomization ?? 0.5}, stable at or above ${state.plan?.thresholds.stability ?? 0.8}.`,
      ),
    );
  }

  destroy(): void {
    for (const p of this.plots) p.destroy();
    this.plots = [];
  }
}

interface PlotLine {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: number[];
}

type Theme = ReturnType<typeof plotTheme>;

/** One line per method, plus the verdict threshold on the verdict's metric. */
function metricLines(
  state: SanityViewState,
  metric: MetricName,
  x: number[],
  series: ReturnType<typeof similaritySeries>['series'],
  theme: Theme,
): PlotLine[] {
  const lines: PlotLine[] = series.map((s, i) => ({
    label: state.methods.find((m) => m.name === s.method)?.title ?? s.method,
    values: s.values,
    color: theme.series[i % theme.series.length]!,
  }));
  const thresholds = state.plan?.thresholds;
  if (thresholds && metric === thresholds.metric) {
    const threshold = state.check === 'perturbation' ? thresholds.stability : thresholds.randomization;
    lines.push({
      label: state.check === 'perturbation' ? 'stability threshold' : 'changed below',
      values: x.map(() => threshold),
      color: theme.reference,
      dash: [6, 4],
    });
  }
  return lines;
}

function similarityPlotOptions(
  check: SanityViewState['check'],
  metric: MetricName,
  xLabel: string,
  lines: PlotLine[],
  points: number,
  theme: Theme,
): uPlot.Options {
  const common = axisStyle(theme);
  return {
    width: 300,
    height: 150,
    pxAlign: 0,
    cursor: { drag: { x: false, y: false } },
    legend: { show: true, live: true },
    scales: { x: { time: false }, y: { range: (_u, min, max) => [Math.min(-0.1, min ?? 0), Math.max(1.05, max ?? 1)] } },
    axes: [
      { ...common, label: xLabel, labelSize: 16, size: 30 },
      {
        ...common,
        label: METRIC_LABELS[metric],
        labelSize: 16,
        size: 46,
        values: (_u: uPlot, splits: number[]) => splits.map((v) => formatNumber(v)),
      },
    ],
    series: [
      { label: check === 'perturbation' ? 'σ %' : 'layer', value: (_u, v) => (v == null ? '–' : formatNumber(v)) },
      ...lines.map((l) => ({
        label: l.label,
        stroke: l.color,
        width: 1.5,
        dash: l.dash,
        spanGaps: true,
        points: { show: points <= 40 },
        value: (_u: uPlot, v: number | null) => (v == null ? '–' : v.toFixed(3)),
      })),
    ],
  };
}
