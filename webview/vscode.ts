/** The webview side of the VS Code API (one instance per page, as VS Code requires). */
export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): unknown;
}

declare global {
  // Provided by VS Code inside webviews (and by the test harness).
  function acquireVsCodeApi(): VsCodeApi;
}

let api: VsCodeApi | null = null;

export function vscodeApi(): VsCodeApi {
  if (api) return api;
  if (typeof acquireVsCodeApi === 'function') {
    api = acquireVsCodeApi();
  } else {
    // Opened outside VS Code: keep working, post nowhere.
    let state: unknown;
    api = { postMessage: () => undefined, getState: () => state, setState: (s) => (state = s) };
  }
  return api;
}
