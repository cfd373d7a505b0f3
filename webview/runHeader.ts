/** The panel's header: the model, backend, preprocessing and labels of the run, and its export buttons. */
import { formatNumber } from '../src/shared/render';
import { button } from './controls';
import { basename } from './display';
import { h } from './dom';
import type { PanelState } from './state';

export class RunHeader {
  readonly root = h('header', { class: 'run-header' });
  private shownFor: unknown[] | null = null;

  constructor(private readonly exportReport: (format: 'json' | 'html') => void) {}

  update(s: PanelState): void {
    const key = [s.model, s.backend, s.preprocessing];
    if (this.shownFor && this.shownFor.every((v, i) => v === key[i])) return;
    this.shownFor = key;
    if (!s.model) {
      this.root.replaceChildren(h('h1', {}, 'PathLens'));
      return;
    }
    this.root.replaceChildren(
      h('h1', {}, `PathLens — ${basename(s.model.path)}`),
      h('dl', { class: 'facts' }, ...facts(s)),
      h(
        'div',
        { class: 'actions', role: 'toolbar', 'aria-label': 'Export' },
        button('Export results JSON', () => this.exportReport('json'), { secondary: true, 'data-testid': 'export-json' }),
        button('Export HTML report', () => this.exportReport('html'), { secondary: true, 'data-testid': 'export-html' }),
      ),
    );
  }
}

function facts(s: PanelState): HTMLElement[] {
  const m = s.model!;
  const pre = s.preprocessing;
  const item = (term: string, value: string, title?: string) => [h('dt', {}, term), h('dd', { title }, value)];
  return [
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
  ];
}
