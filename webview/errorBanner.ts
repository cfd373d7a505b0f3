/** The one-line error shown for a failed run, input or panel problem. */
import type { WireError } from '../src/shared/protocol';
import { h } from './dom';

export function errorBanner(error: WireError, scope: string): HTMLElement {
  return h(
    'div',
    { class: 'error', role: 'alert', 'data-testid': 'error', 'data-code': error.code },
    h('strong', {}, `${scope}: `),
    error.message,
  );
}
