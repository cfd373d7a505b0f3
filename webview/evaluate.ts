/**
 * The "Evaluate" view: scores the comparison's maps by perturbation curves (../shared/EVALUATION.md):
 * one uPlot chart per metric with a line per method in the grid's colours (random: grey, dashed), a
 * leaderboard per metric (mean with its bootstrap 95 % interval, rank, the selected input's score),
 * and the perturbed input behind a clicked curve point.
 *
 * Test hooks: `evaluate-view`, `evaluate-run`, `evaluate-status`, `evaluate-plot-<metric>` (with
 * `data-series`, `data-y-min`, `data-y-max`, `data-steps` once drawn), `leaderboard-<metric>` (rows with
 * `data-method`, `data-rank`), `evaluate-perturbed` (`data-rendered="true"`), `evaluate-perturbed-caption`.
 */
import uPlot from 'uplot';
import { METRIC_NAMES, METRIC_SCORE, methodColor, RANDOM_METHOD, type MetricName } from '../src/shared/evaluate';
import type { EvaluateStepRequest, EvaluateViewSettings } from '../src/shared/protocol';
import type { RgbaImageData } from '../src/shared/render';
import { formatNumber } from '../src/shared/render';
import { button, checkbox, numberField, select } from './controls';
import { basename } from './display';
import { h, imageData } from './dom';
import { axisStyle, plotTheme } from './plots';
import { curveSeries, inputScore, leaderboard, nearestSeries, type EvaluateViewState, type EvaluationRun } from './evaluateState';
import { perturbedCaption, stepTable } from './evaluateStep';

export interface EvaluateHost {
  evaluate(settings: EvaluateViewSettings): void;
  cancel(): void;
  change(change: Partial<Pick<EvaluateViewState, 'settings' | 'selection'>>): void;
  inspect(request: EvaluateStepRequest): void;
}

/** What the view needs of the panel beyond its own state. */
export interface EvaluateContext {
  /** A finished comparison exists (the button is enabled). */
  ready: boolean;
  /** The model takes images (patches are offered). */
  images: boolean;
  display(inputIndex: number): RgbaImageData | null;
  themeKey: string;
}

const METRIC_TITLES: Record<MetricName, string> = {
  deletion: 'Deletion (remove most important first)',
  insertion: 'Insertion (add most important first)',
  morf: 'MoRF (most relevant first)',
  lerf: 'LeRF (least relevant first)',
};

const PATCHES = [null, 2, 4, 8, 16, 32] as const;

export class EvaluateView {
  readonly root: HTMLElement;
  private settings: EvaluateViewSettings | null = null;
  private readonly metricBoxes = METRIC_NAMES.map((metric) =>
    checkbox(metric, true, () => this.formChanged(), { 'data-testid': `evaluate-metric-${metric}` }),
  );
  private readonly stepsField = numberField('Steps N', 20, { min: 1, max: 1000, step: 1 }, () => this.formChanged(), {
    'data-testid': 'evaluate-steps',
  });
  private readonly patchSelect = select(
    'Features',
    PATCHES.map((p) => ({ value: String(p ?? ''), label: p ? `${p}×${p} patches` : 'pixels' })),
    '',
    () => this.formChanged(),
    { 'data-testid': 'evaluate-patch' },
  );
  private readonly bootstrapField = numberField('Bootstrap B', 1000, { min: 1, max: 100_000, step: 1 }, () => this.formChanged(), {
    'data-testid': 'evaluate-bootstrap',
  });
  private readonly runButton = button('Evaluate', () => this.settings && this.host.evaluate(this.settings), {
    'data-testid': 'evaluate-run',
  });
  private readonly cancelButton = button('Cancel', () => this.host.cancel(), { secondary: true, 'data-testid': 'evaluate-cancel' });
  private readonly status = h('p', { class: 'muted', role: 'status', 'data-testid': 'evaluate-status', 'aria-live': 'polite' });
  private readonly selectionBox = h('div', { class: 'evaluate-selection' });
  private readonly metricsBox = h('div', { class: 'evaluate-metrics' });
  private readonly stepBox = h('div', { class: 'evaluate-step', 'data-testid': 'evaluate-step', 'aria-live': 'polite' });
  private selectionSelect: ReturnType<typeof select> | null = null;
  private selectionKey = '';
  private drawnKey = '';
  private plots: uPlot[] = [];
  private shownStep: unknown = null;
  private state: EvaluateViewState | null = null;

  constructor(private readonly host: EvaluateHost) {
    this.root = h(
      'section',
      { class: 'evaluate', 'aria-label': 'Evaluate', 'data-testid': 'evaluate-view' },
      h('h2', {}, 'Evaluate: which map is faithful?'),
      h(
        'p',
        { class: 'muted' },
        'Perturbation curves of the maps above: remove (deletion, MoRF, LeRF) or add (insertion) features in the order a map ranks them, replacing by the baseline, and follow the explained output. The grey dashed random ranking shows what "no better than chance" looks like. Click a curve point to see the input the model got at that step.',
      ),
      h(
        'div',
        { class: 'evaluate-controls' },
        ...this.metricBoxes.map((b) => b.root),
        this.stepsField.root,
        this.patchSelect.root,
        this.bootstrapField.root,
        this.runButton,
        this.cancelButton,
      ),
      this.status,
      this.selectionBox,
      this.metricsBox,
      this.stepBox,
    );
    this.root.hidden = true;
  }

  private formChanged(): void {
    const metrics = METRIC_NAMES.filter((_, i) => this.metricBoxes[i]!.el.checked);
    const evalSteps = Number(this.stepsField.el.value);
    const bootstrap = Number(this.bootstrapField.el.value);
    const patch = this.patchSelect.el.value === '' ? null : Number(this.patchSelect.el.value);
    const current = this.state?.settings;
    if (!current) return;
    this.host.change({
      settings: {
        metrics: metrics.length > 0 ? metrics : current.metrics,
        evalSteps: Number.isInteger(evalSteps) && evalSteps >= 1 ? evalSteps : current.evalSteps,
        patch,
        bootstrap: Number.isInteger(bootstrap) && bootstrap >= 1 ? bootstrap : current.bootstrap,
      },
    });
  }

  update(state: EvaluateViewState, context: EvaluateContext): void {
    this.state = state;
    this.root.hidden = !context.ready && state.run === null;
    if (this.root.hidden) return;
    this.settings = { ...state.settings, patch: context.images ? state.settings.patch : null };
    this.reflectForm(this.settings, context.images);
    const run = state.run;
    const running = run?.running ?? false;
    (this.runButton as HTMLElement & { disabled: boolean }).disabled = !context.ready || running;
    this.cancelButton.hidden = !running;
    const stale = state.stale ? ' The maps changed since (another target or parameters): press Evaluate again.' : '';
    this.status.textContent = statusText(run, context.ready) + stale;
    this.status.dataset.state = !run ? 'idle' : running ? 'running' : run.error ? 'failed' : run.cancelled ? 'cancelled' : 'done';
    this.renderSelection(state);
    this.renderMetrics(state, context.themeKey);
    if (state.step !== this.shownStep) this.renderStep(state, context);
  }

  private reflectForm(settings: EvaluateViewSettings, images: boolean): void {
    METRIC_NAMES.forEach((m, i) => {
      const box = this.metricBoxes[i]!.el;
      if (box.checked !== settings.metrics.includes(m)) box.checked = settings.metrics.includes(m);
    });
    if (Number(this.stepsField.el.value) !== settings.evalSteps) this.stepsField.el.value = String(settings.evalSteps);
    if (Number(this.bootstrapField.el.value) !== settings.bootstrap) this.bootstrapField.el.value = String(settings.bootstrap);
    this.patchSelect.setValue(String(settings.patch ?? ''));
    this.patchSelect.root.hidden = !images;
  }

  private renderSelection(state: EvaluateViewState): void {
    const run = state.run;
    const key = run ? `${run.evaluateId}|${run.inputs.length}` : '';
    if (key !== this.selectionKey) {
      this.selectionKey = key;
      if (!run || run.inputs.length === 0) {
        this.selectionSelect = null;
        this.selectionBox.replaceChildren();
      } else {
        const options = [
          ...(run.inputs.length > 1 ? [{ value: 'mean', label: `Mean over the ${run.inputs.length} inputs` }] : []),
          ...run.inputs.map((i) => ({ value: String(i.index), label: `Input ${i.index + 1}: ${basename(i.path)}` })),
        ];
        this.selectionSelect = select(
          'Curves of',
          options,
          String(state.selection),
          (v) => this.host.change({ selection: v === 'mean' ? 'mean' : Number(v) }),
          { 'data-testid': 'evaluate-selection' },
        );
        this.selectionBox.replaceChildren(this.selectionSelect.root);
      }
    }
    this.selectionSelect?.setValue(String(state.selection));
  }

  private renderMetrics(state: EvaluateViewState, themeKey: string): void {
    const run = state.run;
    const evaluated = run ? Object.keys(run.evaluated).length : 0;
    const key = run ? `${run.evaluateId}|${evaluated}|${run.summary ? 'summary' : ''}|${state.selection}|${themeKey}` : '';
    if (key === this.drawnKey) return;
    this.drawnKey = key;
    for (const p of this.plots) p.destroy();
    this.plots = [];
    this.metricsBox.replaceChildren();
    if (!run) return;
    for (const metric of run.settings.metrics) {
      const section = h('section', { class: 'evaluate-metric', 'aria-label': METRIC_TITLES[metric] }, h('h3', {}, METRIC_TITLES[metric]));
      this.metricsBox.append(section);
      const plot = this.plot(section, run, metric, state.selection);
      if (plot) this.plots.push(plot);
      section.append(leaderboardTable(run, metric, state.selection));
    }
  }

  private plot(container: HTMLElement, run: EvaluationRun, metric: MetricName, selection: number | 'mean'): uPlot | null {
    const curves = curveSeries(run, metric, selection);
    if (!curves) return null;
    const theme = plotTheme();
    const figure = h('figure', { class: 'plot', 'data-testid': `evaluate-plot-${metric}` });
    const what = selection === 'mean' ? `mean F over ${curves.n} inputs` : 'F of this input';
    figure.append(
      h('figcaption', {}, `${metric}: ${what} against the fraction of features ${metric === 'insertion' ? 'inserted' : 'removed'}`),
    );
    container.append(figure);
    const axis = axisStyle(theme);
    const plot = new uPlot(
      {
        width: 460,
        height: 220,
        pxAlign: 0,
        cursor: { drag: { x: false, y: false } },
        legend: { show: true, live: true },
        scales: { x: { time: false } },
        axes: [
          { ...axis, label: 'fraction of features', labelSize: 16, size: 30 },
          { ...axis, label: 'F', labelSize: 16, size: 52, values: (_u, splits) => splits.map((s) => formatNumber(s)) },
        ],
        series: [
          { label: 'fraction', value: (_u, v) => (v == null ? '–' : formatNumber(v)) },
          ...curves.series.map((s) => ({
            label: s.method,
            stroke: methodColor(s.method, run.methods),
            width: s.method === RANDOM_METHOD ? 1.5 : 2,
            dash: s.method === RANDOM_METHOD ? [6, 4] : undefined,
            points: { show: curves.x.length <= 41 },
            value: (_u: uPlot, v: number | null) => (v == null ? '–' : formatNumber(v)),
          })),
        ],
        hooks: {
          draw: [
            (u) => {
              figure.dataset.yMin = String(u.scales.y!.min);
              figure.dataset.yMax = String(u.scales.y!.max);
            },
          ],
        },
      },
      [curves.x, ...curves.series.map((s) => s.values)] as uPlot.AlignedData,
      figure,
    );
    figure.dataset.series = curves.series.map((s) => s.method).join(',');
    figure.dataset.steps = String(curves.x.length - 1);
    plot.root.setAttribute('role', 'img');
    plot.root.setAttribute('aria-label', `${metric} curves of ${curves.series.map((s) => s.method).join(', ')}`);
    plot.over.addEventListener('click', () => this.clicked(plot, curves, metric, selection));
    return plot;
  }

  private clicked(plot: uPlot, curves: ReturnType<typeof curveSeries> & object, metric: MetricName, selection: number | 'mean'): void {
    const k = plot.cursor.idx;
    const top = plot.cursor.top;
    if (k == null || top == null || top < 0) return;
    const method = nearestSeries(curves, k, plot.posToVal(top, 'y'));
    if (!method) return;
    if (selection === 'mean') {
      this.stepBox.replaceChildren(
        h('p', { class: 'muted' }, 'Pick one input under "Curves of" to see the perturbed inputs behind its curve points.'),
      );
      this.shownStep = null;
      return;
    }
    this.host.inspect({ inputIndex: selection, method, metric, step: k });
  }

  private renderStep(state: EvaluateViewState, context: EvaluateContext): void {
    this.shownStep = state.step;
    const step = state.step;
    const run = state.run;
    if (!step || !run) {
      this.stepBox.replaceChildren();
      return;
    }
    const { request } = step;
    const title = h('h3', {}, `Perturbed input: ${request.method}, ${request.metric}, step ${request.step} of ${run.settings.evalSteps}`);
    if (step.error) {
      this.stepBox.replaceChildren(title, h('p', { class: 'error', role: 'alert' }, step.error.message));
      return;
    }
    if (!step.result) {
      this.stepBox.replaceChildren(title, h('p', { class: 'muted' }, 'Computing the perturbed input…'));
      return;
    }
    const r = step.result;
    const value = run.evaluated[request.inputIndex]?.results.find((m) => m.method === request.method)?.metrics[request.metric]?.curve[
      request.step
    ]?.value;
    const caption = h('figcaption', { 'data-testid': 'evaluate-perturbed-caption' }, perturbedCaption(request, r, value));
    const parts: HTMLElement[] = [title];
    if (r.display) {
      const original = context.display(request.inputIndex);
      if (original)
        parts.push(h('figure', {}, canvasOf(original, 'evaluate-original'), h('figcaption', { class: 'muted' }, 'The input x')));
      parts.push(h('figure', {}, canvasOf(r.display, 'evaluate-perturbed'), caption));
    } else {
      parts.push(h('figure', {}, stepTable(r), caption));
    }
    this.stepBox.replaceChildren(...parts);
  }
}

function statusText(run: EvaluationRun | null, ready: boolean): string {
  if (!run) return ready ? 'Press Evaluate to score the maps of the comparison.' : 'The comparison is still being computed.';
  if (run.error) return `Evaluation failed: ${run.error.message}`;
  const done = Object.keys(run.evaluated).length;
  if (run.running) {
    const p = run.progress;
    return `Evaluating ${done} of ${run.inputs.length} inputs done…${p ? ` ${p.stage} ${p.done}/${p.total}` : ''}`;
  }
  if (run.cancelled) return `Cancelled: ${done} of ${run.inputs.length} inputs were evaluated (no leaderboard).`;
  const failed = Object.values(run.evaluated).filter((i) => i.error);
  return `Done: ${done - failed.length} of ${run.inputs.length} inputs scored${failed.length ? `; failed: ${failed.map((f) => `${basename(f.path)} (${f.error})`).join('; ')}` : ''}.`;
}

function leaderboardTable(run: EvaluationRun, metric: MetricName, selection: number | 'mean'): HTMLElement {
  const rows = leaderboard(run, metric);
  const { score, better } = METRIC_SCORE[metric];
  if (rows.length === 0) return h('p', { class: 'muted' }, run.running ? 'The leaderboard follows once every input is evaluated.' : '');
  const perInput = selection !== 'mean';
  const head = ['Rank', 'Method', `Mean ${score.toUpperCase()}`, '95 % CI (bootstrap)', ...(perInput ? [`This input`] : [])];
  const body = rows.map((r) => {
    const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.background = methodColor(r.method, run.methods);
    if (r.method === RANDOM_METHOD) swatch.classList.add('swatch-reference');
    const ci = r.n > 1 ? `[${formatNumber(r.ci95[0])}, ${formatNumber(r.ci95[1])}]` : 'n = 1: no interval';
    const own = perInput ? inputScore(run, selection, r.method, metric) : null;
    return h(
      'tr',
      { 'data-method': r.method, 'data-rank': r.rank },
      h('td', { class: 'num' }, String(r.rank)),
      h('th', { scope: 'row' }, swatch, r.method),
      h('td', { class: 'num' }, formatNumber(r.mean)),
      h('td', { class: 'num' }, ci),
      ...(perInput ? [h('td', { class: 'num' }, own === null ? 'n/a' : formatNumber(own))] : []),
    );
  });
  return h(
    'table',
    { class: 'leaderboard', 'data-testid': `leaderboard-${metric}` },
    h('caption', { class: 'muted' }, `${score.toUpperCase()}, ${better} is better; mean over ${rows[0]!.n} inputs`),
    h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...body),
  );
}

function canvasOf(img: RgbaImageData, testId: string): HTMLCanvasElement {
  const canvas = h('canvas', { class: 'map pixelated', role: 'img', 'data-testid': testId, 'data-rendered': 'true' });
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')!.putImageData(imageData(img.rgba, img.width, img.height), 0, 0);
  return canvas;
}
