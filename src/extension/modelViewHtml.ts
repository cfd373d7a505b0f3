/**
 * The PathLens Model View page (read-only custom editor on model.json): the model summary and
 * buttons to explain. Pure (no vscode import); a tiny inline script runs only by nonce.
 */
import type { ModelSummary, OnnxSummary, Preprocessing } from '../shared/types';

export type ModelViewContent =
  | { kind: 'loading'; path: string }
  | { kind: 'summary'; summary: ModelSummary; preprocessing: Preprocessing | null; backend: string | null; trusted: boolean }
  | { kind: 'error'; path: string; message: string };

const esc = (text: string): string =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
const shape = (s: readonly (number | null)[] | null): string => (s ? `[${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : '');
const count = (n: number): string => n.toLocaleString('en-US');

/** Messages the page sends (validated by the host with `parseModelViewMessage`). */
export type ModelViewMessage = { type: 'explain' } | { type: 'quickExplain' } | { type: 'refresh' };

export function parseModelViewMessage(raw: unknown): ModelViewMessage | null {
  if (!raw || typeof raw !== 'object') return null;
  const type = (raw as { type?: unknown }).type;
  return type === 'explain' || type === 'quickExplain' || type === 'refresh' ? { type } : null;
}

function body(content: ModelViewContent): string {
  if (content.kind === 'loading') return `<p class="muted" data-testid="model-loading">Loading ${esc(content.path)}…</p>`;
  if (content.kind === 'error') {
    return `<h1>Cannot read this model</h1><p class="error" role="alert" data-testid="error">${esc(content.message)}</p>
<p class="muted">${esc(content.path)}</p><p><button data-msg="refresh">Try again</button></p>`;
  }
  const { summary: m, preprocessing: p } = content;
  const rows = m.layers
    .map(
      (l) =>
        `<tr><td>${esc(l.name)}</td><td>${esc(l.className)}</td><td>${esc(shape(l.outputShape))}</td><td class="num">${count(l.params)}</td></tr>`,
    )
    .join('');
  const tensors = (list: ModelSummary['inputs']) =>
    list.map((t) => `<li><code>${esc(t.name)}</code> ${esc(shape(t.shape))} ${esc(t.dtype)}</li>`).join('');
  const prep = p
    ? `${esc(p.name)} (${esc(p.source)}): x = (pixel − [${p.mean.map(String).join(', ')}]) / [${p.std.map(String).join(', ')}]${p.reason ? ` <span class="muted">— ${esc(p.reason)}</span>` : ''}`
    : 'none (inputs are used as given)';
  const labels = m.labels
    ? `${m.labels.slice(0, 50).map(esc).join(', ')}${m.labels.length > 50 ? ` … (${m.labels.length} in all)` : ''}${m.labelsSource ? ` <span class="muted">from ${esc(m.labelsSource)}</span>` : ''}`
    : '<span class="muted">none (class indices are shown)</span>';
  const buttons = content.trusted
    ? `<button data-msg="explain" data-testid="model-explain">Explain Prediction…</button>
<button data-msg="quickExplain" class="secondary" title="Images beside the model, methods from pathlens.defaultMethods">Explain Images Beside the Model</button>`
    : `<p class="muted">Explaining is disabled until you trust this workspace (Restricted Mode).</p>`;
  return `<h1>${esc(m.path.split(/[\\/]/).slice(-2).join('/'))}</h1>
<p class="muted">${esc(m.path)}</p>
<div class="actions">${buttons}</div>
<table class="facts" data-testid="model-summary">
<tr><th>Format</th><td>${esc(m.format)}${m.source ? ` <span class="muted" data-testid="model-source">— ${esc(m.source)}</span>` : ''}</td></tr>
<tr><th>Parameters</th><td>${count(m.totalParams)} (${count(m.weightBytes)} bytes of weights)</td></tr>
<tr><th>Inputs</th><td><ul>${tensors(m.inputs)}</ul></td></tr>
<tr><th>Outputs</th><td><ul>${tensors(m.outputs)}</ul></td></tr>
${m.onnx ? onnxRows(m.onnx) : ''}<tr><th>Final activation</th><td>${esc(m.finalActivation ?? 'none (raw outputs)')}</td></tr>
<tr><th>Labels</th><td>${labels}</td></tr>
<tr><th>Preprocessing</th><td>${prep}</td></tr>
${content.backend ? `<tr><th>Backend</th><td>${esc(content.backend)}</td></tr>` : ''}
</table>
<h2>Layers (${m.layers.length})</h2>
<table class="layers"><thead><tr><th>Name</th><th>Class</th><th>Output shape</th><th class="num">Parameters</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Opsets, the input's layout and how it is fed, and the op histogram of an ONNX file. */
function onnxRows(onnx: OnnxSummary): string {
  const opsets = Object.entries(onnx.opsets).map(([domain, version]) => `${domain} ${version}`);
  const ops = Object.entries(onnx.ops).map(([op, n]) => `${op} ×${n}`);
  return `<tr><th>ONNX</th><td data-testid="model-onnx">IR ${onnx.irVersion}, opsets ${esc(opsets.join(', '))}; ${onnx.nodes} nodes, ${onnx.initializers} initializers${onnx.externalData.length ? ` (external data: ${esc(onnx.externalData.join(', '))})` : ''}</td></tr>
<tr><th>Input layout</th><td>${esc(onnx.inputNote)}</td></tr>
<tr><th>Operators</th><td data-testid="model-ops">${esc(ops.join(', '))}</td></tr>
`;
}

export function renderModelViewHtml(content: ModelViewContent, options: { cspSource: string; nonce: string }): string {
  const csp = [
    `default-src 'none'`,
    `style-src 'nonce-${options.nonce}'`,
    `script-src 'nonce-${options.nonce}'`,
    `img-src ${options.cspSource} data:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>PathLens Model View</title>
<style nonce="${options.nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 20px 20px; }
h1 { font-size: 1.4em; margin-bottom: 0; } h2 { font-size: 1.1em; margin-top: 1.5em; }
.muted { color: var(--vscode-descriptionForeground); }
.error { color: var(--vscode-errorForeground); }
table { border-collapse: collapse; margin-top: 8px; }
th, td { text-align: left; padding: 3px 12px 3px 0; vertical-align: top; border-bottom: 1px solid var(--vscode-widget-border, transparent); }
.facts th { color: var(--vscode-descriptionForeground); font-weight: normal; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
ul { margin: 0; padding-left: 1.2em; }
.actions { margin: 12px 0; display: flex; gap: 8px; flex-wrap: wrap; }
button { font: inherit; color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: 1px solid var(--vscode-button-border, transparent); padding: 4px 12px; border-radius: 2px; cursor: pointer; }
button:hover { background: var(--vscode-button-hoverBackground); }
button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
button:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
</style></head>
<body>${body(content)}
<script nonce="${options.nonce}">
const vscode = acquireVsCodeApi();
for (const b of document.querySelectorAll('button[data-msg]')) b.addEventListener('click', () => vscode.postMessage({ type: b.dataset.msg }));
</script>
</body></html>
`;
}
