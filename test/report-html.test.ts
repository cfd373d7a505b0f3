import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { buildReportImages, completenessLevel, renderHtmlReport } from '../src/core/report/html';
import { inputStem } from '../src/shared/fileNames';
import { writeReport } from '../src/core/report/write';
import { recoverInputs } from '../src/core/report/recover';
import { defaultCropFor } from '../src/core/model/sidecars';
import type { ExplainResult } from '../src/core/types';
import { fixture } from './report-fixtures';
import { buildReport } from '../src/core/evaluate/result';
import { methodColor, type EvaluatedInput, type EvaluateSettingsRecord } from '../src/shared/evaluate';
import { runExportJob } from '../src/worker/exportJob';

function selfContained(html: string): void {
  expect(html).not.toMatch(/http/i);
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/<link/i);
  expect(html).not.toMatch(/url\(/i);
  const srcs = html.match(/src="[^"]*"/g) ?? [];
  for (const s of srcs) expect(s.startsWith('src="data:')).toBe(true);
}

describe('renderHtmlReport', () => {
  it('is self-contained and shows the key facts', () => {
    const { result, inputs } = fixture();
    const html = renderHtmlReport(result, buildReportImages(result, inputs));
    selfContained(html);
    expect(html).toContain('/models/m/model.json');
    expect(html).toContain('cpu');
    expect(html).toMatch(/unit.*default/);
    expect(html).toContain('cat'); // label from model.labels
    expect(html).toContain('probability');
    expect(html).toContain('not applicable');
    expect(html).toContain('class="badge bad"'); // 6.25 % and Infinity
    expect(html).toContain('data:image/png;base64,');
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(3); // 2 path plots + bar chart
    expect(html).toContain('income &lt;$&gt;');
    expect(html).toContain('prefers-color-scheme');
    expect(html).toContain('32 evaluations');
  });

  it('escapes a malicious input path and method name', () => {
    const evil = '/tmp/"><script>alert(1)</script><img src=x onerror=alert(2)>.png';
    const { result, inputs } = fixture(evil);
    result.inputs[0].results[0].method = '<b>ig</b>';
    result.inputs[0].error = '<i>bad</i>';
    const html = renderHtmlReport(result, buildReportImages(result, inputs));
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>ig</b>');
    expect(html).not.toContain('<i>bad</i>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    for (const s of html.match(/src="[^"]*"/g) ?? []) expect(s.startsWith('src="data:')).toBe(true);
  });

  it('classifies completeness', () => {
    expect(completenessLevel(0.005)).toBe('ok');
    expect(completenessLevel(0.02)).toBe('warn');
    expect(completenessLevel(0.06)).toBe('bad');
    expect(completenessLevel(Infinity)).toBe('bad');
    expect(completenessLevel(NaN)).toBe('bad');
  });
});

describe('writeReport', () => {
  it('writes result.json, one overlay per (input, method) and index.html', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pl-rep-')), 'nested', 'out');
    const { result, inputs } = fixture();
    const files = await writeReport(dir, result, { inputs });
    expect(files.map((f) => basename(f))).toEqual(['result.json', 'cat-ig.png', 'cat-gradient.png', 't-row2-ig.svg', 'index.html']);
    for (const f of files) expect(existsSync(f)).toBe(true);
    const json = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    expect(json.inputs).toHaveLength(2);
    const png = PNG.sync.read(readFileSync(join(dir, 'cat-ig.png')));
    expect([png.width, png.height]).toEqual([4, 4]);
    expect(readFileSync(join(dir, 't-row2-ig.svg'), 'utf8')).toContain('xmlns="http://www.w3.org/2000/svg"');
    selfContained(readFileSync(join(dir, 'index.html'), 'utf8'));
  });

  it('sanitises and de-duplicates file names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-rep2-'));
    const { result } = fixture('/a/my cat?.png');
    result.inputs[0].results[1].method = 'ig';
    const files = await writeReport(dir, result);
    expect(files.map((f) => basename(f)).slice(1, 3)).toEqual(['my_cat_-ig.png', 'my_cat_-ig-2.png']);
    expect(inputStem('../x/data.csv#row12')).toBe('data-row12');
    expect(inputStem('..')).not.toMatch(/^\./);
  });
});

describe('recoverInputs / writeReport without prepared inputs', () => {
  const ZOO = '/work/shared/zoo';
  function realResult(): ExplainResult {
    const { result } = fixture();
    const attr = new Float32Array(28 * 28);
    attr[14 * 28 + 14] = 1;
    result.model.path = `${ZOO}/mnist-cnn/model.json`;
    result.model.inputs = [{ name: 'in', shape: [null, 28, 28, 1], dtype: 'float32' }];
    result.preprocessing = { name: 'raw255', mean: [0], std: [1], source: 'explicit' };
    result.inputs[0].path = `${ZOO}/mnist-cnn/samples/sample_digit.png`;
    result.inputs[0].results = [{ ...result.inputs[0].results[0], attribution: { shape: [28, 28, 1], data: attr } }];
    return result;
  }

  it('re-reads image inputs for the display and detects the TM crop', () => {
    const result = realResult();
    const rec = recoverInputs(result);
    expect(rec).toHaveLength(1);
    expect(rec[0].display).toMatchObject({ width: 28, height: 28 });
    expect(defaultCropFor(`${ZOO}/tm-objects/model.json`)).toBe('center');
    expect(defaultCropFor(`${ZOO}/mnist-cnn/model.json`)).toBe('none');
  });

  it('re-reads CSV rows for feature names', () => {
    const { result } = fixture();
    result.model.inputs = [{ name: 'in', shape: [null, 54], dtype: 'float32' }];
    result.inputs = [{ ...result.inputs[1], path: `${ZOO}/divorce-predictor/divorce.csv#row3` }];
    result.inputs[0].results[0].attribution = { shape: [54], data: Float32Array.from({ length: 54 }, (_, i) => i - 20) };
    const rec = recoverInputs(result);
    expect(rec.map((r) => r.path)).toEqual([`${ZOO}/divorce-predictor/divorce.csv#row3`]);
    expect(rec[0].featureNames![0]).toBe('Atr1');
  });

  it('writeReport draws the overlay over the re-read image', async () => {
    const result = realResult();
    result.inputs = [result.inputs[0]];
    const dir = mkdtempSync(join(tmpdir(), 'pl-rep3-'));
    const files = await writeReport(dir, result, { overlay: { opacity: 0.5 } });
    expect(files.map((f) => basename(f))).toContain('sample_digit-ig.png');
    const withImage = PNG.sync.read(readFileSync(join(dir, 'sample_digit-ig.png')));
    const dir2 = mkdtempSync(join(tmpdir(), 'pl-rep4-'));
    await writeReport(dir2, result, { overlay: { opacity: 0.5 }, reloadInputs: false });
    const bare = PNG.sync.read(readFileSync(join(dir2, 'sample_digit-ig.png')));
    expect([withImage.width, withImage.height]).toEqual([28, 28]);
    expect(Buffer.compare(withImage.data, bare.data)).not.toBe(0);
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toContain('input as the model sees it');
  });
});

describe('the explain report with an evaluation (the panel export)', () => {
  const curve = (v: number) => ({
    curve: [
      { fraction: 0, value: v },
      { fraction: 0.5, value: v / 3 },
      { fraction: 1, value: 0 },
    ],
    auc: v / 3,
  });
  const evaluated = (index: number, values: Record<string, number>): EvaluatedInput => ({
    index,
    path: `in${index}.png`,
    prediction: { index: 0, score: 1, top: [] },
    target: { index: 0, output: 'logit', score: 1 },
    features: 16,
    results: Object.entries(values).map(([method, v]) => ({ method, params: {}, metrics: { deletion: curve(v) } })),
    timing: { ms: 1, evaluations: 9 },
  });
  const settings: EvaluateSettingsRecord = {
    model: { path: '/models/m/model.json' },
    backend: 'cpu',
    preprocessing: null,
    methods: ['ig', 'gradient'],
    metrics: ['deletion'],
    evalSteps: 2,
    patch: 2,
    target: 'top',
    baseline: 'zero',
    output: 'logit',
    seed: 0,
    bootstrap: 100,
    options: {},
  };
  // Deletion AUC, lower is better: gradient (1, 2) beats ig (3, 4) beats random (6, 9).
  const evaluation = buildReport(settings, null, [
    evaluated(0, { ig: 9, gradient: 3, random: 18 }),
    evaluated(1, { ig: 12, gradient: 6, random: 27 }),
  ]);

  it('adds the faithfulness section (leaderboard in rank order, mean curves) only when given one', async () => {
    const { result, inputs } = fixture();
    const plain = renderHtmlReport(result, buildReportImages(result, inputs));
    expect(plain).not.toContain('Faithfulness');
    const html = renderHtmlReport(result, buildReportImages(result, inputs), { evaluation });
    selfContained(html);
    const section = html.slice(html.indexOf('<section class="evaluate">'));
    expect(section).toContain('Faithfulness');
    const order = [...section.matchAll(/<td>(\d)<\/td><td><span class="swatch" style="background:(#[0-9a-f]{6})"><\/span>([\w-]+)<\/td>/g)];
    expect(order.map((m) => [m[1], m[3]])).toEqual([
      ['1', 'gradient'],
      ['2', 'ig'],
      ['3', 'random'],
    ]);
    expect(order.find((m) => m[3] === 'ig')![2]).toBe(methodColor('ig', ['ig', 'gradient']));
    expect(section).toContain('2×2 patches');
    expect(section).toContain('<svg');
  });

  it('is written by the export job the panel runs', async () => {
    const { result } = fixture();
    const file = join(mkdtempSync(join(tmpdir(), 'pl-rep-eval-')), 'report.html');
    await runExportJob(1, { result, format: 'html', file, evaluation }, { cancelled: false }, () => {});
    expect(readFileSync(file, 'utf8')).toContain('<section class="evaluate">');
    await runExportJob(1, { result, format: 'html', file }, { cancelled: false }, () => {});
    expect(readFileSync(file, 'utf8')).not.toContain('<section class="evaluate">');
  });
});
