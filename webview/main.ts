/**
 * The PathLens panel's entry point: registers the UI elements, starts the App (app.ts) on the page
 * and shows a start-up failure instead of a blank panel.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { App } from './app';
import { h } from './dom';
import { vscodeApi } from './vscode';

function start(): void {
  const root = document.getElementById('app') ?? document.body.appendChild(h('main', { id: 'app' }));
  let app: App | null = null;
  const report = (err: unknown) => {
    if (app) app.fail(err);
    else
      root.replaceChildren(
        h(
          'div',
          { class: 'error', role: 'alert', 'data-testid': 'error' },
          `PathLens panel failed to start: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
  };
  window.addEventListener('error', (e) => report(e.error ?? e.message));
  window.addEventListener('unhandledrejection', (e) => report(e.reason));
  try {
    app = new App(root, vscodeApi());
  } catch (err) {
    report(err);
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
