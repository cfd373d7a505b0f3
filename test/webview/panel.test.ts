/**
 * The PathLens panel in Debian's Chromium: real results from the attribution core, fed as the host
 * would, and checked the way a person would look at them (pixels, plots, badges, messages sent).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { colormapRgb } from '../../src/shared/colormap';
import { aggregateChannels, formatNumber, renderOverlay, type OverlayOptions } from '../../src/shared/render';
import type { MethodResult } from '../../src/shared/types';
import { formatPercent } from '../../webview/display';
import { parseWebviewMessage, type HostToWebview, type InputStarted } from '../../src/shared/protocol';
import { ARTIFACTS, canvasPixels, choose, coreRun, methodInfos, panelSession, type ThemeName } from './harness';

const ZOO = path.resolve(__dirname, '../../../shared/zoo');

// Server, Chromium and context for this file; every panel a test opens is checked for CSP violations,
// console errors/warnings and page errors after the test.
const session = panelSession({ width: 1400, height: 1600 });
let mnist: HostToWebview[];
let iris: HostToWebview[];
let guided: HostToWebview[];

const inputOf = (msgs: HostToWebview[], i = 0) =>
  (msgs.find((m) => m.type === 'input' && m.inputIndex === i) as Extract<HostToWebview, { type: 'input' }>).input;
const resultOf = (msgs: HostToWebview[], method: string, i = 0) =>
  (msgs.find((m) => m.type === 'result' && m.inputIndex === i && m.result.method === method) as Extract<HostToWebview, { type: 'result' }>)
    .result;
const done = (runId = 1): HostToWebview => ({ type: 'done', runId, cancelled: false });

const panel = (options: { theme?: ThemeName; initialState?: unknown } = {}) => session.open(options);

const pixels = (page: Page, testid: string) => canvasPixels(page, `[data-testid="${testid}"]`);

const rgbAt = (img: { width: number; data: number[] }, index: number) => img.data.slice(index * 4, index * 4 + 3);

async function waitAttr(page: Page, testid: string, attr: string, value: string): Promise<void> {
  await page.waitForSelector(`[data-testid="${testid}"][${attr}="${value}"]`, { timeout: 10_000 });
}

async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}

/** What the map should look like, from the same data with the core's overlay renderer. */
function expected(input: InputStarted, result: MethodResult, options: Partial<OverlayOptions>) {
  return renderOverlay(result.attribution, input.display, options);
}

beforeAll(async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-webview-'));
  const csv = path.join(tmp, 'iris.csv');
  fs.writeFileSync(csv, 'sepal_length,sepal_width,petal_length,petal_width\n6.3,2.8,5.1,1.5\n');
  mnist = (
    await coreRun({
      modelPath: path.join(ZOO, 'mnist-cnn/model.json'),
      inputs: [path.join(ZOO, 'mnist-cnn/samples')],
      methods: ['ig', 'gradient', 'grad-x-input'],
      target: 'top',
      output: 'logit',
      preprocess: 'raw255',
      options: { steps: 16, rule: 'gauss-legendre' },
    })
  ).messages;
  iris = (
    await coreRun(
      {
        modelPath: path.join(ZOO, 'iris-mlp/model.json'),
        inputs: [csv],
        methods: ['ig', 'gradient'],
        target: 'top',
        output: 'logit',
        options: { steps: 16, rule: 'gauss-legendre' },
      },
      7,
    )
  ).messages;
  guided = (
    await coreRun({
      modelPath: path.join(ZOO, 'mnist-cnn/model.json'),
      inputs: [path.join(ZOO, 'mnist-cnn/samples')],
      methods: ['guided-ig'],
      target: 'top',
      output: 'logit',
      preprocess: 'raw255',
      options: { steps: 20 },
    })
  ).messages;
});

describe('PathLens panel in Chromium', () => {
  it('is never blank, says ready, fills in with real maps in the colormap colours, plots and badges', async () => {
    const p = await panel();
    const { page } = p;
    await expect.poll(() => p.posted()).toEqual([{ type: 'ready' }]);
    expect(await page.locator('.placeholder').first().textContent()).toMatch(/Waiting for PathLens/);

    // Streaming: the run, progress with a working Cancel, then results.
    await p.send(mnist);
    await page.getByTestId('progress').waitFor({ state: 'visible' });
    await page.getByTestId('cancel').click();
    await expect.poll(async () => (await p.posted()).at(-1)).toEqual({ type: 'cancel' });
    await p.send([done()]);
    await page.getByTestId('progress').waitFor({ state: 'hidden' });
    await waitAttr(page, 'map-0-ig', 'data-rendered', 'true');
    await waitAttr(page, 'map-0-gradient', 'data-rendered', 'true');
    await waitAttr(page, 'map-0-grad-x-input', 'data-rendered', 'true');

    // Header: model facts and the top-1 prediction with its score.
    const input = inputOf(mnist);
    const ig = resultOf(mnist, 'ig');
    const prediction = await page.getByTestId('prediction-0').textContent();
    expect(prediction).toContain(`class ${input.prediction.index}`);
    expect(prediction).toContain(formatNumber(input.prediction.score));
    expect(await page.locator('.facts').textContent()).toMatch(/raw255 \(explicit\)/);
    expect(await page.locator('.top5 li').count()).toBe(5);

    // The map is exactly the overlay of this attribution, and the hottest pixels carry inferno's top colour.
    const shown = await pixels(page, 'map-0-ig');
    expect([shown.width, shown.height]).toEqual([28, 28]);
    expect(shown.data).toEqual(
      Array.from(expected(input, ig, { sign: 'absolute', colormap: 'inferno', clipPercentile: 99.5, opacity: 0.6 }).rgba),
    );
    await page.getByTestId('display-all-opacity').focus();
    await page.keyboard.press('End'); // opacity 100 %: pure colormap colours
    await expect.poll(async () => (await pixels(page, 'map-0-ig')).data).toEqual(Array.from(expected(input, ig, { opacity: 1 }).rgba));
    const map = aggregateChannels(ig.attribution, 'sum');
    const order = Array.from(map.values.keys()).sort((a, b) => Math.abs(map.values[b]!) - Math.abs(map.values[a]!));
    const hottest = order[0]!;
    const cold = map.values.findIndex((v) => v === 0);
    const opaque = await pixels(page, 'map-0-ig');
    expect(rgbAt(opaque, hottest)).toEqual(colormapRgb('inferno', 1));
    expect(rgbAt(opaque, cold)).toEqual(colormapRgb('inferno', 0));

    // Hover reads the attribution value at the pixel.
    const box = (await page.getByTestId('map-0-ig').boundingBox())!;
    const [hx, hy] = [hottest % 28, Math.floor(hottest / 28)];
    await page.mouse.move(box.x + ((hx + 0.5) * box.width) / 28, box.y + ((hy + 0.5) * box.height) / 28);
    await expect
      .poll(() => page.getByTestId('map-0-ig').locator('xpath=../..').locator('.readout').textContent())
      .toContain(`(${hx}, ${hy}) attribution ${formatNumber(map.values[hottest])}`);

    // Badges: IG shows its estimated map error and δ, coloured by the worse; Gradient is not complete by design.
    const badge = page.getByTestId('badge-0-ig');
    const level = (v: number, amber: number) => (v > 0.05 ? 2 : v > amber ? 1 : 0);
    const worst = Math.max(level(ig.completeness!.relative, 0.01), level(ig.accuracy!.mapError, 0.02), ig.accuracy!.converged ? 0 : 1);
    expect(await badge.getAttribute('class')).toContain(`badge-${['ok', 'warn', 'bad'][worst]}`);
    expect(await badge.textContent()).toBe(`map ±${formatPercent(ig.accuracy!.mapError)} · δ ${formatPercent(ig.completeness!.relative)}`);
    expect(await page.getByTestId('badge-0-gradient').textContent()).toMatch(/not applicable/);
    expect(await page.getByTestId('badge-0-gradient').getAttribute('class')).toContain('badge-na');

    // Path plots: three uPlot charts that actually drew something, and the path image strip.
    const plot = page.getByTestId('path-plot-0-ig');
    expect(await plot.locator('.uplot').count()).toBe(3);
    const inked = await page.evaluate(`Array.from(document.querySelectorAll('[data-testid="path-plot-0-ig"] .uplot canvas')).map((c) => {
      const copy = document.createElement('canvas');
      copy.width = c.width; copy.height = c.height;
      const ctx = copy.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(c, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    })`);
    expect((inked as number[]).every((n) => n > 100)).toBe(true);
    expect(await plot.locator('canvas.frame').count()).toBe(5);
    expect(await plot.locator('.strip-note').textContent()).toContain('baseline zero');
    expect(await page.getByTestId('path-plot-0-gradient').textContent()).toMatch(/does not integrate along a path/);

    // Comparison table: one row per map, Gini in [0, 1].
    const ginis = await page
      .locator('[data-testid="comparison-table"] td[data-gini]')
      .evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-gini'))));
    expect(ginis).toHaveLength(3);
    expect(ginis.every((g) => g > 0 && g < 1)).toBe(true);
    await screenshot(page, 'panel-dark.png');
  });

  it('controls change the picture: sign, colormap, opacity, one map or all maps', async () => {
    const p = await panel();
    const { page } = p;
    await p.send([...mnist, done()]);
    await waitAttr(page, 'map-0-ig', 'data-rendered', 'true');
    const input = inputOf(mnist);
    const ig = resultOf(mnist, 'ig');
    const before = await pixels(page, 'map-0-ig');

    await choose(page, 'display-all-sign', 'Signed (diverging)');
    await waitAttr(page, 'map-0-ig', 'data-colormap', 'rdbu');
    await waitAttr(page, 'map-0-grad-x-input', 'data-colormap', 'rdbu'); // shared controls apply to all maps
    const signed = await pixels(page, 'map-0-ig');
    expect(signed.data).not.toEqual(before.data);
    expect(signed.data).toEqual(Array.from(expected(input, ig, { sign: 'signed', colormap: 'rdbu' }).rgba));

    await choose(page, 'display-all-sign', 'Absolute |a|');
    await choose(page, 'display-all-colormap', 'viridis');
    await waitAttr(page, 'map-0-ig', 'data-colormap', 'viridis');
    await page.getByTestId('display-all-opacity').focus();
    await page.keyboard.press('End');
    await expect
      .poll(async () => (await pixels(page, 'map-0-ig')).data)
      .toEqual(Array.from(expected(input, ig, { colormap: 'viridis', opacity: 1 }).rgba));
    const map = aggregateChannels(ig.attribution, 'sum');
    const hottest = Array.from(map.values.keys()).reduce((a, b) => (Math.abs(map.values[b]!) > Math.abs(map.values[a]!) ? b : a));
    expect(rgbAt(await pixels(page, 'map-0-ig'), hottest)).toEqual(colormapRgb('viridis', 1));

    // Opacity down: the grayscale image shows through.
    await page.keyboard.press('Home');
    await expect
      .poll(async () => (await pixels(page, 'map-0-ig')).data)
      .toEqual(Array.from(expected(input, ig, { colormap: 'viridis', opacity: 0 }).rgba));

    // Unlink: a per-map control changes only its own map.
    await page.getByTestId('link-all').click();
    await page.locator('[data-section="display-0-gradient"]').click({ position: { x: 30, y: 10 } });
    await choose(page, 'display-0-gradient-colormap', 'magma');
    await waitAttr(page, 'map-0-gradient', 'data-colormap', 'magma');
    expect(await page.getByTestId('map-0-ig').getAttribute('data-colormap')).toBe('viridis');

    // Clip percentile: a lower clip saturates more pixels.
    const clip = page.getByTestId('display-all-clip').locator('input');
    await clip.fill('90');
    await clip.press('Enter');
    await clip.press('Tab');
    await expect
      .poll(async () => (await pixels(page, 'map-0-ig')).data)
      .toEqual(Array.from(expected(input, ig, { colormap: 'viridis', opacity: 0, clipPercentile: 90 }).rgba));
  });

  it('posts setTarget, recompute and export messages of the right shape', async () => {
    const p = await panel();
    const { page } = p;
    await p.send([...mnist, done()]);
    await waitAttr(page, 'map-0-ig', 'data-rendered', 'true');
    const input = inputOf(mnist);
    const other = input.prediction.top[1]!.index;

    await choose(page, 'target-0', `class ${other}`);
    await expect.poll(async () => (await p.posted()).at(-1)).toEqual({ type: 'setTarget', inputIndex: 0, target: other });
    await page.waitForSelector('.cell.pending');

    await page.locator('[data-section="params-0-ig"]').click({ position: { x: 30, y: 10 } });
    const steps = page.getByTestId('param-0-ig-steps').locator('input');
    expect(await steps.inputValue()).toBe('16');
    expect(await page.locator('[data-section="params-0-ig"] .help').allTextContents()).toContainEqual(
      expect.stringMatching(/path points.*Default: 50; \[1, 4096\]\./),
    );
    await steps.fill('8');
    await steps.press('Tab');
    // Every declared parameter is sent: what the result used, with the user's change.
    const ranWith = resultOf(mnist, 'ig').params;
    const params = Object.fromEntries(
      methodInfos(['ig'])[0]!.parameters.map((spec) => [
        spec.name,
        (ranWith[spec.name] as string | number | boolean | undefined) ?? spec.default,
      ]),
    );
    expect(params).toMatchObject({ steps: 16, rule: 'gauss-legendre', baseline: 'zero' });
    await expect
      .poll(async () => (await p.posted()).at(-1))
      .toEqual({ type: 'recompute', inputIndex: 0, method: 'ig', params: { ...params, steps: 8 } });
    await choose(page, 'param-0-ig-rule', 'trapezoid');
    await expect
      .poll(async () => (await p.posted()).at(-1))
      .toEqual({ type: 'recompute', inputIndex: 0, method: 'ig', params: { ...params, steps: 8, rule: 'trapezoid' } });

    await page.getByTestId('export-png-0-ig').click();
    await expect.poll(async () => (await p.posted()).at(-1)?.format).toBe('png');
    const png = (await p.posted()).at(-1)!;
    expect(png.fileName).toBe('sample_digit-ig.png');
    expect(String(png.dataUrl)).toMatch(/^data:image\/png;base64,/);
    await page.getByTestId('export-json').click();
    await page.getByTestId('export-html').click();
    const posted = await p.posted();
    expect(posted.slice(-2)).toEqual([
      { type: 'export', format: 'json' },
      { type: 'export', format: 'html' },
    ]);
    // Everything the panel sent passes the host's validation unchanged.
    for (const message of posted) expect(parseWebviewMessage(message)).toEqual(message);

    // The recomputed map replaces the old one; the target's new result clears pending.
    const ig = resultOf(mnist, 'ig');
    await p.send([{ type: 'result', runId: 1, inputIndex: 0, result: { ...ig, completeness: { ...ig.completeness!, relative: 0.02 } } }]);
    await waitAttr(page, 'badge-0-ig', 'data-level', 'warn');
  });

  it('badge colours follow the δ thresholds: amber above 1 %, red above 5 %', async () => {
    const p = await panel();
    const { page } = p;
    await p.send([...mnist, done()]);
    const ig = resultOf(mnist, 'ig');
    const withRelative = (relative: number): HostToWebview => ({
      type: 'result',
      runId: 1,
      inputIndex: 0,
      // Only δ decides here (no map-error estimate): the map-error colours are tested below.
      result: { ...ig, accuracy: undefined, completeness: { ...ig.completeness!, relative } },
    });
    for (const [relative, level] of [
      [0.005, 'ok'],
      [0.03, 'warn'],
      [0.2, 'bad'],
    ] as const) {
      await p.send([withRelative(relative)]);
      await waitAttr(page, 'badge-0-ig', 'data-level', level);
      expect(await page.getByTestId('badge-0-ig').getAttribute('class')).toBe(`badge badge-${level}`);
    }
    const colors = await page.evaluate(
      `['ok', 'warn', 'bad'].map((l) => { const s = document.createElement('span'); s.className = 'badge badge-' + l; document.body.append(s); const c = getComputedStyle(s).color; s.remove(); return c; })`,
    );
    expect(new Set(colors as string[]).size).toBe(3);
  });

  it('map-error badge: amber above 2 %, red above 5 %, never green when not converged', async () => {
    const p = await panel();
    const { page } = p;
    await p.send([...mnist, done()]);
    const ig = resultOf(mnist, 'ig');
    const tiny = { ...ig.completeness!, relative: 0.001 };
    for (const [mapError, converged, level] of [
      [0.01, true, 'ok'],
      [0.01, false, 'warn'],
      [0.03, true, 'warn'],
      [0.08, true, 'bad'],
    ] as const) {
      const accuracy = { mapError, converged, basis: 'test' };
      await p.send([{ type: 'result', runId: 1, inputIndex: 0, result: { ...ig, completeness: tiny, accuracy } }]);
      await waitAttr(page, 'badge-0-ig', 'data-level', level);
      expect(await page.getByTestId('badge-0-ig').textContent()).toBe(`map ±${formatPercent(mapError)} · δ ${formatPercent(0.001)}`);
    }
    expect(await page.getByTestId('badge-0-ig').getAttribute('title')).toMatch(/Estimated map error/);
    // An adaptive run's history adds the convergence plot (map error vs evaluations) to the path plots.
    const history = [
      { evaluations: 9, mapError: 0.09 },
      { evaluations: 13, mapError: 0.04 },
      { evaluations: 21, mapError: 0.015 },
    ];
    const accuracy = { mapError: 0.015, converged: true, basis: 'adaptive trapezoid', history };
    await p.send([{ type: 'result', runId: 1, inputIndex: 0, result: { ...ig, completeness: tiny, accuracy } }]);
    await expect.poll(() => page.getByTestId('path-plot-0-ig').locator('.uplot').count()).toBe(4);
    expect(await page.locator('[data-testid="convergence-plot"]').getAttribute('aria-label')).toMatch(
      /map error vs evaluations against evaluations/,
    );
  });

  it('shows run-level and per-input errors instead of a blank panel', async () => {
    const p = await panel();
    const { page } = p;
    const run = mnist.find((m) => m.type === 'run')!;
    await p.send([
      { ...run, runId: 3, inputCount: 2 } as HostToWebview,
      { ...(mnist.find((m) => m.type === 'input') as object), runId: 3 } as HostToWebview,
    ]);
    await p.send([{ type: 'error', runId: 3, inputIndex: 1, error: { code: 'input', message: 'cannot read image broken.png' } }]);
    await expect.poll(() => page.getByTestId('error').allTextContents()).toEqual([expect.stringContaining('cannot read image broken.png')]);
    await p.send([{ type: 'error', runId: 3, error: { code: 'memory', message: 'out of memory: lower the memory budget' } }]);
    await expect.poll(() => page.getByTestId('error').count()).toBe(2);
    expect(await page.getByTestId('error').first().textContent()).toContain('out of memory');
    expect(await page.getByTestId('error').first().getAttribute('role')).toBe('alert');
    await screenshot(page, 'panel-errors.png');
    // Before any run, an error still shows (e.g. the model failed to load).
    const q = await panel();
    await q.send([{ type: 'error', runId: 1, error: { code: 'model-unsupported', message: 'unsupported layer Foo' } }]);
    await expect.poll(() => q.page.getByTestId('error').textContent()).toContain('unsupported layer Foo');
  });

  it('restores the same picture from setState after a reload, without the host', async () => {
    const p = await panel();
    await p.send([...mnist, done()]);
    await waitAttr(p.page, 'map-0-ig', 'data-rendered', 'true');
    await choose(p.page, 'display-all-sign', 'Signed (diverging)');
    await waitAttr(p.page, 'map-0-ig', 'data-colormap', 'rdbu');
    await p.page.locator('[data-section="params-0-ig"]').click({ position: { x: 30, y: 10 } });
    const before = await pixels(p.page, 'map-0-ig');
    await expect.poll(async () => JSON.stringify(await p.lastState())).toContain('"params-0-ig":true');
    expect(JSON.stringify(await p.lastState())).toContain('"sign":"signed"');
    const state = await p.lastState();

    const q = await panel({ initialState: state });
    await waitAttr(q.page, 'map-0-ig', 'data-rendered', 'true');
    expect(await q.page.getByTestId('map-0-ig').getAttribute('data-colormap')).toBe('rdbu');
    expect((await pixels(q.page, 'map-0-ig')).data).toEqual(before.data);
    expect(await q.page.getByTestId('prediction-0').textContent()).toContain(`class ${inputOf(mnist).prediction.index}`);
    expect(await q.page.getByTestId('path-plot-0-ig').locator('.uplot').count()).toBe(3);
    expect(await q.page.getByTestId('param-0-ig-steps').isVisible()).toBe(true); // the open section stayed open
    expect(await q.posted()).toEqual([{ type: 'ready' }]);
    await screenshot(q.page, 'panel-restored.png');
  });

  it("plots Guided IG's adaptive path as percentile bands of per-feature progress against the straight line", async () => {
    const p = await panel();
    const { page } = p;
    await p.send([...guided, done()]);
    await waitAttr(page, 'map-0-guided-ig', 'data-rendered', 'true');
    const plot = page.getByTestId('path-plot-0-guided-ig');
    // F, Σattr, ‖∇F‖, the percentile bands and the L1 fraction covered.
    expect(await plot.locator('.uplot').count()).toBe(5);
    expect(await plot.textContent()).toContain('Per-feature progress (percentiles)');
    for (const series of ['straight line', 'progressP10', 'progressP50', 'progressP90']) expect(await plot.textContent()).toContain(series);
    await screenshot(page, 'panel-guided-ig.png');
  });

  it('draws a signed bar chart with feature names for tabular inputs', async () => {
    const p = await panel();
    const { page } = p;
    await p.send([...iris, done(7)]);
    await waitAttr(page, 'map-0-ig', 'data-rendered', 'true');
    const chart = page.getByTestId('map-0-ig');
    expect(await chart.locator('svg rect').count()).toBe(4);
    expect(await chart.textContent()).toContain('petal_length');
    const ig = resultOf(iris, 'ig');
    const names = inputOf(iris).featureNames!;
    const top = Array.from(ig.attribution.data.keys()).reduce((a, b) =>
      Math.abs(ig.attribution.data[b]!) > Math.abs(ig.attribution.data[a]!) ? b : a,
    );
    await chart.locator('svg rect').first().hover();
    await expect
      .poll(() => page.locator('.readout').first().textContent())
      .toContain(`${names[top]} = ${formatNumber(inputOf(iris).values![top])}: attribution ${formatNumber(ig.attribution.data[top])}`);
    expect(await page.getByTestId('path-plot-0-ig').locator('.uplot').count()).toBe(3);
    await page.getByTestId('export-png-0-ig').click();
    await expect.poll(async () => (await p.posted()).at(-1)?.fileName).toBe('iris-row1-ig.png');
    await screenshot(page, 'panel-tabular.png');
  });

  it('follows the theme: light and high-contrast screenshots', async () => {
    const backgrounds: string[] = [];
    for (const theme of ['light', 'high-contrast', 'dark'] as const) {
      const p = await panel({ theme });
      await p.send([...mnist, done()]);
      await waitAttr(p.page, 'map-0-ig', 'data-rendered', 'true');
      backgrounds.push((await p.page.evaluate('getComputedStyle(document.body).backgroundColor')) as string);
      if (theme !== 'dark') await screenshot(p.page, `panel-${theme}.png`);
    }
    expect(backgrounds).toEqual(['rgb(255, 255, 255)', 'rgb(0, 0, 0)', 'rgb(30, 30, 30)']);
  });
});
