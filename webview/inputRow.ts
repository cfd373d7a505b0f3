/** One input's row head in the grid: thumbnail, top-5 predictions, target selector, its error. */
import { formatNumber } from '../src/shared/render';
import type { InputStarted } from '../src/shared/protocol';
import { select } from './controls';
import { basename } from './display';
import { h, imageData } from './dom';
import { errorBanner } from './errorBanner';
import type { PanelState } from './state';

export class InputRow {
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
    private readonly setTarget: (inputIndex: number, target: number) => void,
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
      this.targetSelect = select('Target class', options, String(input.target.index), (v) => this.setTarget(this.index, Number(v)), {
        'data-testid': `target-${this.index}`,
      });
      if (count > 20) this.targetSelect.el.setAttribute('combobox', ''); // type to filter long class lists
      this.targetBox.replaceChildren(this.targetSelect.root);
    } else {
      this.targetSelect.setValue(String(input.target.index));
    }
  }
}
