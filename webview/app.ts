/**
 * The panel's run state and the actions on it: it routes host messages, keeps the state with
 * setState/getState (so the panel survives hiding and reloads without retainContextWhenHidden),
 * posts the user's requests to the host, and lets each part of the page redraw itself from the state.
 */
import type { MethodResult } from '../src/shared/types';
import type { HostToWebview, MethodInfo, WireError } from '../src/shared/protocol';
import type { Region } from '../src/shared/neurons';
import { ComparisonTable } from './comparisonTable';
import { updateDisplay, type DisplayOptions } from './display';
import { h } from './dom';
import { errorBanner } from './errorBanner';
import { EvaluatePane } from './evaluatePane';
import { MapGrid, type GridHost } from './mapGrid';
import { NeuronsPane } from './neuronsPane';
import { routeMessage, type Post } from './routing';
import { RunHeader } from './runHeader';
import { RunStatus } from './runStatus';
import { SanityPane } from './sanityPane';
import { SharedDisplay, type SharedDisplayHost } from './sharedDisplay';
import { applyHostMessage, decodeState, encodeState, initialState, mapKey, type PanelState, type ParamValue } from './state';
import type { VsCodeApi } from './vscode';

export class App implements GridHost, SharedDisplayHost {
  private state: PanelState;
  private readonly post: Post;
  private readonly header: RunHeader;
  private readonly status: RunStatus;
  private readonly errors = h('div', { class: 'errors' });
  private readonly placeholder = h('p', { class: 'placeholder' }, 'Waiting for PathLens to start a run…');
  private readonly display: SharedDisplay;
  private readonly grid: MapGrid;
  private readonly table = new ComparisonTable();
  private readonly sanity: SanityPane;
  private readonly neurons: NeuronsPane;
  private readonly evaluate: EvaluatePane;
  private renderQueued = false;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private themeKey = document.body.className;

  constructor(
    root: HTMLElement,
    private readonly api: VsCodeApi,
  ) {
    this.post = (message) => api.postMessage(message);
    this.state = decodeState(api.getState()) ?? initialState();
    const changed = () => this.queueRender();
    this.header = new RunHeader((format) => this.post({ type: 'export', format }));
    this.status = new RunStatus(() => this.post({ type: 'cancel' }));
    this.display = new SharedDisplay(this);
    this.grid = new MapGrid(this);
    this.sanity = new SanityPane(this.post, changed);
    this.neurons = new NeuronsPane(this.post, changed);
    this.evaluate = new EvaluatePane(this.post, changed);
    root.replaceChildren(
      ...[this.header, this.status].map((v) => v.root),
      this.errors,
      this.placeholder,
      this.sanity.root,
      ...[this.display, this.grid, this.table, this.evaluate, this.neurons].map((v) => v.root),
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
    this.post({ type: 'ready' });
  }

  private onMessage(data: unknown): void {
    try {
      routeMessage(data, [this.neurons, this.evaluate, this.sanity], (message) => this.runMessage(message));
    } catch (err) {
      this.fail(err);
    }
  }

  private runMessage(message: HostToWebview): void {
    this.evaluate.runMessage(message, this.state.runId);
    this.setState(applyHostMessage(this.state, message));
  }

  fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.state = { ...this.state, runError: { code: 'internal' as WireError['code'], message: `The panel hit an error: ${message}` } };
    this.post({
      type: 'log',
      level: 'error',
      message: `webview: ${err instanceof Error ? (err.stack ?? message) : message}`.slice(0, 10_000),
    });
    this.render();
  }

  private setState(next: PanelState): void {
    this.state = next;
    this.queueRender();
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.api.setState(encodeState(this.state)), 100);
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

  // --- actions (GridHost, SharedDisplayHost) --------------------------------------------------

  regionSelected(inputIndex: number, region: Region): void {
    this.neurons.regionSelected(inputIndex, region);
  }

  setTarget(inputIndex: number, target: number): void {
    const input = this.state.inputs[inputIndex];
    if (!input || input.target.index === target) return;
    const pending = { ...this.state.pending };
    for (const m of this.state.methods) pending[mapKey(inputIndex, m.name)] = true;
    this.setState({ ...this.state, pending, running: true });
    this.post({ type: 'setTarget', inputIndex, target });
  }

  setLinked(linked: boolean): void {
    this.setState({ ...this.state, ui: { ...this.state.ui, linked } });
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
    const inputIndex = Number(key.slice(0, key.indexOf(':')));
    const method = key.slice(key.indexOf(':') + 1);
    const info = this.state.methods.find((m) => m.name === method);
    if (!info) return;
    const edited = { ...(this.state.ui.params[key] ?? {}), [name]: value };
    this.setState({
      ...this.state,
      pending: { ...this.state.pending, [key]: true },
      ui: { ...this.state.ui, params: { ...this.state.ui.params, [key]: edited } },
    });
    this.post({ type: 'recompute', inputIndex, method, params: recomputeParams(info, this.state.results[key], edited) });
  }

  exportPng(fileName: string, dataUrl: string): void {
    this.post({ type: 'export', format: 'png', fileName, dataUrl });
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
    this.header.update(s);
    this.status.update(s);
    this.errors.replaceChildren(...(s.runError ? [errorBanner(s.runError, 'Run failed')] : []));
    this.placeholder.hidden = s.model !== null || s.runError !== null || this.sanity.active;
    this.sanity.update(s, this.themeKey);
    this.neurons.update(s);
    this.display.update(s);
    this.grid.update(s, this.themeKey);
    this.table.update(s);
    this.evaluate.update(s, this.themeKey);
  }
}

/** Every parameter of the method for a recompute: what the user typed, else what the map was computed with, else the default. */
function recomputeParams(
  info: MethodInfo,
  result: MethodResult | undefined,
  edited: Record<string, ParamValue>,
): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {};
  for (const spec of info.parameters) {
    const fromResult = result?.params[spec.name];
    params[spec.name] =
      edited[spec.name] ??
      (typeof fromResult === 'string' || typeof fromResult === 'number' || typeof fromResult === 'boolean' ? fromResult : spec.default);
  }
  return params;
}
