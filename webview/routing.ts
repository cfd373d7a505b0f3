/**
 * Routes each message from the host: the side views (neurons, evaluate, sanity) claim their own
 * message types; every other valid host message goes to the run's grid; anything else is ignored.
 */
import type { HostToWebview, WebviewToHost } from '../src/shared/protocol';
import { isHostMessage } from './state';

export type Post = (message: WebviewToHost) => void;

/** A view with its own state, fed by its own host messages. */
export interface MessageReceiver {
  /** Applies `data` when it is one of this view's messages; false when it is not. */
  receive(data: unknown): boolean;
}

export function routeMessage(data: unknown, views: readonly MessageReceiver[], run: (message: HostToWebview) => void): void {
  for (const view of views) if (view.receive(data)) return;
  if (isHostMessage(data)) run(data);
}
