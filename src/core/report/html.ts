/**
 * One self-contained HTML report: no network, no scripts, no external files. Images are data: URIs,
 * charts are inline SVG, CSS is inline and follows prefers-color-scheme. All text is escaped.
 */
import { describePreprocessing } from '../input/preprocess';
import { CancelledError } from '../errors';
import type { CancellationSignal, ExplainResult, InputResult, MethodResult, PreparedInput, ProgressCallback } from '../types';
import { encodePng, escapeXml as esc, formatNumber, isSpatial, renderBarChart, renderOverlay, type OverlayOptions } from './overlay';
import { renderPathPlots } from './plot';
import { EVALUATE_CSS, renderEvaluateSection } from './evaluateHtml';
import type { EvaluateReport } from '../../shared/evaluate';

/** Images for the report, indexed like `result.inputs` (and `.results`). */
export interface ReportImages {
  /** PNG bytes of each input as the model sees it (display image). */
  inputs?: (Uint8Array | null | undefined)[];
  /** Per input, per method: overlay PNG bytes, or an inline SVG string (bar chart for non-image inputs). */
  overlays?: (Uint8Array | string | null | undefined)[][];
}

/** Relative completeness gap thresholds for the amber / red badges. */
export const COMPLETENESS_AMBER = 0.01;
export const COMPLETENESS_RED = 0.05;

export function completenessLevel(relative: number): 'ok' | 'warn' | 'bad' {
  if (!(relative <= COMPLETENESS_RED)) return 'bad'; // includes NaN / Infinity
  return relative > COMPLETENESS_AMBER ? 'warn' : 'ok';
}

function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64')}`;
}

/**
 * Render overlays (PNG) or bar charts (SVG) for every (input, method), plus the input images.
 * `inputs` (matched by path) supply display images and feature names; without them image
 * attributions are drawn as plain heatmaps at attribution resolution.
 */
export function buildReportImages(
  result: ExplainResult,
  inputs: readonly PreparedInput[] = [],
  overlay: Partial<OverlayOptions> = {},
  hooks: { onProgress?: ProgressCallback; signal?: CancellationSignal } = {},
): ReportImages {
  const byPath = new Map(inputs.map((i) => [i.path, i]));
  const images: ReportImages = { inputs: [], overlays: [] };
  const total = result.inputs.reduce((n, inp) => n + inp.results.length, 0);
  let done = 0;
  result.inputs.forEach((inp) => {
    const match = byPath.get(inp.path);
    images.inputs!.push(match?.display ? encodePng(match.display) : null);
    images.overlays!.push(
      inp.results.map((r) => {
        if (hooks.signal?.cancelled) throw new CancelledError();
        hooks.onProgress?.({ stage: 'images', done: done++, total });
        try {
          if (isSpatial(r.attribution.shape)) {
            const display = match?.display;
            return encodePng(renderOverlay(r.attribution, display ?? null, overlay));
          }
          return renderBarChart(r.attribution.data, match?.featureNames, { maxBars: 30 });
        } catch {
          return null;
        }
      }),
    );
  });
  return images;
}

const CSS = `
:root { color-scheme: light dark; --bg: #f7f7f8; --card: #ffffff; --fg: #1d1d1f; --muted: #5f6368; --border: #d9d9de;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --warn-bg: #fff8c5; --bad-bg: #ffebe9; --ok-bg: #dafbe1; --code: #f0f0f3; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #16171a; --card: #1f2125; --fg: #e6e6e9; --muted: #a0a4ab; --border: #34373d;
    --ok: #3fb950; --warn: #d29922; --bad: #f85149; --warn-bg: #3b2e0a; --bad-bg: #3d1214; --ok-bg: #0f2d18; --code: #2a2c31; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 24px; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 20px; margin: 0 0 8px; }
h2 { font-size: 16px; margin: 0 0 12px; word-break: break-all; }
h3 { font-size: 15px; margin: 0 0 8px; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 20px; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; word-break: break-all; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 8px; padding: 16px; margin: 0 0 20px; }
.row { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
.methods { display: flex; flex-wrap: wrap; gap: 16px; margin-top: 16px; }
.method { border: 1px solid var(--border); border-radius: 8px; padding: 12px; flex: 1 1 340px; max-width: 680px; }
img.pic { width: 224px; height: auto; image-rendering: pixelated; border: 1px solid var(--border); border-radius: 4px; display: block; }
table { border-collapse: collapse; }
td, th { padding: 2px 10px 2px 0; text-align: left; vertical-align: top; }
th { color: var(--muted); font-weight: 500; }
tr.target td { font-weight: 700; }
td.num { font-variant-numeric: tabular-nums; text-align: right; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.badge.ok { color: var(--ok); background: var(--ok-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); }
.badge.bad { color: var(--bad); background: var(--bad-bg); }
.badge.na { color: var(--muted); background: var(--code); }
.error { color: var(--bad); background: var(--bad-bg); padding: 8px 12px; border-radius: 6px; }
code { background: var(--code); padding: 0 4px; border-radius: 3px; font-size: 12px; word-break: break-all; }
.plots { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
svg { overflow: visible; max-width: 100%; height: auto; }
footer { color: var(--muted); font-size: 12px; }
`;

function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 1000) return `${+ms.toFixed(ms < 10 ? 2 : 0)} ms`;
  if (ms < 120_000) return `${+(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function formatInteger(v: number): string {
  return Number.isFinite(v)
    ? Math.round(v)
        .toString()
        .replace(/\B(?=(\d{3})+(?!\d))/g, ',')
    : 'n/a';
}

function labelFor(result: ExplainResult, index: number, label?: string): string {
  return label ?? result.model.labels?.[index] ?? '';
}

function renderPredictions(result: ExplainResult, inp: InputResult): string {
  const rows = inp.prediction.top
    .slice(0, 5)
    .map(
      (t) =>
        `<tr${t.index === inp.target.index ? ' class="target"' : ''}><td class="num">${t.index}</td><td>${esc(labelFor(result, t.index, t.label))}</td><td class="num">${esc(formatNumber(t.score))}</td></tr>`,
    )
    .join('');
  const tLabel = labelFor(result, inp.target.index, inp.target.label);
  return `<div><h3>Top predictions</h3><table><tr><th>index</th><th>label</th><th>score</th></tr>${rows}</table>
<p><b>Explained target:</b> ${inp.target.index}${tLabel ? ` (${esc(tLabel)})` : ''} · output <code>${esc(inp.target.output)}</code> · F(x) = ${esc(formatNumber(inp.target.score))}</p></div>`;
}

function renderAccuracy(r: MethodResult): string {
  const a = r.accuracy;
  if (!a) return '';
  const level = !a.converged || a.mapError > 0.02 ? (a.mapError > 0.05 ? 'bad' : 'warn') : 'ok';
  const pct = Number.isFinite(a.mapError) ? `${formatNumber(a.mapError * 100)} %` : '∞';
  return `<p><b>Map error:</b> <span class="badge ${level}" title="estimated ‖A − A*‖₁ / ‖A*‖₁ against the exact integral">±${esc(pct)}</span> <span class="muted">(${esc(a.basis)}${a.converged ? '' : '; not converged: stopped at the evaluation cap'})</span></p>`;
}

function renderCompleteness(r: MethodResult): string {
  const c = r.completeness;
  if (!c) return `${renderAccuracy(r)}<p><b>Completeness:</b> <span class="badge na">not applicable</span></p>`;
  const level = completenessLevel(Math.abs(c.relative));
  const pct = Number.isFinite(c.relative) ? `${formatNumber(c.relative * 100)} %` : '∞';
  return `${renderAccuracy(r)}<p><b>Completeness:</b> <span class="badge ${level}" title="|δ| / |F(x) − F(x′)|">relative δ ${esc(pct)}</span><br>
<span class="muted">Σ attribution</span> ${esc(formatNumber(c.sum))} · <span class="muted">F(x) − F(x′)</span> ${esc(formatNumber(c.expected))} · <span class="muted">δ</span> ${esc(formatNumber(c.delta))}</p>`;
}

function renderParams(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  if (entries.length === 0) return '<p class="muted">no parameters</p>';
  const show = (v: unknown) => {
    let s: string;
    try {
      s =
        typeof v === 'string'
          ? v
          : (JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x)) ?? String(v));
    } catch {
      s = String(v);
    }
    return s.length > 200 ? s.slice(0, 199) + '…' : s;
  };
  return `<table class="params">${entries.map(([k, v]) => `<tr><th>${esc(k)}</th><td><code>${esc(show(v))}</code></td></tr>`).join('')}</table>`;
}

function renderMethod(r: MethodResult, overlay: Uint8Array | string | null | undefined): string {
  let picture = '<p class="muted">no image</p>';
  if (overlay instanceof Uint8Array) picture = `<img class="pic" alt="${esc(`${r.method} attribution`)}" src="${pngDataUri(overlay)}">`;
  else if (typeof overlay === 'string') picture = overlay;
  return `<div class="method"><h3>${esc(r.method)}</h3><div class="row">${picture}<div>
${renderCompleteness(r)}
<p><b>Timing:</b> ${esc(formatMs(r.timing.ms))} · ${esc(String(r.timing.evaluations))} evaluation${r.timing.evaluations === 1 ? '' : 's'}</p>
${renderParams(r.params)}
</div></div>
${r.path ? renderPathPlots(r.path) : ''}</div>`;
}

function renderInput(result: ExplainResult, inp: InputResult, k: number, images: ReportImages): string {
  const parts = [`<section class="card"><h2>${esc(inp.path)}</h2>`];
  if (inp.error) parts.push(`<p class="error">${esc(inp.error)}</p>`);
  const png = images.inputs?.[k];
  parts.push('<div class="row">');
  if (png)
    parts.push(
      `<div><img class="pic" alt="input as the model sees it" src="${pngDataUri(png)}"><div class="muted">input as the model sees it</div></div>`,
    );
  if (!inp.error || inp.prediction.top.length) parts.push(renderPredictions(result, inp));
  parts.push('</div><div class="methods">');
  inp.results.forEach((r, j) => parts.push(renderMethod(r, images.overlays?.[k]?.[j])));
  parts.push('</div></section>');
  return parts.join('\n');
}

/** The whole report as one HTML string (see the file comment). */
/** `evaluation`: the faithfulness of these maps (the panel's Evaluate view), shown after the inputs. */
export function renderHtmlReport(
  result: ExplainResult,
  images: ReportImages = {},
  options: { title?: string; evaluation?: EvaluateReport } = {},
): string {
  const m = result.model;
  const title = options.title ?? `PathLens report: ${m.path}`;
  const inputShape = m.inputs.map((t) => `[${t.shape.map((d) => (d === null ? '?' : d)).join(', ')}]`).join(', ');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}${options.evaluation ? EVALUATE_CSS : ''}</style></head>
<body>
<h1>PathLens report</h1>
<dl class="meta">
<dt>Model</dt><dd><code>${esc(m.path)}</code> (${esc(m.format)}, ${esc(formatInteger(m.totalParams))} parameters, ${esc(formatInteger(m.weightBytes))} weight bytes)</dd>
<dt>Input shape</dt><dd>${esc(inputShape)}</dd>
${m.onnx ? `<dt>ONNX input</dt><dd>${esc(m.onnx.inputNote)}</dd>\n` : ''}<dt>Final activation</dt><dd>${esc(m.finalActivation ?? 'none')}</dd>
<dt>Labels</dt><dd>${m.labels ? `${m.labels.length}${m.labelsSource ? ` from ${esc(m.labelsSource)}` : ''}` : 'none'}</dd>
<dt>Backend</dt><dd>${esc(result.backend)}</dd>
<dt>Preprocessing</dt><dd>${esc(describePreprocessing(result.preprocessing))}</dd>
<dt>Inputs</dt><dd>${result.inputs.length}</dd>
</dl>
${result.inputs.map((inp, k) => renderInput(result, inp, k, images)).join('\n')}
${options.evaluation ? renderEvaluateSection(options.evaluation) : ''}
<footer>Completeness badge: green ≤ ${COMPLETENESS_AMBER * 100} %, amber ≤ ${COMPLETENESS_RED * 100} %, red above (relative δ = |Σ attribution − (F(x) − F(x′))| / |F(x) − F(x′)|).</footer>
</body></html>
`;
}
