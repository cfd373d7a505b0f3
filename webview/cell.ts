/**
 * One (input, method) map: the heatmap canvas (or a signed bar chart for non-image inputs), its
 * completeness badge, hover read-out, export, per-map display controls, the method's parameters
 * and the integration-path plots.
 */
import type uPlot from 'uplot';
import type { MethodResult, Preprocessing } from '../src/shared/types';
import type { InputStarted, MethodInfo } from '../src/shared/protocol';
import { colormapHex } from '../src/shared/colormap';
import { aggregateChannels, formatNumber, isSpatial, renderBarChart, renderOverlay } from '../src/shared/render';
import { button, DisplayControls, parameterControls } from './controls';
import { baselinePixel, exportFileName, formatPercent, pathImage, resultLevel, type DisplayOptions } from './display';
import { h, imageData } from './dom';
import { renderConvergencePlot, renderPathPlots } from './plots';
import { enableRegionSelection } from './regionSelect';
import type { Region } from '../src/shared/neurons';
import type { ParamValue } from './state';

export interface CellHost {
  displayChanged(key: string, change: Partial<DisplayOptions>): void;
  paramChanged(key: string, name: string, value: ParamValue): void;
  exportPng(fileName: string, dataUrl: string): void;
  sectionToggled(id: string, open: boolean): void;
  isOpen(id: string, fallback: boolean): boolean;
  /** A rectangle dragged on this input's map (input pixels): the Neurons view explains it. */
  regionSelected?(inputIndex: number, region: Region): void;
}

export interface CellData {
  input: InputStarted | null;
  result: MethodResult | null;
  method: MethodInfo;
  options: DisplayOptions;
  pending: boolean;
  params: Record<string, ParamValue>;
  preprocessing: Preprocessing | null;
  divergingColormap: string;
  /** Why a map without a result will not get one: its run was cancelled or failed (null while waiting). */
  ended?: 'cancelled' | 'failed' | null;
}

const PATH_ALPHAS = [0, 0.25, 0.5, 0.75, 1];

export class MapCell {
  readonly root: HTMLElement;
  private readonly badge: HTMLElement;
  private readonly status: HTMLElement;
  private readonly mapBox: HTMLElement;
  private readonly readout: HTMLElement;
  private readonly controls: DisplayControls;
  private readonly paramsBox: HTMLElement;
  private readonly pathBox: HTMLElement;
  private readonly plotBox: HTMLElement;
  private readonly stripBox: HTMLElement;
  private readonly exportButton: HTMLElement;
  private canvas: HTMLCanvasElement | null = null;
  private map: { height: number; width: number; values: Float32Array } | null = null;
  private probe: { x: number; y: number } | null = null;
  private drawn: { result: MethodResult; input: InputStarted | null; options: string } | null = null;
  private plotted: { result: MethodResult; theme: string } | null = null;
  private paramsFor: { result: MethodResult | null; params: Record<string, ParamValue> } | null = null;
  private plots: uPlot[] = [];
  private data: CellData | null = null;

  constructor(
    private readonly inputIndex: number,
    private readonly methodName: string,
    private readonly key: string,
    method: MethodInfo,
    options: DisplayOptions,
    private readonly host: CellHost,
  ) {
    const id = `${inputIndex}-${methodName}`;
    this.badge = h('span', { class: 'badge badge-pending', 'data-testid': `badge-${id}`, role: 'status' }, 'waiting…');
    this.status = h('p', { class: 'cell-status muted', 'aria-live': 'polite', 'data-testid': `status-${id}` }, 'Waiting for the result…');
    this.mapBox = h('div', { class: 'map-box' });
    this.readout = h('p', { class: 'readout', 'aria-live': 'polite' }, '\u00a0');
    this.exportButton = button('Export PNG', () => this.exportPng(), {
      secondary: true,
      'data-testid': `export-png-${id}`,
      disabled: true,
      'aria-label': `Export ${method.title} map of input ${inputIndex + 1} as PNG`,
    });
    this.controls = new DisplayControls(options, (change) => host.displayChanged(this.key, change), `display-${id}`);
    this.paramsBox = h('div', { class: 'params-box' });
    this.plotBox = h('div', { class: 'plots' });
    this.stripBox = h('div', { class: 'strip' });
    this.pathBox = h('div', { class: 'path-plot', 'data-testid': `path-plot-${id}` }, this.plotBox, this.stripBox);
    this.root = h(
      'section',
      { class: 'cell', 'aria-label': `${method.title}, input ${inputIndex + 1}` },
      h('div', { class: 'cell-head' }, h('h3', { title: method.description }, method.title), this.badge),
      this.status,
      this.mapBox,
      this.readout,
      h('div', { class: 'cell-actions' }, this.exportButton),
      this.section(`display-${id}`, 'Display', this.controls.root, false),
      this.section(`params-${id}`, 'Parameters', this.paramsBox, false),
      this.section(`path-${id}`, 'Integration path', this.pathBox, true),
    );
  }

  private section(id: string, title: string, content: HTMLElement, open: boolean): HTMLElement {
    const el = h('vscode-collapsible', { heading: title, open: this.host.isOpen(id, open), 'data-section': id }, content);
    el.addEventListener('vsc-collapsible-toggle', (e) =>
      this.host.sectionToggled(id, Boolean((e as CustomEvent<{ open: boolean }>).detail?.open)),
    );
    return el;
  }

  update(data: CellData, themeKey: string): void {
    this.data = data;
    this.controls.update(data.options);
    this.root.classList.toggle('pending', data.pending);
    this.root.setAttribute('aria-busy', String(data.pending || !data.result));
    this.updateBadge(data);
    this.updateParams(data);
    const { result, input } = data;
    if (!result) {
      this.status.textContent = data.pending
        ? 'Computing…'
        : data.ended === 'cancelled'
          ? 'Cancelled'
          : data.ended === 'failed'
            ? 'Not computed (see the error above)'
            : 'Waiting for the result…';
      this.status.dataset.state = data.pending ? 'pending' : (data.ended ?? 'waiting');
      this.status.hidden = false;
      return;
    }
    this.status.hidden = !data.pending;
    this.status.textContent = data.pending ? 'Recomputing…' : '';
    const optionsKey = JSON.stringify(data.options) + data.divergingColormap;
    if (!this.drawn || this.drawn.result !== result || this.drawn.input !== input || this.drawn.options !== optionsKey) {
      this.draw(result, input, data);
      this.drawn = { result, input, options: optionsKey };
    }
    if (!this.plotted || this.plotted.result !== result || this.plotted.theme !== themeKey) {
      this.drawPath(result, input, data);
      this.plotted = { result, theme: themeKey };
    }
  }

  private updateBadge({ result, method, pending, ended }: CellData): void {
    if (!result) {
      this.badge.className = 'badge badge-pending';
      this.badge.textContent =
        !pending && ended === 'cancelled' ? 'cancelled' : !pending && ended === 'failed' ? 'not computed' : 'waiting…';
      this.badge.removeAttribute('title');
      return;
    }
    const c = result.completeness;
    const a = result.accuracy;
    const level = resultLevel(result);
    this.badge.className = `badge badge-${level}`;
    this.badge.dataset.level = level;
    const parts: string[] = [];
    const titles: string[] = [];
    if (a) {
      parts.push(`map ±${formatPercent(a.mapError)}`);
      titles.push(
        `Estimated map error ‖A − A*‖₁/‖A*‖₁ ≈ ${formatPercent(a.mapError)} against the exact integral (${a.basis})${a.converged ? '' : '; stopped at the evaluation cap before reaching the tolerance'}. Amber above 2 %, red above 5 %.`,
      );
    }
    if (c) {
      parts.push(a ? `δ ${formatPercent(c.relative)}` : `δ ${formatNumber(c.delta)} (${formatPercent(c.relative)})`);
      titles.push(
        `Completeness: Σ attribution = ${formatNumber(c.sum)}, F(x) − F(x′) = ${formatNumber(c.expected)}, δ = ${formatNumber(c.delta)}, relative δ = ${formatPercent(c.relative)}. Amber above 1 %, red above 5 %.`,
      );
    } else titles.push(`${method.title} is not complete by design: Σ attribution need not equal F(x) − F(x′).`);
    this.badge.textContent = parts.length > 0 ? parts.join(' · ') : 'completeness: not applicable';
    this.badge.title = titles.join(' ');
    this.badge.setAttribute('aria-label', this.badge.title);
  }

  private updateParams(data: CellData): void {
    const values: Record<string, ParamValue> = {};
    for (const spec of data.method.parameters) {
      const fromResult = data.result?.params[spec.name];
      const v =
        data.params[spec.name] ??
        (typeof fromResult === 'string' || typeof fromResult === 'number' || typeof fromResult === 'boolean' ? fromResult : spec.default);
      values[spec.name] = v;
    }
    if (this.paramsFor && this.paramsFor.result === data.result && JSON.stringify(this.paramsFor.params) === JSON.stringify(values)) return;
    this.paramsFor = { result: data.result, params: values };
    const id = `${this.inputIndex}-${this.methodName}`;
    this.paramsBox.replaceChildren(
      parameterControls(data.method.parameters, values, (name, value) => this.host.paramChanged(this.key, name, value), `param-${id}`),
    );
  }

  private draw(result: MethodResult, input: InputStarted | null, data: CellData): void {
    const id = `${this.inputIndex}-${this.methodName}`;
    const attr = result.attribution;
    const spatial = isSpatial(attr.shape) && input?.kind !== 'tabular';
    if (spatial) {
      const display = input?.display ?? null;
      const img = renderOverlay(attr, display, data.options);
      this.map = aggregateChannels(attr, data.options.aggregation);
      if (!this.canvas) {
        this.canvas = h('canvas', {
          class: 'map',
          tabindex: 0,
          role: 'img',
          'data-testid': `map-${id}`,
          'aria-label': `${data.method.title} attribution map of input ${this.inputIndex + 1}. Hover or use the arrow keys to read values.`,
        });
        this.canvas.addEventListener('mousemove', (e) => this.hover(e));
        this.canvas.addEventListener('mouseleave', () => (this.readout.textContent = '\u00a0'));
        this.canvas.addEventListener('keydown', (e) => this.onKey(e));
        const onRegion = this.host.regionSelected?.bind(this.host);
        if (onRegion)
          enableRegionSelection(
            this.canvas,
            () => this.map,
            (region) => onRegion(this.inputIndex, region),
          );
        this.mapBox.replaceChildren(this.canvas);
      }
      const canvas = this.canvas;
      canvas.width = img.width;
      canvas.height = img.height;
      // Small maps (MNIST) are shown enlarged with crisp pixels.
      canvas.classList.toggle('pixelated', Math.max(img.width, img.height) < 128);
      const ctx = canvas.getContext('2d')!;
      ctx.putImageData(imageData(img.rgba, img.width, img.height), 0, 0);
      canvas.dataset.rendered = 'true';
      canvas.dataset.sign = data.options.sign;
      canvas.dataset.colormap = data.options.colormap;
    } else {
      this.canvas = null;
      this.map = null;
      const names = input?.featureNames;
      const svg = renderBarChart(attr.data, names, {
        width: 300,
        maxBars: 20,
        positiveColor: colormapHex(data.divergingColormap as 'rdbu', 0.9),
        negativeColor: colormapHex(data.divergingColormap as 'rdbu', 0.1),
      });
      const box = h('div', {
        class: 'bars-box',
        'data-testid': `map-${id}`,
        'data-rendered': 'true',
        tabindex: 0,
        role: 'group',
        'aria-label': `${data.method.title} signed attribution per feature of input ${this.inputIndex + 1}`,
      });
      box.innerHTML = svg;
      box.addEventListener('mouseover', (e) => this.hoverBar(e, input, names));
      this.mapBox.replaceChildren(box);
    }
    this.exportButton.removeAttribute('disabled');
    (this.exportButton as HTMLElement & { disabled: boolean }).disabled = false;
  }

  private pixelValue(x: number, y: number): string {
    const map = this.map;
    const canvas = this.canvas;
    if (!map || !canvas) return '';
    const ay = Math.min(map.height - 1, Math.floor((y * map.height) / canvas.height));
    const ax = Math.min(map.width - 1, Math.floor((x * map.width) / canvas.width));
    const v = map.values[ay * map.width + ax]!;
    const agg = this.data?.options.aggregation ?? 'sum';
    const channels = this.data?.result?.attribution.shape[2] ?? 1;
    return `(${ax}, ${ay}) attribution ${formatNumber(v)}${channels > 1 ? ` (${agg} of ${channels} channels)` : ''}`;
  }

  private hover(e: MouseEvent): void {
    const canvas = this.canvas!;
    const rect = canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - rect.left) / rect.width) * canvas.width);
    const y = Math.floor(((e.clientY - rect.top) / rect.height) * canvas.height);
    if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) return;
    this.probe = { x, y };
    this.readout.textContent = this.pixelValue(x, y);
  }

  private onKey(e: KeyboardEvent): void {
    const canvas = this.canvas;
    if (!canvas) return;
    const step = e.shiftKey ? 8 : 1;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    const move = moves[e.key];
    if (!move) return;
    e.preventDefault();
    const p = this.probe ?? { x: Math.floor(canvas.width / 2), y: Math.floor(canvas.height / 2) };
    this.probe = { x: Math.max(0, Math.min(canvas.width - 1, p.x + move[0])), y: Math.max(0, Math.min(canvas.height - 1, p.y + move[1])) };
    this.readout.textContent = this.pixelValue(this.probe.x, this.probe.y);
  }

  private hoverBar(e: Event, input: InputStarted | null, names: string[] | undefined): void {
    const rect = (e.target as Element).closest('rect');
    const title = rect?.querySelector('title')?.textContent;
    if (!title) return;
    const sep = title.lastIndexOf(': ');
    const name = title.slice(0, sep);
    const value = Number(title.slice(sep + 2));
    const index = names ? names.indexOf(name) : Number(/^x\[(\d+)\]$/.exec(name)?.[1] ?? -1);
    const featureValue = index >= 0 && input?.values ? ` = ${formatNumber(input.values[index])}` : '';
    this.readout.textContent = `${name}${featureValue}: attribution ${formatNumber(value)}`;
  }

  private drawPath(result: MethodResult, input: InputStarted | null, data: CellData): void {
    for (const p of this.plots) p.destroy();
    this.plots = [];
    const path = result.path;
    if (!path || path.alpha.length === 0) {
      this.plotBox.replaceChildren(h('p', { class: 'muted' }, `${data.method.title} does not integrate along a path.`));
      this.stripBox.replaceChildren();
      this.pathBox.dataset.rendered = 'false';
      return;
    }
    this.plots = renderPathPlots(this.plotBox, path, 280);
    const convergence = renderConvergencePlot(this.plotBox, result.accuracy?.history, 280);
    if (convergence) this.plots.push(convergence);
    this.pathBox.dataset.rendered = 'true';
    this.drawStrip(result, input, data);
  }

  private drawStrip(result: MethodResult, input: InputStarted | null, data: CellData): void {
    const display = input?.display;
    if (!display || input?.kind !== 'image') {
      this.stripBox.replaceChildren();
      return;
    }
    const baseline = result.params.baseline;
    const known = baselinePixel(baseline, data.preprocessing);
    const base = known ?? [0, 0, 0];
    const frames = PATH_ALPHAS.map((alpha) => {
      const c = h('canvas', {
        class: 'frame',
        width: display.width,
        height: display.height,
        role: 'img',
        'aria-label': `path image at α = ${alpha}`,
      });
      c.classList.toggle('pixelated', Math.max(display.width, display.height) < 128);
      c.getContext('2d')!.putImageData(imageData(pathImage(display, base, alpha), display.width, display.height), 0, 0);
      return h('figure', { class: 'frame-fig' }, c, h('figcaption', {}, `α ${alpha}`));
    });
    const note = known
      ? `x′ + α(x − x′), baseline ${String(baseline)}`
      : `Illustrative: the ${baseline === undefined ? 'baseline' : `'${String(baseline)}' baseline`} is not available in the panel, a black image is shown as x′.`;
    this.stripBox.replaceChildren(h('p', { class: 'strip-note muted' }, note), h('div', { class: 'frames' }, ...frames));
  }

  private exportPng(): void {
    const data = this.data;
    if (!data?.result) return;
    const name = exportFileName(data.input?.path ?? `input${this.inputIndex + 1}`, this.methodName);
    if (this.canvas) {
      this.host.exportPng(name, enlarged(this.canvas).toDataURL('image/png'));
      return;
    }
    const svg = this.mapBox.querySelector('svg');
    if (!svg) return;
    const clone = svg.cloneNode(true) as SVGSVGElement;
    clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
    clone.setAttribute('color', getComputedStyle(document.body).color);
    const img = new Image();
    img.onload = () => {
      const c = document.createElement('canvas');
      c.width = img.naturalWidth || Number(svg.getAttribute('width')) || 300;
      c.height = img.naturalHeight || Number(svg.getAttribute('height')) || 150;
      const ctx = c.getContext('2d')!;
      ctx.fillStyle = getComputedStyle(document.body).backgroundColor || '#ffffff';
      ctx.fillRect(0, 0, c.width, c.height);
      ctx.drawImage(img, 0, 0);
      this.host.exportPng(name, c.toDataURL('image/png'));
    };
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(clone));
  }

  destroy(): void {
    for (const p of this.plots) p.destroy();
    this.plots = [];
  }
}

/** Small maps are exported enlarged (nearest neighbour) so the PNG is usable. */
function enlarged(canvas: HTMLCanvasElement): HTMLCanvasElement {
  const scale = Math.max(1, Math.floor(256 / Math.max(canvas.width, canvas.height)));
  if (scale === 1) return canvas;
  const c = document.createElement('canvas');
  c.width = canvas.width * scale;
  c.height = canvas.height * scale;
  const ctx = c.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(canvas, 0, 0, c.width, c.height);
  return c;
}
