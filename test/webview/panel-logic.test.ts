import { describe, expect, it } from 'vitest';
import { panelCsp, renderPanelHtml, createNonce } from '../../src/extension/webviewHtml';
import type { MethodResult } from '../../src/shared/types';
import type { HostToWebview, InputStarted } from '../../src/shared/protocol';
import {
  baselinePixel,
  completenessLevel,
  exportFileName,
  pathImage,
  toFloat32,
  updateDisplay,
  defaultDisplay,
} from '../../webview/display';
import { gini } from '../../webview/gini';
import { routeMessage } from '../../webview/routing';
import { applyHostMessage, decodeState, encodeState, initialState, mapKey } from '../../webview/state';

describe('gini (sparsity of |attr|)', () => {
  it('is 0 for equal magnitudes, (n−1)/n for a single non-zero, sign-blind', () => {
    expect(gini([1, 1, 1, 1])).toBeCloseTo(0, 12);
    expect(gini([-2, 2, -2, 2])).toBeCloseTo(0, 12);
    expect(gini([0, 0, 0, 5])).toBeCloseTo(3 / 4, 12);
    expect(gini([0, -5, 0, 0, 0])).toBeCloseTo(4 / 5, 12);
  });
  it('matches the closed form on a small example and handles degenerate input', () => {
    // |x| sorted = 1, 2, 3: Σ(2i − n − 1)x_i / (n Σx) = (−2·1 + 0·2 + 2·3) / (3·6) = 4/18
    expect(gini(Float32Array.from([3, -1, 2]))).toBeCloseTo(4 / 18, 7);
    expect(gini([])).toBe(0);
    expect(gini([0, 0, 0])).toBe(0);
    expect(gini([NaN, Infinity, 1, 0])).toBeCloseTo(gini([0, 0, 1, 0]), 12);
  });
  it('grows as attribution concentrates', () => {
    expect(gini([1, 2, 3, 4])).toBeLessThan(gini([0, 0, 1, 9]));
  });
});

describe('display logic', () => {
  it('completeness badge levels: ok ≤ 1 %, amber above 1 %, red above 5 %, na without completeness', () => {
    const c = (relative: number) => ({ sum: 1, expected: 1, delta: 0, relative });
    expect(completenessLevel(c(0))).toBe('ok');
    expect(completenessLevel(c(0.01))).toBe('ok');
    expect(completenessLevel(c(0.0101))).toBe('warn');
    expect(completenessLevel(c(0.05))).toBe('warn');
    expect(completenessLevel(c(0.0501))).toBe('bad');
    expect(completenessLevel(c(Infinity))).toBe('bad');
    expect(completenessLevel(c(NaN))).toBe('bad');
    expect(completenessLevel(null)).toBe('na');
  });
  it('switching sign swaps between sequential and diverging colormaps and clamps numbers', () => {
    const d = defaultDisplay();
    expect(d.colormap).toBe('inferno');
    const signed = updateDisplay(d, { sign: 'signed' });
    expect(signed.colormap).toBe('rdbu');
    expect(updateDisplay(signed, { sign: 'absolute' }).colormap).toBe('inferno');
    expect(updateDisplay(d, { colormap: 'viridis' }).colormap).toBe('viridis');
    expect(updateDisplay(d, { opacity: 7, clipPercentile: 12 })).toMatchObject({ opacity: 1, clipPercentile: 50 });
    expect(updateDisplay(d, { sign: 'signed' }, { colormap: 'magma', divergingColormap: 'piyg' }).colormap).toBe('piyg');
  });
  it('path images interpolate from a known baseline pixel', () => {
    const display = { width: 1, height: 1, rgba: Uint8Array.from([200, 100, 50, 255]) };
    expect(Array.from(pathImage(display, [0, 0, 0], 0.5))).toEqual([100, 50, 25, 255]);
    expect(baselinePixel('black', null)).toEqual([0, 0, 0]);
    expect(baselinePixel('zero', { name: 'signed', mean: [127.5], std: [127.5], source: 'explicit' })).toEqual([127.5, 127.5, 127.5]);
    expect(baselinePixel('zero', { name: 'raw255', mean: [0], std: [1], source: 'explicit' })).toEqual([0, 0, 0]);
    expect(baselinePixel('blur', null)).toBeNull();
  });
  it('accepts typed arrays in any wire form and names exports safely', () => {
    expect(Array.from(toFloat32({ 0: 1, 1: 2 }))).toEqual([1, 2]);
    expect(Array.from(toFloat32([3, 4]))).toEqual([3, 4]);
    expect(exportFileName('/a/b/my digit.png', 'ig')).toBe('my digit-ig.png');
    expect(exportFileName('/a/t.csv#row3', 'grad-x-input')).toMatch(/^[\w.\- ]+\.png$/);
  });
});

describe('panel state', () => {
  const input = (target: number): InputStarted => ({
    path: '/x/a.png',
    kind: 'image',
    shape: [2, 2, 1],
    prediction: { index: 1, score: 0.9, top: [{ index: 1, score: 0.9 }] },
    target: { index: target, output: 'logit', score: 3 },
    display: { width: 2, height: 2, rgba: new Uint8Array(16).fill(9) },
  });
  const result = (method: string): MethodResult => ({
    method,
    params: { steps: 4 },
    attribution: { shape: [2, 2, 1], data: Float32Array.from([1, -2, 3, 0]) },
    completeness: { sum: 2, expected: 2, delta: 0, relative: 0 },
    timing: { ms: 1, evaluations: 4 },
  });
  const run: HostToWebview = {
    type: 'run',
    runId: 2,
    model: { path: '/m/model.json' } as never,
    backend: 'cpu',
    preprocessing: null,
    methods: [],
    inputCount: 1,
  };

  it('fills in as messages arrive and drops stale runs', () => {
    let s = applyHostMessage(initialState(), run);
    expect(s.running).toBe(true);
    s = applyHostMessage(s, { type: 'input', runId: 2, inputIndex: 0, input: input(1) });
    s = applyHostMessage(s, { type: 'result', runId: 2, inputIndex: 0, result: result('ig') });
    s = applyHostMessage(s, { type: 'result', runId: 1, inputIndex: 0, result: result('stale') });
    expect(Object.keys(s.results)).toEqual([mapKey(0, 'ig')]);
    // A new target clears the input's old maps.
    s = applyHostMessage(s, { type: 'input', runId: 2, inputIndex: 0, input: input(4) });
    expect(s.results).toEqual({});
    s = applyHostMessage(s, { type: 'error', runId: 2, inputIndex: 0, error: { code: 'input', message: 'bad' } });
    expect(s.inputErrors[0]!.message).toBe('bad');
    s = applyHostMessage(s, { type: 'done', runId: 2, cancelled: true });
    expect(s).toMatchObject({ running: false, cancelled: true });
  });

  it('round-trips through JSON (as VS Code stores setState) with typed arrays intact', () => {
    let s = applyHostMessage(initialState(), run);
    s = applyHostMessage(s, { type: 'input', runId: 2, inputIndex: 0, input: input(1) });
    s = applyHostMessage(s, {
      type: 'result',
      runId: 2,
      inputIndex: 0,
      result: { ...result('ig'), completeness: { sum: 1, expected: 0, delta: 1, relative: Infinity } },
    });
    const back = decodeState(JSON.parse(JSON.stringify(encodeState(s))))!;
    const r = back.results[mapKey(0, 'ig')]!;
    expect(r.attribution.data).toBeInstanceOf(Float32Array);
    expect(Array.from(r.attribution.data)).toEqual([1, -2, 3, 0]);
    expect(r.completeness!.relative).toBe(Infinity);
    expect(back.inputs[0]!.display!.rgba).toBeInstanceOf(Uint8Array);
    expect(decodeState({ version: 99 })).toBeNull();
    expect(decodeState(undefined)).toBeNull();
  });
});

describe('renderPanelHtml', () => {
  it('has the strict CSP, the nonce on the only script and the stylesheet link', () => {
    const nonce = createNonce();
    expect(nonce).toMatch(/^[A-Za-z0-9]{32}$/);
    const html = renderPanelHtml({
      cspSource: 'https://x.vscode-cdn.net',
      nonce,
      scriptUri: 'https://x/main.js',
      styleUri: 'https://x/main.css',
      title: 'A <b>',
    });
    const csp = panelCsp('https://x.vscode-cdn.net', nonce);
    expect(csp).toBe(
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src https://x.vscode-cdn.net; img-src https://x.vscode-cdn.net data: blob:; font-src https://x.vscode-cdn.net`,
    );
    expect(html).toContain(`content="${csp.replace(/'/g, '&#39;')}"`);
    expect(html).not.toContain('unsafe-inline');
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain(`<script nonce="${nonce}" src="https://x/main.js">`);
    expect(html).toContain('<link rel="stylesheet" href="https://x/main.css">');
    expect(html).toContain('<title>A &lt;b&gt;</title>');
    expect(html).not.toMatch(/<style|style="/);
    expect(() => renderPanelHtml({ cspSource: 'x; script-src *', nonce, scriptUri: '', styleUri: '', title: '' })).toThrow();
    expect(() => renderPanelHtml({ cspSource: 'x', nonce: 'short', scriptUri: '', styleUri: '', title: '' })).toThrow();
  });
});

describe('routeMessage (which view a host message belongs to)', () => {
  const claims = (type: string) => {
    const got: unknown[] = [];
    return { got, receive: (data: unknown) => (data as { type?: unknown })?.type === type && got.push(data) > 0 };
  };

  it('gives a side view its own messages, the run every other host message, and drops the rest', () => {
    const neurons = claims('neurons-start');
    const sanity = claims('sanity-start');
    const run: HostToWebview[] = [];
    const route = (data: unknown) => routeMessage(data, [neurons, sanity], (m) => run.push(m));
    route({ type: 'neurons-start', neuronsId: 1 });
    route({ type: 'sanity-start' });
    route({ type: 'done', runId: 1, cancelled: false });
    for (const junk of [null, 42, 'done', { type: 'no-such-message' }, { runId: 1 }]) route(junk);
    expect(neurons.got).toEqual([{ type: 'neurons-start', neuronsId: 1 }]);
    expect(sanity.got).toEqual([{ type: 'sanity-start' }]);
    expect(run).toEqual([{ type: 'done', runId: 1, cancelled: false }]);
  });
});
