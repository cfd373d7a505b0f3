/** The Evaluate view's clicked curve point: its caption, and the perturbed values of a non-image input. */
import type { EvaluateStepRequest, PerturbedStep } from '../src/shared/protocol';
import { formatNumber } from '../src/shared/render';
import { toFloat32, toUint8 } from './display';
import { h } from './dom';

/** At most this many values of a table or tensor are listed. */
const MAX_VALUES = 60;

export function perturbedCaption(request: EvaluateStepRequest, step: PerturbedStep, value: number | undefined): string {
  const share = step.features > 0 ? ` (${formatNumber((100 * step.changed) / step.features)} %)` : '';
  const what =
    request.metric === 'insertion'
      ? `${step.changed} of ${step.features} features taken from x into the baseline${share}`
      : `${step.changed} of ${step.features} features replaced by the baseline${share}`;
  const order = request.metric === 'lerf' ? 'least' : 'most';
  return `${what}, ${order} important first by ${request.method}; F = ${value === undefined ? 'n/a' : formatNumber(value)}.`;
}

/** A non-image input's values at that step, changed ones marked. */
export function stepTable(step: PerturbedStep): HTMLElement {
  const values = toFloat32(step.values);
  const mask = toUint8(step.changedMask);
  const shown = Math.min(values.length, MAX_VALUES);
  const rows = Array.from({ length: shown }, (_, i) =>
    h(
      'tr',
      { class: mask[i] ? 'changed' : '' },
      h('td', { class: 'num' }, String(i)),
      h('td', { class: 'num' }, formatNumber(values[i]!)),
      h('td', {}, mask[i] ? 'changed' : ''),
    ),
  );
  return h(
    'table',
    { class: 'evaluate-values', 'data-testid': 'evaluate-perturbed-values' },
    h('caption', { class: 'muted' }, values.length > shown ? `First ${shown} of ${values.length} values` : `${values.length} values`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Element'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, ''))),
    h('tbody', {}, ...rows),
  );
}
