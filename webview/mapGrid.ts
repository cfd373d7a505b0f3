/** The comparison grid: one row per input (its head, then one map cell per method), rebuilt when the run's shape changes. */
import { methodColor } from '../src/shared/evaluate';
import type { MethodInfo } from '../src/shared/protocol';
import { MapCell, type CellData, type CellHost } from './cell';
import { h } from './dom';
import { InputRow } from './inputRow';
import { displayFor, mapKey, type PanelState } from './state';

export interface GridHost extends CellHost {
  setTarget(inputIndex: number, target: number): void;
}

export class MapGrid {
  readonly root = h('section', { class: 'grid', 'aria-label': 'Comparison grid: rows are inputs, columns are methods' });
  private readonly rows = new Map<number, InputRow>();
  private readonly cells = new Map<string, { inputIndex: number; method: string; cell: MapCell }>();
  private shape = '';

  constructor(private readonly host: GridHost) {}

  update(s: PanelState, themeKey: string): void {
    const shape = `${s.runId}|${s.inputCount}|${s.methods.map((m) => m.name).join(',')}`;
    if (shape !== this.shape) {
      this.shape = shape;
      this.rebuild(s);
    }
    for (const row of this.rows.values()) row.update(s);
    for (const [key, { inputIndex, method, cell }] of this.cells) cell.update(cellData(s, key, inputIndex, method), themeKey);
  }

  private rebuild(s: PanelState): void {
    for (const { cell } of this.cells.values()) cell.destroy();
    this.cells.clear();
    this.rows.clear();
    this.root.replaceChildren();
    if (!s.model) return;
    this.root.style.setProperty('--methods', String(Math.max(1, s.methods.length)));
    const names = s.methods.map((m) => m.name);
    this.root.append(h('div', { class: 'grid-corner' }, 'Input'), ...s.methods.map((m) => columnHead(m, names)));
    for (let i = 0; i < s.inputCount; i++) {
      const row = new InputRow(i, (inputIndex, target) => this.host.setTarget(inputIndex, target));
      this.rows.set(i, row);
      this.root.append(row.head);
      for (const m of s.methods) {
        const key = mapKey(i, m.name);
        const cell = new MapCell(i, m.name, key, m, displayFor(s, key), this.host);
        this.cells.set(key, { inputIndex: i, method: m.name, cell });
        this.root.append(cell.root);
      }
    }
  }
}

function columnHead(m: MethodInfo, names: string[]): HTMLElement {
  // The method's colour in the Evaluate view's curves and leaderboard.
  const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true', 'data-testid': `method-swatch-${m.name}` });
  swatch.style.background = methodColor(m.name, names);
  return h(
    'div',
    { class: 'grid-col-head', title: m.description },
    swatch,
    h('strong', {}, m.title),
    h('span', { class: 'muted' }, ` ${m.name}`),
  );
}

function cellData(s: PanelState, key: string, i: number, method: string): CellData {
  const running = s.running;
  const result = s.results[key] ?? null;
  const failed = s.runError || s.inputErrors[i];
  return {
    input: s.inputs[i] ?? null,
    result,
    method: s.methods.find((m) => m.name === method)!,
    options: displayFor(s, key),
    pending: Boolean(s.pending[key]) || (running && !result && !s.inputErrors[i]),
    params: s.ui.params[key] ?? {},
    preprocessing: s.preprocessing,
    divergingColormap: s.colormaps.divergingColormap,
    ended: running || result ? null : s.cancelled ? 'cancelled' : failed ? 'failed' : null,
  };
}
