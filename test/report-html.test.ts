import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { buildReportImages, completenessLevel, renderHtmlReport } from '../src/core/report/html';
import { inputStem, writeReport } from '../src/core/report/write';
import { fixture } from './report-fixtures';

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
