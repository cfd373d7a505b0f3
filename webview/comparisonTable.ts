/** The comparison table below the grid: per map its completeness gap, time, evaluations and Gini sparsity. */
import { formatNumber } from '../src/shared/render';
import type { MethodResult } from '../src/shared/types';
import { basename, formatPercent } from './display';
import { h } from './dom';
import { gini } from './gini';
import { mapKey, type PanelState } from './state';

const HEAD = ['Input', 'Method', 'δ', 'relative δ', 'Time', 'Evaluations', 'Sparsity (Gini)'];

export class ComparisonTable {
  readonly root = h('section', { class: 'comparison', 'aria-label': 'Comparison table' });
  private readonly giniCache = new WeakMap<MethodResult, number>();

  update(s: PanelState): void {
    const rows = this.rows(s);
    if (rows.length === 0) {
      this.root.replaceChildren();
      return;
    }
    this.root.replaceChildren(
      h('h2', {}, 'Comparison'),
      h(
        'table',
        { 'data-testid': 'comparison-table' },
        h(
          'caption',
          { class: 'muted' },
          'δ = Σ attribution − (F(x) − F(x′)); sparsity is the Gini index of |attribution| (0 = spread evenly, 1 = one feature).',
        ),
        h('thead', {}, h('tr', {}, ...HEAD.map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...rows),
      ),
    );
  }

  private rows(s: PanelState): HTMLElement[] {
    const rows: HTMLElement[] = [];
    for (let i = 0; i < s.inputCount; i++) {
      const input = s.inputs[i];
      for (const m of s.methods) {
        const r = s.results[mapKey(i, m.name)];
        if (!r) continue;
        const g = this.sparsity(r);
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
    return rows;
  }

  private sparsity(r: MethodResult): number {
    let g = this.giniCache.get(r);
    if (g === undefined) this.giniCache.set(r, (g = gini(r.attribution.data)));
    return g;
  }
}
