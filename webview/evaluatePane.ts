/** The Evaluate view wired into the panel: its state, its host messages, its requests, and what a run's maps change. */
import type { HostToWebview } from '../src/shared/protocol';
import { EvaluateView } from './evaluate';
import {
  applyEvaluateMessage,
  initialEvaluateState,
  isEvaluateMessage,
  mapChanged,
  requestStep,
  type EvaluateViewState,
} from './evaluateState';
import type { MessageReceiver, Post } from './routing';
import type { PanelState } from './state';

export class EvaluatePane implements MessageReceiver {
  private state: EvaluateViewState = initialEvaluateState();
  private readonly view: EvaluateView;

  constructor(
    post: Post,
    private readonly changed: () => void,
  ) {
    this.view = new EvaluateView({
      evaluate: (settings) => post({ type: 'evaluate', ...settings }),
      cancel: () => post({ type: 'cancel' }),
      change: (change) => {
        this.state = { ...this.state, ...change };
        changed();
      },
      inspect: (request) => {
        this.state = requestStep(this.state, request);
        post({ type: 'evaluate-step', ...request });
        changed();
      },
    });
  }

  get root(): HTMLElement {
    return this.view.root;
  }

  receive(data: unknown): boolean {
    if (!isEvaluateMessage(data)) return false;
    this.state = applyEvaluateMessage(this.state, data);
    this.changed();
    return true;
  }

  /** A new run brings new maps: the evaluation of the old ones is cleared (its settings stay); a recomputed map makes it stale. */
  runMessage(message: HostToWebview, currentRunId: number | null): void {
    if (message.type === 'run' && message.runId !== currentRunId) this.state = { ...initialEvaluateState(), settings: this.state.settings };
    else if (message.type === 'result') this.state = mapChanged(this.state);
  }

  update(s: PanelState, themeKey: string): void {
    this.view.update(this.state, {
      ready: s.model !== null && !s.running && Object.keys(s.results).length > 0,
      images: s.inputs.some((i) => i?.shape.length === 3),
      display: (i) => s.inputs[i]?.display ?? null,
      themeKey,
    });
  }
}
