/**
 * The PathLens panel: fills in as host messages arrive, talks back with postMessage, keeps its
 * state with setState/getState (so it survives hiding and reloads without retainContextWhenHidden).
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { formatNumber } from '../src/shared/render';
import type { MethodResult } from '../src/shared/types';
import type { InputStarted, WebviewToHost, WireError } from '../src/shared/protocol';
import { MapCell, type CellHost } from './cell';
import { button, checkbox, DisplayControls, select } from './controls';
import { basename, formatPercent, updateDisplay, type DisplayOptions } from './display';
import { h, imageData } from './dom';
import { gini } from './gini';
import {
  applyHostMessage,
  decodeState,
  displayFor,
  encodeState,
  initialState,
  isHostMessage,
  mapKey,
  type PanelState,
  type ParamValue,
} from './state';
import { vscodeApi } from './vscode';
import { SanityView } from './sanity';
import { NeuronsView } from './neurons';
import { applyNeuronsMessage, initialNeuronsState, isNeuronsMessage, rankingRequest, type NeuronsViewState } from './neuronsState';
import type { Region } from '../src/shared/neurons';
import { applySanityMessage, isSanityMessage, type SanityViewState } from './sanityState';
import { EvaluateView } from './evaluate';
import {
  applyEvaluateMessage,
  initialEvaluateState,
  isEvaluateMessage,
  mapChanged,
  requestStep,
  type EvaluateViewState,
} from './evaluateState';
import { methodColor } from '../src/shared/evaluate';

const api = vscodeApi();
const post = (message: WebviewToHost) => api.postMessage(message);

class InputRow {
  readonly head: HTMLElement;
  private readonly info: HTMLElement;
  private readonly thumb: HTMLCanvasElement;
  private readonly predictions: HTMLElement;
  private readonly targetBox: HTMLElement;
  private readonly errorBox: HTMLElement;
  private shown: InputStarted | null = null;
  private targetSelect: ReturnType<typeof select> | null = null;
  private classCount = 0;

  constructor(
    private readonly index: number,
    private readonly app: App,
  ) {
    this.thumb = h('canvas', { class: 'thumb', role: 'img', 'aria-label': `input ${index + 1}` });
    this.thumb.hidden = true;
    this.info = h('div', { class: 'input-info' }, h('p', { class: 'muted' }, `Input ${index + 1}: waiting…`));
    this.predictions = h('div', { class: 'predictions' });
    this.targetBox = h('div', { class: 'target' });
    this.errorBox = h('div', { class: 'input-error' });
    this.head = h(
      'section',
      { class: 'input-head', 'aria-label': `Input ${index + 1}` },
      this.thumb,
      this.info,
      this.predictions,
      this.targetBox,
      this.errorBox,
    );
  }

  update(state: PanelState): void {
    const input = state.inputs[this.index] ?? null;
    const error = state.inputErrors[this.index];
    this.errorBox.replaceChildren(...(error ? [errorBanner(error, `Input ${this.index + 1}`)] : []));
    if (input === this.shown) return;
    this.shown = input;
    if (!input) return;
    this.info.replaceChildren(
      h('h2', { class: 'input-name', title: input.path }, basename(input.path)),
      h('p', { class: 'muted' }, `${input.kind}, shape [${input.shape.join(', ')}]`),
    );
    if (input.display) {
      const d = input.display;
      this.thumb.width = d.width;
      this.thumb.height = d.height;
      this.thumb.classList.toggle('pixelated', Math.max(d.width, d.height) < 128);
      this.thumb.getContext('2d')!.putImageData(imageData(d.rgba, d.width, d.height), 0, 0);
      this.thumb.setAttribute('aria-label', `input image ${basename(input.path)}`);
      this.thumb.hidden = false;
    } else {
      this.thumb.hidden = true;
    }
    const p = input.prediction;
    const name = (e: { index: number; label?: string }) => (e.label ? `${e.label} (class ${e.index})` : `class ${e.index}`);
    const top = h(
      'p',
      { class: 'prediction', 'data-testid': `prediction-${this.index}`, 'data-index': p.index, 'data-score': p.score },
      'Prediction: ',
      h('strong', {}, name(p)),
      ` — ${formatNumber(p.score)}`,
    );
    const list = h(
      'ol',
      { class: 'top5', 'aria-label': 'Top-5 predictions' },
      ...p.top
        .slice(0, 5)
        .map((e) =>
          h(
            'li',
            {},
            h('span', { class: 'top-label' }, name(e)),
            h('span', { class: 'top-score' }, formatNumber(e.score)),
            h('meter', { min: 0, max: 1, value: Math.max(0, Math.min(1, e.score)), 'aria-hidden': 'true' }),
          ),
        ),
    );
    this.predictions.replaceChildren(
      top,
      list,
      h('p', { class: 'muted' }, `Explaining ${name(input.target)} (${input.target.output} ${formatNumber(input.target.score)})`),
    );
    this.updateTarget(state, input);
  }

  private updateTarget(state: PanelState, input: InputStarted): void {
    const outputs = state.model?.outputs[0]?.shape;
    const count = Math.max(
      typeof outputs?.[outputs.length - 1] === 'number' ? (outputs[outputs.length - 1] as number) : 0,
      ...input.prediction.top.map((t) => t.index + 1),
      input.target.index + 1,
    );
    const labels = state.model?.labels;
    const options = Array.from({ length: count }, (_, i) => ({
      value: String(i),
      label: labels?.[i] ? `${i}: ${labels[i]}` : `class ${i}`,
    }));
    if (!this.targetSelect || this.classCount !== count) {
      this.classCount = count;
      this.targetSelect = select('Target class', options, String(input.target.index), (v) => this.app.setTarget(this.index, Number(v)), {
        'data-testid': `target-${this.index}`,
      });
      if (count > 20) this.targetSelect.el.setAttribute('combobox', ''); // type to filter long class lists
      this.targetBox.replaceChildren(this.targetSelect.root);
    } else {
      this.targetSelect.setValue(String(input.target.index));
    }
  }
}

function errorBanner(error: WireError, scope: string): HTMLElement {
  return h(
    'div',
    { class: 'error', role: 'alert', 'data-testid': 'error', 'data-code': error.code },
    h('strong', {}, `${scope}: `),
    error.message,
  );
}

class App implements CellHost {
  private state: PanelState;
  private readonly root: HTMLElement;
  private readonly header = h('header', { class: 'run-header' });
  private readonly statusBox = h('section', { class: 'status', 'aria-label': 'Progress' });
  private readonly errors = h('div', { class: 'errors' });
  private readonly controlsBox = h('section', { class: 'controls', 'aria-label': 'Display controls for all maps' });
  private readonly grid = h('section', { class: 'grid', 'aria-label': 'Comparison grid: rows are inputs, columns are methods' });
  private readonly table = h('section', { class: 'comparison', 'aria-label': 'Comparison table' });
  private readonly placeholder = h('p', { class: 'placeholder' }, 'Waiting for PathLens to start a run…');
  private readonly progressBar = h('vscode-progress-bar', { 'aria-label': 'Progress', indeterminate: true }) as HTMLElement & {
    value?: number;
    max: number;
    indeterminate: boolean;
  };
  private readonly progressText = h('span', { class: 'progress-text' });
  private readonly cancelButton = button('Cancel', () => this.cancel(), { 'data-testid': 'cancel', secondary: true });
  private readonly progressBox = h(
    'div',
    { class: 'progress', 'data-testid': 'progress', role: 'status' },
    this.progressBar,
    h('div', { class: 'progress-row' }, this.progressText, this.cancelButton),
  );
  private readonly runNote = h('p', { class: 'run-note muted', 'aria-live': 'polite' });
  private sharedControls: DisplayControls | null = null;
  private linkBox: ReturnType<typeof checkbox> | null = null;
  private rows = new Map<number, InputRow>();
  private cells = new Map<string, MapCell>();
  private gridShape = '';
  private renderQueued = false;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private themeKey = document.body.className;
  private giniCache = new WeakMap<MethodResult, number>();
  private sanityState: SanityViewState | null = null;
  private readonly sanityView = new SanityView(() => post({ type: 'cancel' }));
  private neuronsState: NeuronsViewState = initialNeuronsState();
  private readonly neuronsView = new NeuronsView({
    request: (request) => post({ type: 'neurons', ...request }),
    cancel: () => post({ type: 'cancel' }),
    choose: (change) => {
      this.neuronsState = { ...this.neuronsState, ...change };
      this.queueRender();
    },
  });

  private evaluateState: EvaluateViewState = initialEvaluateState();
  private readonly evaluateView = new EvaluateView({
    evaluate: (settings) => post({ type: 'evaluate', ...settings }),
    cancel: () => post({ type: 'cancel' }),
    change: (change) => {
      this.evaluateState = { ...this.evaluateState, ...change };
      this.queueRender();
    },
    inspect: (request) => {
      this.evaluateState = requestStep(this.evaluateState, request);
      post({ type: 'evaluate-step', ...request });
      this.queueRender();
    },
  });

  constructor(root: HTMLElement) {
    this.root = root;
    this.state = decodeState(api.getState()) ?? initialState();
    this.statusBox.append(this.progressBox, this.runNote);
    root.replaceChildren(
      this.header,
      this.statusBox,
      this.errors,
      this.placeholder,
      this.sanityView.root,
      this.controlsBox,
      this.grid,
      this.table,
      this.evaluateView.root,
      this.neuronsView.root,
    );
    window.addEventListener('message', (e) => this.onMessage(e.data));
    new MutationObserver(() => {
      if (document.body.className !== this.themeKey) {
        this.themeKey = document.body.className;
        this.render();
      }
    }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    this.render();
    root.setAttribute('aria-busy', 'false');
    post({ type: 'ready' });
  }

  // --- messages -------------------------------------------------------------------------------

  private onMessage(data: unknown): void {
    if (isNeuronsMessage(data)) {
      this.neuronsState = applyNeuronsMessage(this.neuronsState, data);
      this.queueRender();
      return;
    }
    if (isEvaluateMessage(data)) {
      this.evaluateState = applyEvaluateMessage(this.evaluateState, data);
      this.queueRender();
      return;
    }
    if (isSanityMessage(data)) {
      try {
        const fresh = data.type === 'sanity-start';
        this.sanityState = applySanityMessage(this.sanityState, data);
        this.queueRender();
        if (fresh) setTimeout(() => this.sanityView.root.scrollIntoView({ block: 'start' }), 0);
      } catch (err) {
        this.fail(err);
      }
      return;
    }
    if (!isHostMessage(data)) return;
    // A new run brings new maps: the evaluation of the old ones is cleared (its settings stay).
    if (data.type === 'run' && data.runId !== this.state.runId)
      this.evaluateState = { ...initialEvaluateState(), settings: this.evaluateState.settings };
    else if (data.type === 'result') this.evaluateState = mapChanged(this.evaluateState);
    try {
      this.setState(applyHostMessage(this.state, data));
    } catch (err) {
      this.fail(err);
    }
  }

  fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.state = { ...this.state, runError: { code: 'internal' as WireError['code'], message: `The panel hit an error: ${message}` } };
    post({ type: 'log', level: 'error', message: `webview: ${err instanceof Error ? (err.stack ?? message) : message}`.slice(0, 10_000) });
    this.render();
  }

  private setState(next: PanelState): void {
    this.state = next;
    this.queueRender();
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => api.setState(encodeState(this.state)), 100);
  }

  private queueRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    setTimeout(() => {
      this.renderQueued = false;
      try {
        this.render();
      } catch (err) {
        this.fail(err);
      }
    }, 0);
  }

  // --- actions (CellHost) ---------------------------------------------------------------------

  regionSelected(inputIndex: number, region: Region): void {
    this.neuronsState = { ...this.neuronsState, inputIndex, region, method: 'conductance' };
    const request = rankingRequest(this.neuronsState);
    if (request) post({ type: 'neurons', ...request });
    this.queueRender();
    setTimeout(() => this.neuronsView.root.scrollIntoView({ block: 'nearest' }), 0);
  }

  setTarget(inputIndex: number, target: number): void {
    const input = this.state.inputs[inputIndex];
    if (!input || input.target.index === target) return;
    const pending = { ...this.state.pending };
    for (const m of this.state.methods) pending[mapKey(inputIndex, m.name)] = true;
    this.setState({ ...this.state, pending, running: true });
    post({ type: 'setTarget', inputIndex, target });
  }

  private cancel(): void {
    this.runNote.textContent = 'Cancelling…';
    post({ type: 'cancel' });
  }

  displayChanged(key: string | null, change: Partial<DisplayOptions>): void {
    const ui = this.state.ui;
    if (key === null || ui.linked) {
      // The shared controls (or any map while linked) apply to every map.
      const shared = updateDisplay(ui.shared, change, this.state.colormaps);
      this.setState({ ...this.state, ui: { ...ui, shared, perMap: {} } });
    } else {
      const perMap = { ...ui.perMap, [key]: updateDisplay(ui.perMap[key] ?? ui.shared, change, this.state.colormaps) };
      this.setState({ ...this.state, ui: { ...ui, perMap } });
    }
  }

  paramChanged(key: string, name: string, value: ParamValue): void {
    const [inputText, method] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    const inputIndex = Number(inputText);
    const info = this.state.methods.find((m) => m.name === method);
    if (!info) return;
    const result = this.state.results[key];
    const edited = { ...(this.state.ui.params[key] ?? {}), [name]: value };
    const params: Record<string, ParamValue> = {};
    for (const spec of info.parameters) {
      const fromResult = result?.params[spec.name];
      params[spec.name] =
        edited[spec.name] ??
        (typeof fromResult === 'string' || typeof fromResult === 'number' || typeof fromResult === 'boolean' ? fromResult : spec.default);
    }
    this.setState({
      ...this.state,
      pending: { ...this.state.pending, [key]: true },
      ui: { ...this.state.ui, params: { ...this.state.ui.params, [key]: edited } },
    });
    post({ type: 'recompute', inputIndex, method, params });
  }

  exportPng(fileName: string, dataUrl: string): void {
    post({ type: 'export', format: 'png', fileName, dataUrl });
  }

  sectionToggled(id: string, open: boolean): void {
    this.setState({ ...this.state, ui: { ...this.state.ui, open: { ...this.state.ui.open, [id]: open } } });
  }

  isOpen(id: string, fallback: boolean): boolean {
    return this.state.ui.open[id] ?? fallback;
  }

  // --- rendering ------------------------------------------------------------------------------

  render(): void {
    const s = this.state;
    this.renderHeader(s);
    this.renderStatus(s);
    this.errors.replaceChildren(...(s.runError ? [errorBanner(s.runError, 'Run failed')] : []));
    const started = s.model !== null;
    this.placeholder.hidden = started || s.runError !== null || this.sanityState !== null;
    this.sanityView.update(this.sanityState, s.ui.shared, s.colormaps.divergingColormap, this.themeKey);
    this.neuronsView.update(this.neuronsState, (i) => s.inputs[i]?.display ?? null);
    this.controlsBox.hidden = !started;
    this.renderControls(s);
    this.renderGrid(s);
    this.renderTable(s);
    this.evaluateView.update(this.evaluateState, {
      ready: started && !s.running && Object.keys(s.results).length > 0,
      images: s.inputs.some((i) => i?.shape.length === 3),
      display: (i) => s.inputs[i]?.display ?? null,
      themeKey: this.themeKey,
    });
  }

  private headerFor: unknown = null;

  private renderHeader(s: PanelState): void {
    const key = [s.model, s.backend, s.preprocessing];
    if (this.headerFor && (this.headerFor as unknown[]).every((v, i) => v === key[i])) return;
    this.headerFor = key;
    if (!s.model) {
      this.header.replaceChildren(h('h1', {}, 'PathLens'));
      return;
    }
    const m = s.model;
    const pre = s.preprocessing;
    const item = (term: string, value: string, title?: string) => [h('dt', {}, term), h('dd', { title }, value)];
    this.header.replaceChildren(
      h('h1', {}, `PathLens — ${basename(m.path)}`),
      h(
        'dl',
        { class: 'facts' },
        ...item('Model', m.path, m.path),
        ...item(
          'Format',
          `${m.format}${m.source ? ` from ${m.source}` : ''}, ${m.layers.length} layers, ${m.totalParams.toLocaleString('en-US')} parameters${m.finalActivation ? `, final ${m.finalActivation}` : ''}`,
        ),
        ...item('Backend', s.backend ?? 'unknown'),
        ...item(
          'Preprocessing',
          pre
            ? `${pre.name} (${pre.source}) — mean [${pre.mean.map((v) => formatNumber(v)).join(', ')}], std [${pre.std.map((v) => formatNumber(v)).join(', ')}]${pre.reason ? ` — ${pre.reason}` : ''}`
            : 'none (inputs used as given)',
        ),
        ...item('Labels', m.labels ? `${m.labels.length}${m.labelsSource ? ` from ${m.labelsSource}` : ''}` : 'none (class indices shown)'),
      ),
      h(
        'div',
        { class: 'actions', role: 'toolbar', 'aria-label': 'Export' },
        button('Export results JSON', () => post({ type: 'export', format: 'json' }), { secondary: true, 'data-testid': 'export-json' }),
        button('Export HTML report', () => post({ type: 'export', format: 'html' }), { secondary: true, 'data-testid': 'export-html' }),
      ),
    );
  }

  private renderStatus(s: PanelState): void {
    this.progressBox.hidden = !s.running;
    const p = s.progress;
    if (p && p.total > 0) {
      this.progressBar.indeterminate = false;
      this.progressBar.max = p.total;
      this.progressBar.value = p.done;
      this.progressText.textContent = `${p.stage}: ${p.done} / ${p.total}`;
    } else {
      this.progressBar.indeterminate = true;
      this.progressText.textContent = p ? p.stage : 'Working…';
    }
    this.progressBar.setAttribute('aria-valuetext', this.progressText.textContent ?? '');
    const done = Object.keys(s.results).length;
    const total = s.inputCount * s.methods.length;
    if (s.running) this.runNote.textContent = this.runNote.textContent === 'Cancelling…' ? 'Cancelling…' : '';
    else if (s.cancelled) this.runNote.textContent = `Cancelled: ${done} of ${total} maps were computed.`;
    else if (s.model && !s.runError) this.runNote.textContent = `Done: ${done} of ${total} maps.`;
    else this.runNote.textContent = '';
  }

  private renderControls(s: PanelState): void {
    if (!this.sharedControls) {
      this.sharedControls = new DisplayControls(s.ui.shared, (change) => this.displayChanged(null, change), 'display-all');
      this.linkBox = checkbox(
        'Link all maps (per-map display controls change every map)',
        s.ui.linked,
        (linked) => this.setState({ ...this.state, ui: { ...this.state.ui, linked } }),
        { 'data-testid': 'link-all' },
      );
      this.controlsBox.replaceChildren(h('h2', {}, 'Display (all maps)'), this.sharedControls.root, this.linkBox.root);
    }
    this.sharedControls.update(s.ui.shared);
    if (this.linkBox && this.linkBox.el.checked !== s.ui.linked) this.linkBox.el.checked = s.ui.linked;
  }

  private renderGrid(s: PanelState): void {
    const shape = `${s.runId}|${s.inputCount}|${s.methods.map((m) => m.name).join(',')}`;
    if (shape !== this.gridShape) {
      this.gridShape = shape;
      for (const cell of this.cells.values()) cell.destroy();
      this.cells.clear();
      this.rows.clear();
      this.grid.replaceChildren();
      if (s.model) {
        this.grid.style.setProperty('--methods', String(Math.max(1, s.methods.length)));
        this.grid.append(
          h('div', { class: 'grid-corner' }, 'Input'),
          ...s.methods.map((m) => {
            // The method's colour in the Evaluate view's curves and leaderboard.
            const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true', 'data-testid': `method-swatch-${m.name}` });
            swatch.style.background = methodColor(
              m.name,
              s.methods.map((x) => x.name),
            );
            return h(
              'div',
              { class: 'grid-col-head', title: m.description },
              swatch,
              h('strong', {}, m.title),
              h('span', { class: 'muted' }, ` ${m.name}`),
            );
          }),
        );
        for (let i = 0; i < s.inputCount; i++) {
          const row = new InputRow(i, this);
          this.rows.set(i, row);
          this.grid.append(row.head);
          for (const m of s.methods) {
            const key = mapKey(i, m.name);
            const cell = new MapCell(i, m.name, key, m, displayFor(s, key), this);
            this.cells.set(key, cell);
            this.grid.append(cell.root);
          }
        }
      }
    }
    for (const row of this.rows.values()) row.update(s);
    for (const [key, cell] of this.cells) {
      const [i, method] = [Number(key.slice(0, key.indexOf(':'))), key.slice(key.indexOf(':') + 1)];
      const info = s.methods.find((m) => m.name === method)!;
      cell.update(
        {
          input: s.inputs[i] ?? null,
          result: s.results[key] ?? null,
          method: info,
          options: displayFor(s, key),
          pending: Boolean(s.pending[key]) || (s.running && !s.results[key] && !s.inputErrors[i]),
          params: s.ui.params[key] ?? {},
          preprocessing: s.preprocessing,
          divergingColormap: s.colormaps.divergingColormap,
          ended: s.running || s.results[key] ? null : s.cancelled ? 'cancelled' : s.runError || s.inputErrors[i] ? 'failed' : null,
        },
        this.themeKey,
      );
    }
  }

  private renderTable(s: PanelState): void {
    const rows: HTMLElement[] = [];
    for (let i = 0; i < s.inputCount; i++) {
      const input = s.inputs[i];
      for (const m of s.methods) {
        const r = s.results[mapKey(i, m.name)];
        if (!r) continue;
        let g = this.giniCache.get(r);
        if (g === undefined) this.giniCache.set(r, (g = gini(r.attribution.data)));
        const c = r.completeness;
        rows.push(
          h(
            'tr',
            {},
            h('td', { title: input?.path }, input ? basename(input.path) : `input ${i + 1}`),
            h('th', { scope: 'row' }, m.title),
            h('td', { class: 'num' }, c ? formatNumber(c.delta) : 'n/a'),
            h('td', { class: 'num' }, c ? formatPercent(c.relative) : 'n/a'),
            h('td', { class: 'num' }, `${formatNumber(r.timing.ms)} ms`),
            h('td', { class: 'num' }, String(r.timing.evaluations)),
            h('td', { class: 'num', 'data-gini': g }, g.toFixed(3)),
          ),
        );
      }
    }
    if (rows.length === 0) {
      this.table.replaceChildren();
      return;
    }
    const head = ['Input', 'Method', 'δ', 'relative δ', 'Time', 'Evaluations', 'Sparsity (Gini)'];
    this.table.replaceChildren(
      h('h2', {}, 'Comparison'),
      h(
        'table',
        { 'data-testid': 'comparison-table' },
        h(
          'caption',
          { class: 'muted' },
          'δ = Σ attribution − (F(x) − F(x′)); sparsity is the Gini index of |attribution| (0 = spread evenly, 1 = one feature).',
        ),
        h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...rows),
      ),
    );
  }
}

function start(): void {
  const root = document.getElementById('app') ?? document.body.appendChild(h('main', { id: 'app' }));
  let app: App | null = null;
  const report = (err: unknown) => {
    if (app) app.fail(err);
    else
      root.replaceChildren(
        h(
          'div',
          { class: 'error', role: 'alert', 'data-testid': 'error' },
          `PathLens panel failed to start: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
  };
  window.addEventListener('error', (e) => report(e.error ?? e.message));
  window.addEventListener('unhandledrejection', (e) => report(e.reason));
  try {
    app = new App(root);
  } catch (err) {
    report(err);
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
