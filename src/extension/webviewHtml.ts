/**
 * The PathLens panel's HTML shell. Pure (no vscode import): the host passes the webview's
 * cspSource and URIs; the test harness renders the same page in a real browser.
 */
export interface PanelHtmlOptions {
  /** `webview.cspSource`: where styles, images and fonts may come from. */
  cspSource: string;
  /** A fresh random nonce per render; the only way a script may run. */
  nonce: string;
  /** URI of dist/webview/main.js as the webview sees it (`asWebviewUri`). */
  scriptUri: string;
  /** URI of dist/webview/main.css. */
  styleUri: string;
  title: string;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** The Content-Security-Policy of the panel: no network, scripts only by nonce, styles from the extension only. */
export function panelCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `img-src ${cspSource} data: blob:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

export function renderPanelHtml(options: PanelHtmlOptions): string {
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(options.nonce))
    throw new Error('renderPanelHtml: the nonce must be at least 16 base64/alphanumeric characters');
  if (/[;,\r\n<>"]/.test(options.cspSource)) throw new Error('renderPanelHtml: cspSource must not contain ; , < > " or line breaks');
  const csp = panelCsp(options.cspSource, options.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(options.title)}</title>
<link rel="stylesheet" href="${escapeHtml(options.styleUri)}">
</head>
<body>
<main id="app" aria-busy="true" aria-live="polite"><p class="placeholder">Loading PathLens…</p></main>
<noscript><p>PathLens needs JavaScript enabled in this panel.</p></noscript>
<script nonce="${escapeHtml(options.nonce)}" src="${escapeHtml(options.scriptUri)}"></script>
</body>
</html>
`;
}

/** A random nonce (32 alphanumeric characters) from the platform's crypto. */
export function createNonce(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
