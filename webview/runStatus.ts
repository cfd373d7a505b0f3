/** The run's progress bar with its Cancel button, and the note saying how the run ended. */
import { button } from './controls';
import { h } from './dom';
import { ProgressIndicator } from './progress';
import type { PanelState } from './state';

const CANCELLING = 'Cancelling…';

export class RunStatus {
  readonly root = h('section', { class: 'status', 'aria-label': 'Progress' });
  private readonly progress = new ProgressIndicator('Progress');
  private readonly progressBox: HTMLElement;
  private readonly runNote = h('p', { class: 'run-note muted', 'aria-live': 'polite' });

  constructor(cancel: () => void) {
    const cancelButton = button(
      'Cancel',
      () => {
        this.runNote.textContent = CANCELLING;
        cancel();
      },
      { 'data-testid': 'cancel', secondary: true },
    );
    this.progressBox = h(
      'div',
      { class: 'progress', 'data-testid': 'progress', role: 'status' },
      this.progress.bar,
      h('div', { class: 'progress-row' }, this.progress.text, cancelButton),
    );
    this.root.append(this.progressBox, this.runNote);
  }

  update(s: PanelState): void {
    this.progressBox.hidden = !s.running;
    this.progress.show(s.progress, 'Working…');
    const done = Object.keys(s.results).length;
    const total = s.inputCount * s.methods.length;
    if (s.running) this.runNote.textContent = this.runNote.textContent === CANCELLING ? CANCELLING : '';
    else if (s.cancelled) this.runNote.textContent = `Cancelled: ${done} of ${total} maps were computed.`;
    else if (s.model && !s.runError) this.runNote.textContent = `Done: ${done} of ${total} maps.`;
    else this.runNote.textContent = '';
  }
}
