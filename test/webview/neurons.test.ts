/**
 * The "Neurons" view in Debian's Chromium, fed REAL neurons results from the core (the worker's neurons
 * job run in this process on the MNIST CNN): the layer list, the ranked units with the completeness
 * check, clicking a unit, and dragging a region on an IG map (the request the panel posts).
 */
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/engine/backend';
import { layerChoices } from '../../src/extension/neuronsRunner';
import type { LayerChoice, NeuronsResult } from '../../src/shared/neurons';
import type { HostToWebview, NeuronsJob } from '../../src/shared/protocol';
import { ModelCache, runInfoJob } from '../../src/worker/jobs';
import { runNeuronsJob } from '../../src/worker/neuronsJob';
import { choose, coreRun, panelSession } from './harness';

const ZOO = path.resolve(__dirname, '../../../shared/zoo');
const MODEL = path.join(ZOO, 'mnist-cnn/model.json');
const SAMPLE = path.join(ZOO, 'mnist-cnn/samples/sample_digit.png');

const session = panelSession({ width: 1400, height: 1600 });
let explain: HostToWebview[];
let layersMessage: HostToWebview;
let ranking: NeuronsResult;
let unit: NeuronsResult;

async function neurons(job: Partial<NeuronsJob>): Promise<NeuronsResult> {
  const cache = new ModelCache();
  try {
    const full: NeuronsJob = {
      modelPath: MODEL,
      input: SAMPLE,
      layer: 'conv2d_1',
      method: 'conductance',
      target: 'top',
      output: 'logit',
      preprocess: 'raw255',
      steps: 8,
      ...job,
    };
    return await runNeuronsJob(1, full, cache, { cancelled: false }, () => {});
  } finally {
    cache.clear();
  }
}

beforeAll(async () => {
  await initBackend('cpu');
  explain = (
    await coreRun({
      modelPath: MODEL,
      inputs: [SAMPLE],
      methods: ['ig'],
      target: 'top',
      output: 'logit',
      preprocess: 'raw255',
      options: { steps: 8 },
    })
  ).messages;
  const cache = new ModelCache();
  layersMessage = { type: 'neurons-layers', layers: layerChoices((await runInfoJob(MODEL, cache)).summary) };
  cache.clear();
  ranking = await neurons({ top: 6 });
  unit = await neurons({ unit: ranking.result!.top[0]!.index });
});

describe('Neurons view in Chromium', () => {
  it('lists layers, shows ranked units with completeness, and a unit’s map and activation on click', async () => {
    const p = await session.open();
    const { page } = p;
    await p.send([...explain, { type: 'done', runId: 1, cancelled: false }, layersMessage]);
    await page.getByTestId('neurons-view').waitFor({ state: 'visible' });
    const options = await page.locator('[data-testid="neurons-layer"] vscode-option').allTextContents();
    expect(options.some((o) => o.includes('conv2d_1 [14×14×8]'))).toBe(true);

    await page.getByTestId('neurons-find').click();
    const posted = (await p.posted()).filter((m) => m.type === 'neurons');
    expect(posted.at(-1)).toMatchObject({ type: 'neurons', inputIndex: 0, method: 'conductance' });

    await p.send([
      { type: 'neurons-start', neuronsId: 1, request: { inputIndex: 0, layer: 'conv2d_1', method: 'conductance' } },
      { type: 'neurons-progress', neuronsId: 1, progress: { stage: 'conductance', done: 4, total: 8 } },
    ]);
    await page.getByText('conductance 4/8').waitFor();
    await p.send([
      { type: 'neurons-result', neuronsId: 1, result: ranking },
      { type: 'neurons-done', neuronsId: 1, cancelled: false },
    ]);
    await page.getByTestId('neuron-unit-5').waitFor();
    const summary = await page.getByTestId('neurons-summary').textContent();
    expect(summary).toContain('Σ units');
    expect(summary).toContain('F(x) − F(x′)');
    const first = ranking.result!.top[0]!;
    expect(await page.getByTestId('neuron-unit-0').textContent()).toContain(`unit [${first.index.join(', ')}]`);

    await page.getByTestId('neuron-unit-0').click();
    const unitPost = (await p.posted()).filter((m) => m.type === 'neurons').at(-1);
    expect(unitPost).toMatchObject({ layer: 'conv2d_1', unit: first.index });
    await p.send([
      { type: 'neurons-start', neuronsId: 2, request: { inputIndex: 0, layer: 'conv2d_1', method: 'conductance', unit: first.index } },
      { type: 'neurons-result', neuronsId: 2, result: unit },
      { type: 'neurons-done', neuronsId: 2, cancelled: false },
    ]);
    await page.waitForSelector('[data-testid="neuron-unit-map"][data-rendered="true"]');
    await page.waitForSelector('[data-testid="neuron-activation"][data-rendered="true"]');
    expect(await page.getByTestId('neuron-activation').getAttribute('width')).toBe('14');
    // The ranking stays while a unit is shown.
    expect(await page.getByTestId('neuron-unit-5').isVisible()).toBe(true);
  });

  it('a rectangle dragged on the IG map asks for the units of that region, in input pixels', async () => {
    const p = await session.open();
    const { page } = p;
    await p.send([...explain, { type: 'done', runId: 1, cancelled: false }, layersMessage]);
    const map = page.locator('[data-testid="map-0-ig"][data-rendered="true"]');
    await map.waitFor();
    const box = (await map.boundingBox())!;
    // From a quarter to three quarters of the 28×28 map.
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.25);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.6, { steps: 4 });
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.75, { steps: 4 });
    await page.mouse.up();
    const request = (await p.posted()).filter((m) => m.type === 'neurons').at(-1) as unknown as {
      region: { x0: number; y0: number; x1: number; y1: number };
    };
    expect(request).toMatchObject({ type: 'neurons', inputIndex: 0, method: 'conductance' });
    expect(request.region.x0).toBeGreaterThanOrEqual(6);
    expect(request.region.x0).toBeLessThanOrEqual(7);
    expect(request.region.x1).toBeGreaterThanOrEqual(21);
    expect(request.region.x1).toBeLessThanOrEqual(22);
    expect(request.region.y1 - request.region.y0).toBeGreaterThanOrEqual(13);
    expect(await page.getByTestId('neurons-region').textContent()).toContain(`columns ${request.region.x0}–${request.region.x1 - 1}`);
  });
  it('the layer and method pickers, Cancel, a failure and "Whole input" shape what the view asks for', async () => {
    const p = await session.open();
    const { page } = p;
    await p.send([...explain, { type: 'done', runId: 1, cancelled: false }, layersMessage]);
    await page.getByTestId('neurons-view').waitFor({ state: 'visible' });
    const layers = (layersMessage as { layers: LayerChoice[] }).layers;
    const other = layers.find((l) => l.name !== 'conv2d_1')!;
    const lastNeurons = async () => (await p.posted()).filter((m) => m.type === 'neurons').at(-1);

    await choose(page, 'neurons-layer', `${other.name} [${other.shape.join('×')}] ${other.className}`);
    await choose(page, 'neurons-method', 'Layer IG (IG in activation space)');
    await page.getByTestId('neurons-find').click();
    await expect.poll(lastNeurons).toEqual({ type: 'neurons', inputIndex: 0, layer: other.name, method: 'layer-ig' });

    // While the job runs, Cancel is offered and posts a cancel; a failed job says why.
    expect(await page.getByTestId('neurons-cancel').isVisible()).toBe(false);
    await p.send([{ type: 'neurons-start', neuronsId: 7, request: { inputIndex: 0, layer: other.name, method: 'layer-ig' } }]);
    await page.getByTestId('neurons-cancel').click();
    await expect.poll(async () => (await p.posted()).at(-1)).toEqual({ type: 'cancel' });
    await p.send([{ type: 'neurons-done', neuronsId: 7, cancelled: false, error: { code: 'memory', message: 'out of memory' } }]);
    await expect.poll(() => page.getByTestId('neurons-status').textContent()).toBe('Failed: out of memory');
    expect(await page.getByTestId('neurons-cancel').isVisible()).toBe(false);

    // A region switches to conductance (the only method a region restricts); "Whole input" drops the
    // region and frees the method picker again.
    const map = page.locator('[data-testid="map-0-ig"][data-rendered="true"]');
    await map.scrollIntoViewIfNeeded(); // the pickers scrolled the page down to the view
    const box = (await map.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.6, { steps: 4 });
    await page.mouse.up();
    await expect.poll(lastNeurons).toMatchObject({ layer: other.name, method: 'conductance', region: expect.any(Object) });
    expect(await page.getByTestId('neurons-method').getAttribute('disabled')).not.toBeNull();
    await page.getByTestId('neurons-clear-region').click();
    await expect.poll(() => page.getByTestId('neurons-region').textContent()).toContain('Whole input');
    expect(await page.getByTestId('neurons-method').getAttribute('disabled')).toBeNull();
    await page.getByTestId('neurons-find').click();
    await expect.poll(lastNeurons).toEqual({ type: 'neurons', inputIndex: 0, layer: other.name, method: 'conductance' });
  });
});
