/** The Neurons view wired into the panel: its state, its host messages, its requests, regions dragged on maps. */
import type { Region } from '../src/shared/neurons';
import { NeuronsView } from './neurons';
import { applyNeuronsMessage, initialNeuronsState, isNeuronsMessage, rankingRequest, type NeuronsViewState } from './neuronsState';
import type { MessageReceiver, Post } from './routing';
import type { PanelState } from './state';

export class NeuronsPane implements MessageReceiver {
  private state: NeuronsViewState = initialNeuronsState();
  private readonly view: NeuronsView;

  constructor(
    private readonly post: Post,
    private readonly changed: () => void,
  ) {
    this.view = new NeuronsView({
      request: (request) => post({ type: 'neurons', ...request }),
      cancel: () => post({ type: 'cancel' }),
      choose: (change) => {
        this.state = { ...this.state, ...change };
        changed();
      },
    });
  }

  get root(): HTMLElement {
    return this.view.root;
  }

  receive(data: unknown): boolean {
    if (!isNeuronsMessage(data)) return false;
    this.state = applyNeuronsMessage(this.state, data);
    this.changed();
    return true;
  }

  /** A rectangle dragged on an input's map: rank the units by their conductance for that region. */
  regionSelected(inputIndex: number, region: Region): void {
    this.state = { ...this.state, inputIndex, region, method: 'conductance' };
    const request = rankingRequest(this.state);
    if (request) this.post({ type: 'neurons', ...request });
    this.changed();
    setTimeout(() => this.view.root.scrollIntoView({ block: 'nearest' }), 0);
  }

  update(s: PanelState): void {
    this.view.update(this.state, (i) => s.inputs[i]?.display ?? null);
  }
}
