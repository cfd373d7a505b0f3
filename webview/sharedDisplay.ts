/** The display controls that apply to every map, and the switch that links the per-map controls to them. */
import { checkbox, DisplayControls } from './controls';
import type { DisplayOptions } from './display';
import { h } from './dom';
import type { PanelState } from './state';

export interface SharedDisplayHost {
  displayChanged(key: null, change: Partial<DisplayOptions>): void;
  setLinked(linked: boolean): void;
}

export class SharedDisplay {
  readonly root = h('section', { class: 'controls', 'aria-label': 'Display controls for all maps' });
  private controls: DisplayControls | null = null;
  private linkBox: ReturnType<typeof checkbox> | null = null;

  constructor(private readonly host: SharedDisplayHost) {}

  update(s: PanelState): void {
    this.root.hidden = s.model === null;
    if (!this.controls || !this.linkBox) {
      this.controls = new DisplayControls(s.ui.shared, (change) => this.host.displayChanged(null, change), 'display-all');
      this.linkBox = checkbox(
        'Link all maps (per-map display controls change every map)',
        s.ui.linked,
        (linked) => this.host.setLinked(linked),
        { 'data-testid': 'link-all' },
      );
      this.root.replaceChildren(h('h2', {}, 'Display (all maps)'), this.controls.root, this.linkBox.root);
    }
    this.controls.update(s.ui.shared);
    if (this.linkBox.el.checked !== s.ui.linked) this.linkBox.el.checked = s.ui.linked;
  }
}
