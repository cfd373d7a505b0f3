/**
 * The "Sanity checks" view in Debian's Chromium, fed REAL sanity events from the core (the worker's
 * sanity job run in this process on the MNIST CNN: cascading randomization of Gradient and IG), in
 * the order the host streams them; plus the explain grid's "Cancelled" state after a cancelled run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../src/core/sanity/metrics';
import type { SanityEvent } from '../../src/shared/sanity';
import { renderOverlay } from '../../src/shared/render';
import type { HostToWebview } from '../../src/shared/protocol';
import { buildSanityJob } from '../../src/extension/sanityState';
import { DEFAULT_SETTINGS } from '../../src/extension/settings';
import { ARTIFACTS, canvasPixels, coreRun, coreSanity, panelSession } from './harness';

const ZOO = path.resolve(__dirname, '../../../shared/zoo');
const MODEL = path.join(ZOO, 'mnist-cnn/model.json');
const SAMPLE = path.join(ZOO, 'mnist-cnn/samples/sample_digit.png');

// Server, Chromium and context for this file; every panel a test opens is checked for CSP violations,
// console errors/warnings and page errors after the test.
const session = panelSession({ width: 1400, height: 1400 });
let sanity: HostToWebview[];
let explain: HostToWebview[];

const eventOf = <T extends SanityEvent['type']>(type: T) =>
  (sanity.find((m) => m.type === 'sanity' && m.event.type === type) as Extract<HostToWebview, { type: 'sanity' }>).event as Extract<
    SanityEvent,
    { type: T }
  >;

const panel = () => session.open();

beforeAll(async () => {
  const job = buildSanityJob({ ...DEFAULT_SETTINGS, igSteps: 8, preprocess: 'raw255' }, MODEL, SAMPLE, ['gradient', 'ig'], 'cascading');
  sanity = (await coreSanity(job)).messages;
  explain = (
    await coreRun({
      modelPath: MODEL,
      inputs: [SAMPLE],
      methods: ['gradient', 'ig'],
      target: 'top',
      output: 'logit',
      preprocess: 'raw255',
      options: { steps: 8 },
    })
  ).messages;
});

describe('Sanity checks view in Chromium', () => {
  it('fills in the grid, the similarity plots and the verdicts as real sanity events arrive', async () => {
    const plan = eventOf('plan');
    const original = eventOf('original');
    const verdicts = eventOf('verdicts');
    expect(plan.steps.length).toBeGreaterThan(1);
    const stepMessages = sanity.filter((m) => m.type === 'sanity' && m.event.type === 'step');
    expect(stepMessages).toHaveLength(plan.steps.length);

    const p = await panel();
    const { page } = p;
    expect(await page.getByTestId('sanity-view').isHidden()).toBe(true);

    // Partial: the start, the plan, the original maps and the first step.
    const firstStep = sanity.indexOf(stepMessages[0]!);
    await p.send(sanity.slice(0, firstStep + 1));
    await page.getByTestId('sanity-grid').waitFor({ state: 'visible' });
    expect(await page.locator('.placeholder').isHidden()).toBe(true);
    await page.getByTestId('sanity-cancel').waitFor({ state: 'visible' });
    for (const m of ['gradient', 'ig']) {
      await page.waitForSelector(`[data-testid="sanity-map-${m}-0"][data-rendered="true"]`, { timeout: 10_000 });
      await page.waitForSelector(`[data-testid="sanity-map-${m}-1"][data-rendered="true"]`, { timeout: 10_000 });
      expect(await page.getByTestId(`sanity-map-${m}-${plan.steps.length}`).getAttribute('data-rendered')).toBe('false');
    }
    // Column heads: Original, then each randomized layer.
    const heads = await page.locator('.sanity-col-head').allTextContents();
    expect(heads).toEqual(['Original', ...plan.steps.map((s) => s.label)]);
    expect(await page.getByTestId('sanity-plot-spearmanAbs').getAttribute('data-points')).toBe('2');
    expect(await page.getByTestId('sanity-status').textContent()).toMatch(new RegExp(`1 of ${plan.steps.length} steps`));

    // The original map is the core's overlay of the same data (same renderer as the other maps).
    const shown = await canvasPixels(page, '[data-testid="sanity-map-gradient-0"] canvas');
    const want = renderOverlay(original.results.find((r) => r.method === 'gradient')!.attribution, plan.input.display ?? null, {
      sign: 'absolute',
      colormap: 'inferno',
      clipPercentile: 99.5,
      opacity: 0.6,
      aggregation: 'sum',
    });
    expect([shown.width, shown.height]).toEqual([want.width, want.height]);
    let maxDiff = 0;
    for (let i = 0; i < want.rgba.length; i++) if (i % 4 !== 3) maxDiff = Math.max(maxDiff, Math.abs(shown.data[i]! - want.rgba[i]!));
    expect(maxDiff).toBeLessThanOrEqual(2);

    // Cancel in the view reaches the host.
    await page.getByTestId('sanity-cancel').click();
    await expect.poll(async () => (await p.posted()).at(-1)).toEqual({ type: 'cancel' });

    // The rest: every step, the verdicts, done.
    await p.send(sanity.slice(firstStep + 1));
    for (const m of ['gradient', 'ig']) {
      for (let k = 0; k <= plan.steps.length; k++)
        await page.waitForSelector(`[data-testid="sanity-map-${m}-${k}"][data-rendered="true"]`, { timeout: 10_000 });
    }
    for (const metric of METRICS) {
      const plot = page.getByTestId(`sanity-plot-${metric}`);
      expect(await plot.getAttribute('data-rendered')).toBe('true');
      expect(await plot.getAttribute('data-points')).toBe(String(plan.steps.length + 1));
      expect(await plot.locator('canvas').count()).toBeGreaterThan(0);
    }
    expect(await page.getByTestId('sanity-plot-spearmanAbs').textContent()).toContain('layers randomized');
    for (const v of verdicts.verdicts) {
      const el = page.getByTestId(`sanity-verdict-${v.method}`);
      expect(await el.getAttribute('data-status')).toBe(v.status);
      expect(await el.textContent()).toContain(v.reason);
    }
    await page.getByTestId('sanity-cancel').waitFor({ state: 'hidden' });
    expect(await page.getByTestId('sanity-status').textContent()).toBe(`Done: ${plan.steps.length} of ${plan.steps.length} steps.`);
    // The similarity under each randomized map matches the step's value on the verdict metric.
    const lastStep = (stepMessages.at(-1) as Extract<HostToWebview, { type: 'sanity' }>).event as Extract<SanityEvent, { type: 'step' }>;
    const sim = lastStep.step.similarities.gradient!.spearmanAbs;
    expect(await page.locator(`[data-testid="sanity-map-gradient-${plan.steps.length}"] + .sanity-sim`).textContent()).toContain(
      sim === null ? 'n/a' : sim.toFixed(2),
    );

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.getByTestId('sanity-view').screenshot({ path: path.join(ARTIFACTS, 'sanity-cascading.png') });
    await page.screenshot({ path: path.join(ARTIFACTS, 'sanity-panel.png'), fullPage: true });
  });

  it('drops messages of an older check, shows a cancelled check, and survives a replay', async () => {
    const p = await panel();
    const { page } = p;
    const stale = sanity.map((m) => ('sanityId' in m ? { ...m, sanityId: 0 } : m)).filter((m) => m.type !== 'sanity-start');
    const cut = sanity.findIndex((m) => m.type === 'sanity' && m.event.type === 'step');
    await p.send([...sanity.slice(0, cut), ...stale, { type: 'sanity-done', sanityId: 1, cancelled: true }]);
    await page.waitForSelector('[data-testid="sanity-status"][data-state="cancelled"]', { timeout: 10_000 });
    expect(await page.getByTestId('sanity-status').textContent()).toMatch(/^Cancelled: 0 of \d+ steps/);
    expect(await page.getByTestId('sanity-map-ig-1').getAttribute('data-rendered')).toBe('false');
    expect(await page.getByTestId('sanity-map-ig-1').textContent()).toBe('cancelled');
    expect(await page.getByTestId('sanity-verdict-ig').count()).toBe(0);
    // A host replay (webview shown again) of a complete check draws it all.
    await p.send(sanity);
    await page.waitForSelector('[data-testid="sanity-verdict-ig"]', { timeout: 10_000 });
    await page.waitForSelector('[data-testid="sanity-status"][data-state="done"]', { timeout: 10_000 });
  });

  it('shows "Cancelled" (not "Waiting for the result…") on maps a cancelled explain run never computed', async () => {
    const p = await panel();
    const { page } = p;
    const withoutIg = explain.filter((m) => !(m.type === 'result' && m.result.method === 'ig'));
    await p.send(withoutIg);
    await page.waitForSelector('[data-testid="map-0-gradient"][data-rendered="true"]', { timeout: 10_000 });
    expect(await page.getByTestId('status-0-ig').textContent()).toMatch(/Waiting for the result|Computing/);
    await p.send([{ type: 'done', runId: 1, cancelled: true }]);
    await page.waitForSelector('[data-testid="status-0-ig"][data-state="cancelled"]', { timeout: 10_000 });
    expect(await page.getByTestId('status-0-ig').textContent()).toBe('Cancelled');
    expect(await page.getByTestId('badge-0-ig').textContent()).toBe('cancelled');
    expect(await page.getByTestId('status-0-gradient').isHidden()).toBe(true);
    // A run that failed as a whole says so instead.
    await p.send([
      ...withoutIg.map((m) => ('runId' in m ? { ...m, runId: 2 } : m)),
      { type: 'error', runId: 2, error: { code: 'usage', message: 'boom' } },
      { type: 'done', runId: 2, cancelled: false },
    ]);
    await page.waitForSelector('[data-testid="status-0-ig"][data-state="failed"]', { timeout: 10_000 });
  });
});
