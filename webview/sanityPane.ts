/** The sanity-check view wired into the panel: its state, its host messages, its Cancel. */
import { SanityView } from './sanity';
import { applySanityMessage, isSanityMessage, type SanityViewState } from './sanityState';
import type { MessageReceiver, Post } from './routing';
import type { PanelState } from './state';

export class SanityPane implements MessageReceiver {
  private state: SanityViewState | null = null;
  private readonly view: SanityView;

  constructor(
    post: Post,
    private readonly changed: () => void,
  ) {
    this.view = new SanityView(() => post({ type: 'cancel' }));
  }

  get root(): HTMLElement {
    return this.view.root;
  }

  /** A sanity check is (or was) shown in this panel. */
  get active(): boolean {
    return this.state !== null;
  }

  receive(data: unknown): boolean {
    if (!isSanityMessage(data)) return false;
    const fresh = data.type === 'sanity-start';
    this.state = applySanityMessage(this.state, data);
    this.changed();
    if (fresh) setTimeout(() => this.view.root.scrollIntoView({ block: 'start' }), 0);
    return true;
  }

  update(s: PanelState, themeKey: string): void {
    this.view.update(this.state, s.ui.shared, s.colormaps.divergingColormap, themeKey);
  }
}
