/** Form controls built from @vscode-elements/elements, with labels for screen readers. */
import { rangeText, type ParameterSpec } from '../src/shared/methods';
import { formatNumber } from '../src/shared/render';
import { AGGREGATIONS, colormapsFor, SIGN_MODES, type DisplayOptions } from './display';
import { h, nextId } from './dom';
import type { ParamValue } from './state';

type SelectEl = HTMLElement & { value: string; disabled: boolean };
type TextEl = HTMLElement & { value: string; invalid: boolean };
type CheckboxEl = HTMLElement & { checked: boolean };

/** A labelled vscode-single-select. */
export function select(
  label: string,
  options: { value: string; label: string; description?: string }[],
  value: string,
  onChange: (value: string) => void,
  attrs: Record<string, string> = {},
): {
  root: HTMLElement;
  el: SelectEl;
  setOptions(opts: { value: string; label: string }[], value: string): void;
  setValue(v: string): void;
} {
  const id = nextId('sel');
  // `label` names the inner combobox (the element's accessible name).
  const el = h('vscode-single-select', { id, label, ...attrs }) as SelectEl;
  const fill = (opts: { value: string; label: string; description?: string }[], v: string) => {
    el.replaceChildren(
      ...opts.map((o) => h('vscode-option', { value: o.value, selected: o.value === v, description: o.description }, o.label)),
    );
    el.value = v;
  };
  fill(options, value);
  el.addEventListener('change', () => onChange(el.value));
  const root = h('div', { class: 'field' }, h('vscode-label', { for: id }, label), el);
  return {
    root,
    el,
    setOptions: fill,
    setValue: (v) => {
      if (el.value !== v) el.value = v;
    },
  };
}

/**
 * A numeric field. Integers use a native number input (step 1); other numbers a decimal text input,
 * since a native step would flag ordinary values (0.0123) as invalid. Range checks are ours.
 */
export function numberField(
  label: string,
  value: number,
  spec: { min?: number; max?: number; minExclusive?: boolean; step?: 1 },
  onChange: (value: number, el: TextEl) => void,
  attrs: Record<string, string> = {},
): { root: HTMLElement; el: TextEl } {
  const id = nextId('num');
  const integer = spec.step === 1;
  const el = h(
    'vscode-textfield',
    integer
      ? { id, type: 'number', value: String(value), min: spec.min, max: spec.max, step: 1, label, ...attrs }
      : { id, type: 'text', inputmode: 'decimal', value: String(value), label, ...attrs },
  ) as TextEl;
  el.value = String(value);
  el.addEventListener('change', () => {
    const v = Number(el.value);
    const bad =
      el.value.trim() === '' ||
      !Number.isFinite(v) ||
      (spec.min !== undefined && (spec.minExclusive === true ? v <= spec.min : v < spec.min)) ||
      (spec.max !== undefined && v > spec.max) ||
      (spec.step === 1 && !Number.isInteger(v));
    el.invalid = bad;
    if (!bad) onChange(v, el);
  });
  return { root: h('div', { class: 'field' }, h('vscode-label', { for: id }, label), el), el };
}

export function checkbox(
  label: string,
  checked: boolean,
  onChange: (checked: boolean) => void,
  attrs: Record<string, string> = {},
): { root: HTMLElement; el: CheckboxEl } {
  const el = h('vscode-checkbox', { label, checked, ...attrs }) as CheckboxEl;
  el.addEventListener('change', () => onChange(el.checked));
  return { root: h('div', { class: 'field field-check' }, el), el };
}

export function button(text: string, onClick: () => void, attrs: Record<string, string | boolean> = {}): HTMLElement {
  const el = h('vscode-button', { ...attrs }, text);
  el.addEventListener('click', () => {
    if (!(el as HTMLElement & { disabled?: boolean }).disabled) onClick();
  });
  return el;
}

/** The five display controls; `update` reflects options without firing change handlers. */
export class DisplayControls {
  readonly root: HTMLElement;
  private readonly sign;
  private readonly colormap;
  private readonly clip;
  private readonly opacity: HTMLInputElement;
  private readonly opacityOut: HTMLOutputElement;
  private readonly aggregation;
  private current: DisplayOptions;

  constructor(options: DisplayOptions, onChange: (change: Partial<DisplayOptions>) => void, prefix: string) {
    this.current = options;
    this.sign = select('Sign', SIGN_MODES, options.sign, (v) => onChange({ sign: v as DisplayOptions['sign'] }), {
      'data-testid': `${prefix}-sign`,
    });
    this.colormap = select(
      'Colormap',
      colormapsFor(options.sign).map((c) => ({ value: c, label: c })),
      options.colormap,
      (v) => onChange({ colormap: v as DisplayOptions['colormap'] }),
      { 'data-testid': `${prefix}-colormap` },
    );
    this.clip = numberField('Clip percentile', options.clipPercentile, { min: 50, max: 100 }, (v) => onChange({ clipPercentile: v }), {
      'data-testid': `${prefix}-clip`,
    });
    const opacityId = nextId('opacity');
    this.opacity = h('input', {
      id: opacityId,
      type: 'range',
      min: 0,
      max: 1,
      step: 0.05,
      value: String(options.opacity),
      class: 'range',
      'data-testid': `${prefix}-opacity`,
      'aria-valuetext': `${Math.round(options.opacity * 100)} %`,
    });
    this.opacityOut = h('output', { for: opacityId }, `${Math.round(options.opacity * 100)} %`);
    this.opacity.addEventListener('input', () => {
      const v = Number(this.opacity.value);
      this.opacityOut.textContent = `${Math.round(v * 100)} %`;
      onChange({ opacity: v });
    });
    this.aggregation = select(
      'Channels',
      AGGREGATIONS,
      options.aggregation,
      (v) => onChange({ aggregation: v as DisplayOptions['aggregation'] }),
      { 'data-testid': `${prefix}-aggregation` },
    );
    this.root = h(
      'div',
      { class: 'display-controls' },
      this.sign.root,
      this.colormap.root,
      this.clip.root,
      h(
        'div',
        { class: 'field' },
        h('vscode-label', { for: opacityId }, 'Opacity'),
        h('div', { class: 'range-row' }, this.opacity, this.opacityOut),
      ),
      this.aggregation.root,
    );
  }

  update(options: DisplayOptions): void {
    const prev = this.current;
    this.current = options;
    if (prev.sign !== options.sign)
      this.colormap.setOptions(
        colormapsFor(options.sign).map((c) => ({ value: c, label: c })),
        options.colormap,
      );
    this.sign.setValue(options.sign);
    this.colormap.setValue(options.colormap);
    if (Number(this.clip.el.value) !== options.clipPercentile) this.clip.el.value = String(options.clipPercentile);
    if (Number(this.opacity.value) !== options.opacity) {
      this.opacity.value = String(options.opacity);
      this.opacityOut.textContent = `${Math.round(options.opacity * 100)} %`;
    }
    this.opacity.setAttribute('aria-valuetext', `${Math.round(options.opacity * 100)} %`);
    this.aggregation.setValue(options.aggregation);
  }
}

/** One control per method parameter, with its default and one-line description. */
export function parameterControls(
  specs: readonly ParameterSpec[],
  values: Record<string, ParamValue>,
  onChange: (name: string, value: ParamValue) => void,
  prefix: string,
): HTMLElement {
  if (specs.length === 0) return h('p', { class: 'muted' }, 'This method has no parameters.');
  const rows = specs.map((spec) => {
    const value = values[spec.name] ?? spec.default;
    const testid = `${prefix}-${spec.name}`;
    let control: HTMLElement;
    if (spec.type === 'integer' || spec.type === 'number') {
      control = numberField(
        spec.label,
        Number(value),
        { min: spec.min, max: spec.max, minExclusive: spec.minExclusive, step: spec.type === 'integer' ? 1 : undefined },
        (v) => onChange(spec.name, v),
        { 'data-testid': testid },
      ).root;
    } else if (spec.type === 'boolean') {
      control = checkbox(spec.label, Boolean(value), (v) => onChange(spec.name, v), { 'data-testid': testid }).root;
    } else if (spec.type === 'choice') {
      const choices = spec.choices ?? [];
      const opts = (choices.includes(String(value)) ? choices : [String(value), ...choices]).map((c) => ({ value: c, label: c }));
      control = select(spec.label, opts, String(value), (v) => onChange(spec.name, v), { 'data-testid': testid }).root;
    } else {
      const id = nextId('txt');
      const el = h('vscode-textfield', { id, value: String(value), 'aria-label': spec.label, 'data-testid': testid }) as TextEl;
      el.addEventListener('change', () => {
        el.invalid = el.value.trim() === '';
        if (!el.invalid) onChange(spec.name, el.value.trim());
      });
      control = h('div', { class: 'field' }, h('vscode-label', { for: id }, spec.label), el);
    }
    // Numbers state their unit and range (a select shows its choices itself).
    const def = typeof spec.default === 'number' ? formatNumber(spec.default) : String(spec.default);
    const unit = spec.unit ? ` ${spec.unit}` : '';
    const range = spec.type === 'integer' || spec.type === 'number' ? rangeText(spec) : '';
    const facts = `Default: ${def}${unit}${range ? `; ${range}` : ''}.`;
    return h('div', { class: 'param' }, control, h('p', { class: 'help' }, `${spec.description} ${facts}`));
  });
  return h('div', { class: 'params' }, ...rows);
}
