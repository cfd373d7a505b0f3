/**
 * The "Neurons" view: pick a layer, rank its units by conductance (or layer IG) with the completeness
 * check, click a unit to see its input map and activation; a rectangle dragged on any spatial map asks
 * which units explain that region.
 */
import type { LayerChoice, NeuronsResult, RankedUnit, UnitView } from '../src/shared/neurons';
import type { NeuronsRequest } from '../src/shared/protocol';
import type { RgbaImageData } from '../src/shared/render';
import { formatNumber, renderOverlay } from '../src/shared/render';
import { button, select } from './controls';
import { completenessLevel, formatPercent } from './display';
import { h, imageData } from './dom';
import { rankingRequest, unitRequest, type NeuronsViewState } from './neuronsState';

export interface NeuronsHost {
  request(request: NeuronsRequest): void;
  cancel(): void;
  choose(change: Partial<Pick<NeuronsViewState, 'layer' | 'method' | 'region' | 'inputIndex'>>): void;
}

const layerLabel = (l: LayerChoice) => `${l.name} [${l.shape.join('×')}] ${l.className}`;
const unitLabel = (index: number[]) => (index.length === 1 ? `unit ${index[0]}` : `unit [${index.join(', ')}]`);

export class NeuronsView {
  readonly root: HTMLElement;
  private readonly layerSelect = select('Layer', [], '', (v) => this.host.choose({ layer: v }), { 'data-testid': 'neurons-layer' });
  private readonly methodSelect = select(
    'Method',
    [
      { value: 'conductance', label: 'Conductance (units share F(x) − F(x′))' },
      { value: 'layer-ig', label: 'Layer IG (IG in activation space)' },
    ],
    'conductance',
    (v) => this.host.choose({ method: v as NeuronsViewState['method'] }),
    { 'data-testid': 'neurons-method' },
  );
  private readonly regionBox = h('p', { class: 'muted', 'data-testid': 'neurons-region', 'aria-live': 'polite' });
  private readonly status = h('p', { class: 'muted', role: 'status', 'data-testid': 'neurons-status' });
  private readonly summary = h('p', { class: 'neurons-summary', 'data-testid': 'neurons-summary' });
  private readonly bars = h('ol', { class: 'neuron-bars', 'aria-label': 'Units ranked by attribution', 'data-testid': 'neurons-bars' });
  private readonly unitBox = h('div', { class: 'neuron-unit', 'data-testid': 'neurons-unit' });
  private readonly findButton = button('Find units', () => this.find(), { 'data-testid': 'neurons-find' });
  private readonly cancelButton = button('Cancel', () => this.host.cancel(), { secondary: true, 'data-testid': 'neurons-cancel' });
  private readonly clearRegion = button('Whole input', () => this.host.choose({ region: null }), {
    secondary: true,
    'data-testid': 'neurons-clear-region',
  });
  private state: NeuronsViewState | null = null;
  private shownRanking: NeuronsResult | null = null;
  private shownUnit: NeuronsResult | null = null;

  constructor(private readonly host: NeuronsHost) {
    this.root = h(
      'section',
      { class: 'neurons', 'aria-label': 'Neurons', 'data-testid': 'neurons-view' },
      h('h2', {}, 'Neurons'),
      h(
        'p',
        { class: 'muted' },
        'Which units of a layer carry this prediction. Drag a rectangle on a map to ask which units explain that region.',
      ),
      h('div', { class: 'neurons-controls' }, this.layerSelect.root, this.methodSelect.root, this.findButton, this.cancelButton),
      h('div', { class: 'neurons-region' }, this.regionBox, this.clearRegion),
      this.status,
      this.summary,
      this.bars,
      this.unitBox,
    );
    this.root.hidden = true;
  }

  private find(): void {
    const request = this.state && rankingRequest(this.state);
    if (request) this.host.request(request);
  }

  /** Display images of the inputs (for the unit map overlay), by input index. */
  update(state: NeuronsViewState, display: (inputIndex: number) => RgbaImageData | null): void {
    this.state = state;
    this.root.hidden = state.layers.length === 0;
    if (this.root.hidden) return;
    this.layerSelect.setOptions(
      state.layers.map((l) => ({ value: l.name, label: layerLabel(l) })),
      state.layer ?? '',
    );
    this.methodSelect.setValue(state.region ? 'conductance' : state.method);
    (this.methodSelect.el as HTMLElement & { disabled: boolean }).disabled = state.region !== null;
    const r = state.region;
    this.regionBox.textContent = r
      ? `Region of input ${state.inputIndex + 1}: columns ${r.x0}–${r.x1 - 1}, rows ${r.y0}–${r.y1 - 1} (conductance restricted to it).`
      : 'Whole input. Drag on a map to restrict to a region.';
    this.clearRegion.hidden = !r;
    this.cancelButton.hidden = !state.pending;
    this.status.textContent = statusText(state);
    if (state.ranking !== this.shownRanking) this.renderRanking(state.ranking);
    if (state.unit !== this.shownUnit) this.renderUnit(state.unit, display);
  }

  private renderRanking(ranking: NeuronsResult | null): void {
    this.shownRanking = ranking;
    const result = ranking?.result;
    if (!result) {
      this.summary.textContent = '';
      this.bars.replaceChildren();
      return;
    }
    const c = result.completeness;
    const against = result.region ? "the region's IG sum" : 'F(x) − F(x′)';
    this.summary.replaceChildren(
      h('span', { class: `badge badge-${completenessLevel(c)}` }, `δ ${formatPercent(c.relative)}`),
      ` ${result.layer} (${result.method}): Σ units ${formatNumber(c.sum)} vs ${against} ${formatNumber(c.expected)}; ${result.params.steps} points, ${result.timing.ms.toFixed(0)} ms`,
    );
    const scale = Math.max(...result.top.map((u) => Math.abs(u.value)), 1e-30);
    this.bars.replaceChildren(...result.top.map((u, i) => this.bar(u, i, scale)));
  }

  private bar(unit: RankedUnit, rank: number, scale: number): HTMLElement {
    // Set through the CSSOM: the panel's CSP forbids style attributes.
    const fill = h('span', { class: `neuron-fill ${unit.value < 0 ? 'negative' : 'positive'}` });
    fill.style.width = `${((Math.abs(unit.value) / scale) * 100).toFixed(1)}%`;
    const item = h(
      'li',
      {},
      h(
        'button',
        {
          class: 'neuron-bar',
          type: 'button',
          'data-testid': `neuron-unit-${rank}`,
          'aria-label': `${unitLabel(unit.index)}: ${formatNumber(unit.value)}. Show what it looks at.`,
        },
        h('span', { class: 'neuron-name' }, unitLabel(unit.index)),
        fill,
        h('span', { class: 'neuron-value' }, formatNumber(unit.value)),
      ),
    );
    item.querySelector('button')!.addEventListener('click', () => {
      const request = this.state && unitRequest(this.state, unit.index);
      if (request) this.host.request(request);
    });
    return item;
  }

  private renderUnit(result: NeuronsResult | null, display: (inputIndex: number) => RgbaImageData | null): void {
    this.shownUnit = result;
    const unit = result?.unit;
    if (!unit) {
      this.unitBox.replaceChildren();
      return;
    }
    const map = canvasOf(renderOverlay(unit.map.attribution, display(this.state?.inputIndex ?? 0), { sign: 'signed' }), 'neuron-unit-map');
    const parts: HTMLElement[] = [
      h('h3', {}, `${unitLabel(unit.index)} of ${unit.layer}`),
      h('figure', {}, map, h('figcaption', { class: 'muted' }, unitCaption(unit))),
    ];
    if (unit.activation) {
      const [height, width] = unit.activation.shape;
      const activation = renderOverlay({ shape: [height, width], data: unit.activation.data }, null, { sign: 'positive' });
      parts.push(
        h(
          'figure',
          {},
          canvasOf(activation, 'neuron-activation'),
          h('figcaption', { class: 'muted' }, `Channel ${unit.index[2]} activation at x (${height}×${width})`),
        ),
      );
    }
    this.unitBox.replaceChildren(...parts);
  }
}

function unitCaption(unit: UnitView): string {
  const c = unit.map.completeness;
  const total = c ? ` Σ ${formatNumber(c.sum)} (its conductance ${formatNumber(c.expected)}, δ ${formatPercent(c.relative)})` : '';
  return `What the unit looks at: its conductance map over the input.${total}`;
}

function canvasOf(img: RgbaImageData, testId: string): HTMLCanvasElement {
  const canvas = h('canvas', { class: 'map pixelated', role: 'img', 'data-testid': testId, 'data-rendered': 'true' });
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')!.putImageData(imageData(img.rgba, img.width, img.height), 0, 0);
  return canvas;
}

function statusText(state: NeuronsViewState): string {
  if (state.pending) {
    const p = state.progress;
    const what = state.pending.request.unit ? unitLabel(state.pending.request.unit) : state.pending.request.layer;
    return `Computing ${what}… ${p ? `${p.stage} ${p.done}/${p.total}` : ''}`;
  }
  if (state.error) return `Failed: ${state.error.message}`;
  if (state.cancelled) return 'Cancelled.';
  if (!state.ranking) return 'Pick a layer and press Find units.';
  return state.unit ? '' : 'Click a unit to see what it looks at.';
}
