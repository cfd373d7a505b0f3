/**
 * The evaluate report (evaluate.html beside evaluate.json): per metric the leaderboard (mean score
 * with its 95 % bootstrap interval, random reference included) and the mean curve of every method over
 * the inputs, in the method colours of the Evaluate view. Self-contained, no scripts; all text escaped.
 */
import { METRIC_NAMES, methodColor, RANDOM_METHOD, type EvaluateReport, type MetricName } from '../../shared/evaluate';
import { escapeXml, formatNumber } from './overlay';
import { renderLineChart, type LineSeries } from './plot';

/** Mean value per curve point over the inputs that have the curve (all curves of a run have N + 1 points). */
export function meanCurve(report: EvaluateReport, metric: MetricName, method: string): { x: number[]; y: number[] } | null {
  const curves = report.inputs.flatMap((input) => {
    const curve = input.results.find((r) => r.method === method)?.metrics[metric]?.curve;
    return curve ? [curve] : [];
  });
  if (curves.length === 0) return null;
  const x = curves[0]!.map((p) => p.fraction);
  const y = x.map((_, k) => curves.reduce((s, c) => s + c[k]!.value, 0) / curves.length);
  return { x, y };
}

function metricSection(report: EvaluateReport, metric: MetricName): string {
  const rows = report.summary.filter((r) => r.metric === metric).sort((a, b) => a.rank - b.rank);
  if (rows.length === 0) return '';
  const methods = [...report.methods, RANDOM_METHOD];
  const series: LineSeries[] = methods.flatMap((method) => {
    const mean = meanCurve(report, metric, method);
    return mean ? [{ ...mean, color: methodColor(method, report.methods), label: method, dashed: method === RANDOM_METHOD }] : [];
  });
  const chart = renderLineChart(series, {
    width: 520,
    height: 260,
    title: `${metric}: mean F over ${rows[0]!.n} inputs`,
    xLabel: 'fraction of features',
  });
  const table = rows
    .map(
      (r) =>
        `<tr><td>${r.rank}</td><td><span class="swatch" style="background:${methodColor(r.method, report.methods)}"></span>${escapeXml(r.method)}</td>` +
        `<td>${formatNumber(r.mean)}</td><td>[${formatNumber(r.ci95[0])}, ${formatNumber(r.ci95[1])}]</td></tr>`,
    )
    .join('');
  return `<section class="card"><h2>${escapeXml(metric)} — ${rows[0]!.score}, ${rows[0]!.better} is better</h2>
<table><thead><tr><th>rank</th><th>method</th><th>mean ${rows[0]!.score}</th><th>95 % CI (bootstrap, B = ${report.bootstrap})</th></tr></thead><tbody>${table}</tbody></table>
${chart}</section>`;
}

/** The rules the evaluate section needs beyond a report's own (cards, tables). */
export const EVALUATE_CSS = `.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }`;

/**
 * The faithfulness section: settings, failed inputs, and per metric the leaderboard and mean curves.
 * The evaluate report is this section alone; the explain report adds it when an evaluation ran.
 */
export function renderEvaluateSection(report: EvaluateReport): string {
  const failed = report.inputs.filter((i) => i.error);
  const settings = `${report.inputs.length} inputs · N = ${report.evalSteps} steps · ${report.patch ? `${report.patch}×${report.patch} patches` : 'pixel / element features'} · baseline ${escapeXml(report.baseline)} · ${escapeXml(report.output)} · seed ${report.seed}`;
  return `<section class="evaluate">
<h1>Faithfulness: which map is faithful to the model?</h1>
<p class="muted">${escapeXml(report.model.path)} · ${settings}. The grey dashed <em>random</em> row is a seeded random ranking: what "no better than chance" looks like.</p>
${failed.length ? `<p>${failed.length} inputs failed: ${failed.map((f) => `${escapeXml(f.path)}: ${escapeXml(f.error ?? '')}`).join('; ')}</p>` : ''}
${METRIC_NAMES.filter((m) => report.metrics.includes(m))
  .map((m) => metricSection(report, m))
  .join('\n')}
</section>`;
}

export function renderEvaluateHtml(report: EvaluateReport): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>PathLens evaluate — ${escapeXml(report.model.path)}</title>
<style>
:root { color-scheme: light dark; }
body { margin: 0; padding: 24px; font: 14px/1.45 system-ui, sans-serif; }
.card { border: 1px solid #8884; border-radius: 8px; padding: 16px; margin: 0 0 16px; }
table { border-collapse: collapse; margin: 0 0 12px; } td, th { padding: 2px 10px; text-align: left; border-bottom: 1px solid #8883; }
${EVALUATE_CSS}
.muted { opacity: 0.75; }
</style></head><body>
${renderEvaluateSection(report)}
</body></html>
`;
}
