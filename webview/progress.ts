/** A progress bar with its text: a fraction once the total is known, else the stage (or `idle`) on an indeterminate bar. */
import type { Progress } from '../src/shared/types';
import { h } from './dom';

type ProgressBarEl = HTMLElement & { value?: number; max: number; indeterminate: boolean };

export class ProgressIndicator {
  readonly bar: ProgressBarEl;
  readonly text = h('span', { class: 'progress-text' });

  constructor(label: string) {
    this.bar = h('vscode-progress-bar', { 'aria-label': label, indeterminate: true }) as ProgressBarEl;
  }

  show(p: Progress | null, idle: string): void {
    if (p && p.total > 0) {
      this.bar.indeterminate = false;
      this.bar.max = p.total;
      this.bar.value = p.done;
      this.text.textContent = `${p.stage}: ${p.done} / ${p.total}`;
    } else {
      this.bar.indeterminate = true;
      this.text.textContent = p ? p.stage : idle;
    }
    this.bar.setAttribute('aria-valuetext', this.text.textContent ?? '');
  }
}
