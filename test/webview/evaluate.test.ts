/**
 * The "Evaluate" view in Debian's Chromium, fed a REAL evaluation from the core (the worker's evaluate
 * job run in this process on the comparison's maps of two sign-language digits): the request the
 * Evaluate button posts, the curves drawn in the grid's colours, the leaderboard's order and intervals,
 * and a clicked curve point → the perturbed input the model got at that step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { methodColor, type EvaluatedInput, type SummaryRow } from '../../src/shared/evaluate';
import type { EvaluateViewSettings, ExplainJob, HostToWebview } from '../../src/shared/protocol';
import { ARTIFACTS, choose, coreEvaluate, coreRun, panelSession } from './harness';

const ZOO = path.resolve(__dirname, '../../../shared/zoo');
const MODEL = path.join(ZOO, 'sign-digits-64/model.json');
const SAMPLES = ['0.jpeg', '3.jpeg'].map((f) => path.join(ZOO, 'sign-digits-64/samples', f));
const SETTINGS: EvaluateViewSettings = { metrics: ['deletion', 'insertion'], evalSteps: 8, patch: 8, bootstrap: 200 };

const session = panelSession({ width: 1400, height: 1800 });
let explain: HostToWebview[];
let evaluation: Awaited<ReturnType<typeof coreEvaluate>>;

beforeAll(async () => {
  const job: ExplainJob = {
    modelPath: MODEL,
    inputs: SAMPLES,
    methods: ['ig', 'gradient'],
    target: 'top',
    output: 'logit',
    preprocess: 'unit',
    options: { rule: 'gauss-legendre', steps: 8 },
  };
  const run = await coreRun(job);
  explain = [...run.messages, { type: 'done', runId: 1, cancelled: false }];
  evaluation = await coreEvaluate(job, run.events, SETTINGS);
});

const summaryOf = (messages: HostToWebview[]): SummaryRow[] =>
  (messages.find((m) => m.type === 'evaluate-done') as Extract<HostToWebview, { type: 'evaluate-done' }>).summary!;
const evaluatedInputs = (messages: HostToWebview[]): EvaluatedInput[] =>
  messages.flatMap((m) => (m.type === 'evaluate-input' ? [m.input] : []));

describe('Evaluate view in Chromium', () => {
  it('posts the settings, draws the curves in the grid colours and ranks the methods with intervals', async () => {
    const p = await session.open();
    const { page } = p;
    await p.send(explain);
    await page.getByTestId('evaluate-view').waitFor({ state: 'visible' });
    await page.locator('[data-testid="evaluate-metric-morf"]').click();
    await page.locator('[data-testid="evaluate-metric-lerf"]').click();
    await page.getByTestId('evaluate-run').click();
    const request = (await p.posted()).filter((m) => m.type === 'evaluate').at(-1);
    expect(request).toEqual({ type: 'evaluate', metrics: ['deletion', 'insertion'], evalSteps: 20, patch: null, bootstrap: 1000 });

    await p.send(evaluation.messages);
    for (const metric of SETTINGS.metrics) {
      const plot = page.locator(`[data-testid="evaluate-plot-${metric}"][data-y-max]`);
      await plot.waitFor();
      expect(await plot.getAttribute('data-series')).toBe('ig,gradient,random');
      expect(await plot.getAttribute('data-steps')).toBe('8');
      expect(await plot.locator('canvas').count()).toBeGreaterThan(0);
      // The leaderboard lists the core's ranks, best first, with the random reference and an interval.
      const expected = summaryOf(evaluation.messages)
        .filter((r) => r.metric === metric)
        .sort((a, b) => a.rank - b.rank || a.method.localeCompare(b.method));
      const rows = page.locator(`[data-testid="leaderboard-${metric}"] tbody tr`);
      expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-method')))).toEqual(expected.map((r) => r.method));
      expect(await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-rank'))))).toEqual(expected.map((r) => r.rank));
      expect(await rows.first().textContent()).toMatch(/\[.+, .+\]/);
    }
    // One colour per method, the same in the grid's column heads and in the leaderboard.
    const colour = (selector: string) =>
      page
        .locator(selector)
        .first()
        .evaluate((el) => getComputedStyle(el).backgroundColor);
    const gridIg = await colour('[data-testid="method-swatch-ig"]');
    expect(gridIg).toBe(await colour('[data-testid="leaderboard-deletion"] tr[data-method="ig"] .swatch'));
    expect(gridIg).toBe(hexToRgb(methodColor('ig', ['ig', 'gradient'])));
    expect(await colour('[data-testid="method-swatch-gradient"]')).not.toBe(gridIg);
    expect(await page.getByTestId('evaluate-status').textContent()).toContain('Done: 2 of 2 inputs scored');
    // A map recomputed afterwards (new parameters) makes the evaluation stale, and the view says so.
    const result = explain.find((m) => m.type === 'result')!;
    await p.send([result]);
    await expect.poll(async () => page.getByTestId('evaluate-status').textContent()).toContain('press Evaluate again');
  });

  it('a clicked curve point of one input shows the perturbed input the model got at that step', async () => {
    const p = await session.open();
    const { page } = p;
    await p.send([...explain, ...evaluation.messages]);
    await page.locator('[data-testid="evaluate-plot-deletion"][data-y-max]').waitFor();
    // Curves of the mean first; pick input 2 to inspect its points.
    await choose(page, 'evaluate-selection', 'Input 2: 3.jpeg');
    const plot = page.locator('[data-testid="evaluate-plot-deletion"][data-y-max]');
    await plot.waitFor();
    const input = evaluatedInputs(evaluation.messages).find((i) => i.index === 1)!;
    const curve = (method: string) => input.results.find((r) => r.method === method)!.metrics.deletion!.curve.map((c) => c.value);
    const k = clearestStep(curve('ig'), [curve('gradient'), curve('random')]);
    const [yMin, yMax] = [Number(await plot.getAttribute('data-y-min')), Number(await plot.getAttribute('data-y-max'))];
    const over = (await plot.locator('.u-over').boundingBox())!;
    const x = over.x + (k / SETTINGS.evalSteps) * over.width;
    const y = over.y + (1 - (curve('ig')[k]! - yMin) / (yMax - yMin)) * over.height;
    await page.mouse.move(x - 5, y);
    await page.mouse.move(x, y);
    // uPlot settles its cursor (nearest series) on an animation frame after the move; click after it.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    await page.mouse.click(x, y);
    const request = (await p.posted()).filter((m) => m.type === 'evaluate-step').at(-1);
    expect(request).toEqual({ type: 'evaluate-step', inputIndex: 1, method: 'ig', metric: 'deletion', step: k });
    const { type: _type, ...stepRequest } = request as unknown as {
      type: string;
      inputIndex: number;
      method: string;
      metric: 'deletion';
      step: number;
    };
    await p.send(await evaluation.step(stepRequest));
    const perturbed = page.locator('[data-testid="evaluate-perturbed"][data-rendered="true"]');
    await perturbed.waitFor();
    expect(await perturbed.getAttribute('width')).toBe('64');
    const caption = await page.getByTestId('evaluate-perturbed-caption').textContent();
    const changed = Math.floor((2 * k * 64 + SETTINGS.evalSteps) / (2 * SETTINGS.evalSteps));
    expect(caption).toContain(`${changed} of 64 features replaced by the baseline`);
    expect(caption).toContain('by ig');
    // The picture differs from the input where features were replaced (the baseline is black).
    const differing = await page.evaluate(() => {
      const read = (id: string) => {
        const c = document.querySelector(`[data-testid="${id}"]`) as HTMLCanvasElement;
        return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
      };
      const [a, b] = [read('evaluate-original'), read('evaluate-perturbed')];
      return a.filter((v, i) => v !== b[i]).length;
    });
    expect(differing).toBeGreaterThan(0);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.getByTestId('evaluate-view').screenshot({ path: path.join(ARTIFACTS, 'evaluate-view.png') });
  });
});

/** The interior step where `own` is farthest from every other curve (relative to their spread). */
function clearestStep(own: number[], others: number[][]): number {
  let best = 1;
  let bestGap = -Infinity;
  for (let k = 1; k < own.length - 1; k++) {
    const gap = Math.min(...others.map((o) => Math.abs(o[k]! - own[k]!)));
    if (gap > bestGap) [best, bestGap] = [k, gap];
  }
  return best;
}

function hexToRgb(hex: string): string {
  const v = parseInt(hex.slice(1), 16);
  return `rgb(${(v >> 16) & 255}, ${(v >> 8) & 255}, ${v & 255})`;
}
