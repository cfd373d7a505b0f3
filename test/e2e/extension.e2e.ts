/**
 * PathLens in a real VS Code: package and install the VSIX into code-server, open a workspace with
 * the shipped example, right-click model.json → PathLens: Explain Prediction…, answer the pickers,
 * and check what a person sees: overlays and path plot drawn, the prediction the CLI makes for the
 * same input; then cancel a long run and check the host still answers commands.
 * Screenshots go to test-artifacts/e2e/.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Frame, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyDir,
  findWebviewFrame,
  launchBrowser,
  log,
  packageVsix,
  ROOT,
  screenshot,
  setup,
  startCodeServer,
  type CodeServer,
} from './harness';

const EXAMPLE = fs.existsSync(path.join(ROOT, 'examples/shapes/model.json'))
  ? path.join(ROOT, 'examples/shapes')
  : '/work/shared/zoo/mnist-cnn';
const EXAMPLE_NAME = path.basename(EXAMPLE);

function exampleImage(): string {
  const dirs = [path.join(EXAMPLE, 'images'), path.join(EXAMPLE, 'samples'), EXAMPLE];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    const png = fs
      .readdirSync(dir)
      .filter((f) => /\.(png|jpe?g)$/i.test(f))
      .sort()[0];
    if (png) return path.relative(EXAMPLE, path.join(dir, png));
  }
  throw new Error(`no image in ${EXAMPLE}`);
}

let cs: CodeServer | null = null;
let browser: Browser | null = null;
let page: Page;
let workspace: string;
const settings = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
  'pathlens.backend': 'wasm',
  'pathlens.defaultMethods': ['ig', 'gradient'],
  'pathlens.ig.steps': 32,
};
const timings: Record<string, number> = {};
let phaseStart = Date.now();
function phase(name: string) {
  const now = Date.now();
  timings[name] = (now - phaseStart) / 1000;
  phaseStart = now;
  log(`${name}: ${timings[name]!.toFixed(1)} s`);
}

async function quickInput(): Promise<void> {
  await page.waitForSelector('.quick-input-widget:not([style*="display: none"]) .quick-input-box input', {
    state: 'visible',
    timeout: 30_000,
  });
}

async function quickInputTitle(): Promise<string> {
  return (await page.locator('.quick-input-widget .quick-input-title').textContent()) ?? '';
}

/** Waits until the quick input's title contains `text` (pickers follow each other in the same widget). */
async function waitQuickTitle(text: string): Promise<void> {
  await quickInput();
  await expect.poll(quickInputTitle, { timeout: 30_000 }).toContain(text);
}

async function runCommand(title: string): Promise<void> {
  // Focus the workbench (not a webview, which may swallow keys), then open the command palette;
  // retry once if it did not open.
  for (let attempt = 0; ; attempt++) {
    await page.locator('.part.sidebar .composite.title').first().click();
    await page.keyboard.press('F1');
    try {
      await page.waitForSelector('.quick-input-widget:not([style*="display: none"]) .quick-input-box input', {
        state: 'visible',
        timeout: 5000,
      });
      break;
    } catch (err) {
      if (attempt >= 2) throw err;
    }
  }
  await page.keyboard.type(title);
  await page.waitForTimeout(500);
  await page.keyboard.press('Enter');
}

/** Right-clicks an Explorer row and runs a context-menu entry; retries if the menu did not take the click. */
async function contextMenu(row: Locator, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await row.click({ button: 'right' });
    const item = page.getByRole('menuitem', { name });
    try {
      await item.waitFor({ state: 'visible', timeout: 15_000 });
      await page.waitForTimeout(200); // the menu settles (position, late contributions)
      await item.click({ timeout: 5000 });
      await page.locator('.context-view-block').waitFor({ state: 'detached', timeout: 5000 });
      return;
    } catch (err) {
      await page.keyboard.press('Escape');
      if (attempt >= 2) throw err;
      log(`context menu '${name}' did not take the click; retrying`);
    }
  }
}

/** In a multi-select method picker, leave exactly the method titled `title` checked. */
async function checkOnlyMethod(title: string): Promise<void> {
  const rows = page.locator('.quick-input-list .monaco-list-row[role="checkbox"]');
  const states = await rows.evaluateAll((els) => els.map((e) => [e.getAttribute('aria-label') ?? '', e.getAttribute('aria-checked')]));
  for (const [label, checked] of states) {
    const want = label!.startsWith(`${title},`);
    if ((checked === 'true') !== want) await page.locator(`.quick-input-list .monaco-list-row[aria-label="${label}"]`).click();
  }
}

/** Explain Prediction… on a model row: the first input the picker matches for `input`, the default methods. */
async function explainFromMenu(row: Locator, model: string, input: string): Promise<void> {
  await contextMenu(row, 'PathLens: Explain Prediction…');
  await waitQuickTitle(`PathLens: inputs for ${model}`);
  await page.keyboard.type(input);
  await page.waitForTimeout(300);
  await page.keyboard.press('Enter');
  await waitQuickTitle('PathLens: attribution methods');
  await page.keyboard.press('Enter');
}

/** Explain Prediction… on a model row, with the example's image and the default methods. */
async function explainWithExampleImage(row: Locator, model: string): Promise<void> {
  await explainFromMenu(row, model, path.basename(exampleImage()));
}

async function openExplorerItem(label: string): Promise<void> {
  const row = page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${label}"]`).first();
  await row.waitFor({ timeout: 30_000 });
  await row.click();
}

async function panelFrame(selector: string, timeoutMs = 120_000): Promise<Frame> {
  return findWebviewFrame(page, selector, timeoutMs);
}

/** The CLI's prediction for `image` (default model: the shipped example in the workspace). */
function cliPrediction(
  image: string,
  model = path.join(workspace, EXAMPLE_NAME, 'model.json'),
): { label: string; index: number; score: number } {
  const out = execFileSync(
    'node',
    [path.join(ROOT, 'dist/cli.js'), 'explain', '--model', model, '--input', image, '--method', 'gradient', '--backend', 'wasm', '--json'],
    {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  const json = JSON.parse(out) as { inputs: { prediction: { label?: string; index: number; score: number } }[] };
  const p = json.inputs[0]!.prediction;
  return { label: p.label ?? String(p.index), index: p.index, score: p.score };
}

describe('PathLens in VS Code (code-server)', () => {
  beforeAll(async () => {
    phaseStart = Date.now();
    const env = setup();
    phase('setup');
    const vsix = packageVsix();
    phase('package');
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-e2e-ws-'));
    copyDir(EXAMPLE, path.join(workspace, EXAMPLE_NAME));
    // The PGIG test's model, present from the start: a folder copied in later may reach the Explorer
    // only after its file watcher catches up, which is slow on a loaded machine.
    const stressTest = path.join(workspace, 'stress-test');
    copyDir(path.join(ROOT, 'examples/stress-test'), stressTest);
    fs.rmSync(path.join(stressTest, '.pathlens'), { recursive: true, force: true }); // no fitted patterns
    fs.writeFileSync(path.join(stressTest, 'sample.csv'), 'x1,x2\n0.6,0.2\n');
    // A Keras model (MNIST as .keras, from the Keras fixtures) and an HDF5 file that is not a model.
    const kerasDir = path.join(workspace, 'keras-mnist');
    fs.mkdirSync(kerasDir);
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/keras/mnist-cnn/model.keras'), path.join(kerasDir, 'mnist.keras'));
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/keras/iris-mlp/not-keras.h5'), path.join(kerasDir, 'measurements.h5'));
    copyDir('/work/shared/zoo/mnist-cnn/samples', path.join(kerasDir, 'samples'));
    fs.writeFileSync(path.join(kerasDir, 'pathlens.json'), '{"preprocess": "raw255", "grayFrom": "red"}');
    // An ONNX export (torchvision-style ResNet at 32×32, NCHW) with an image beside it.
    const onnxDir = path.join(workspace, 'onnx-resnet');
    fs.mkdirSync(onnxDir);
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/onnx/resnet_basic.op17.onnx'), path.join(onnxDir, 'resnet.onnx'));
    fs.copyFileSync(path.join(EXAMPLE, exampleImage()), path.join(onnxDir, 'onnx-sample.png'));
    const onnxBytes = fs.readFileSync(path.join(onnxDir, 'resnet.onnx'));
    fs.writeFileSync(path.join(onnxDir, 'truncated.onnx'), onnxBytes.subarray(0, onnxBytes.length >> 1));
    cs = await startCodeServer(env, vsix, workspace, settings);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    page.on('pageerror', (err) => log(`page error: ${err.message}`));
    await page.goto(`${cs.url}?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench .explorer-folders-view', { timeout: 90_000 });
    // Menu contributions and extension activation arrive a little after the workbench.
    await page.waitForTimeout(5000);
    phase('start VS Code');
  });

  afterAll(async () => {
    if (page) await screenshot(page, '99-final').catch(() => undefined);
    await browser?.close();
    await cs?.stop();
    if (cs && process.env.PATHLENS_E2E_KEEP !== '1') fs.rmSync(cs.dirs.base, { recursive: true, force: true });
    if (workspace && process.env.PATHLENS_E2E_KEEP !== '1') fs.rmSync(workspace, { recursive: true, force: true });
    log(`timings (s): ${JSON.stringify(timings)}`);
  });

  it('explains model.json from the Explorer context menu; the panel matches the CLI', async () => {
    const image = exampleImage();
    await openExplorerItem(EXAMPLE_NAME);
    const modelRow = page.locator('.explorer-folders-view .monaco-list-row[aria-label="model.json"]').first();
    await modelRow.waitFor({ timeout: 30_000 });
    await modelRow.click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'PathLens: Explain Prediction…' }).waitFor({ timeout: 30_000 });
    await screenshot(page, '01-context-menu');
    await page.keyboard.press('Escape');
    await contextMenu(modelRow, 'PathLens: Explain Prediction…');

    // Inputs: filter to one image and take it.
    await waitQuickTitle('PathLens: inputs');
    await page.keyboard.type(path.basename(image));
    await page.waitForTimeout(500);
    await screenshot(page, '02-input-picker');
    await page.keyboard.press('Enter');

    // Methods: the defaults from the settings (ig, gradient) are checked.
    await waitQuickTitle('PathLens: attribution methods');
    await page.waitForTimeout(300);
    await screenshot(page, '03-method-picker');
    await page.keyboard.press('Enter');
    phase('pickers');

    const frame = await panelFrame('[data-testid="map-0-ig"][data-rendered="true"]', 180_000);
    await frame.waitForSelector('[data-testid="map-0-gradient"][data-rendered="true"]', { timeout: 120_000 });
    await frame.waitForSelector('[data-testid="path-plot-0-ig"]', { timeout: 60_000 });
    phase('explain in panel');
    await page.waitForTimeout(500);
    await screenshot(page, '04-panel');

    // The overlay canvases really hold pixels.
    const drawn = await frame.$eval('[data-testid="map-0-ig"]', (el) => {
      const canvas = el as HTMLCanvasElement;
      const ctx = canvas.getContext('2d');
      if (!ctx || canvas.width === 0) return 0;
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let nonEmpty = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0 && data[i]! + data[i + 1]! + data[i + 2]! > 0) nonEmpty++;
      return nonEmpty / (data.length / 4);
    });
    expect(drawn).toBeGreaterThan(0.2);
    // The path plot has something drawn in it (uPlot canvas or SVG).
    const plotHasContent = await frame.$eval(
      '[data-testid="path-plot-0-ig"]',
      (el) => el.querySelector('canvas, svg') !== null && el.getBoundingClientRect().height > 20,
    );
    expect(plotHasContent).toBe(true);
    expect(await frame.$('[data-testid="error"]')).toBeNull();

    // The prediction shown is the CLI's for the same input.
    const cli = cliPrediction(path.join(workspace, EXAMPLE_NAME, image));
    const shown = (await frame.textContent('[data-testid="prediction-0"]')) ?? '';
    log(`panel prediction: ${shown.replace(/\s+/g, ' ').trim()} | CLI: ${cli.label} ${cli.score.toFixed(4)}`);
    expect(shown).toContain(cli.label);
    phase('checks');
  });

  it('cancels a long run from the panel and stays responsive', async () => {
    // A long run: IG with 4096 fixed steps and Guided IG (a sequential path) on every image beside the
    // model (batched IG alone on the pool, or adaptive IG, finishes the example in a few seconds). Settings are read at each run; workspace settings are picked up by
    // VS Code's file watcher.
    fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    fs.writeFileSync(
      path.join(workspace, '.vscode', 'settings.json'),
      JSON.stringify(
        {
          'pathlens.ig.steps': 4096,
          'pathlens.ig.rule': 'gauss-legendre',
          'pathlens.memoryBudgetMB': 32,
          'pathlens.defaultMethods': ['ig', 'guided-ig'],
        },
        null,
        2,
      ),
    );
    // More inputs (copies of the example's images, removed after this test) so the run outlasts the click.
    const imageDir = path.join(workspace, EXAMPLE_NAME, path.dirname(exampleImage()));
    const copies: string[] = [];
    for (const f of fs.readdirSync(imageDir).filter((n) => /\.(png|jpe?g)$/i.test(n))) {
      for (let k = 1; k <= 3; k++) {
        const copy = path.join(imageDir, `zz-copy${k}-${f}`);
        fs.copyFileSync(path.join(imageDir, f), copy);
        copies.push(copy);
      }
    }
    // Wait until the method picker shows the new defaults (only IG checked), then cancel that probe.
    const deadline = Date.now() + 60_000;
    for (;;) {
      await runCommand('PathLens: Explain Prediction…');
      await waitQuickTitle('PathLens: inputs');
      await page.keyboard.type(path.basename(exampleImage()));
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
      await waitQuickTitle('PathLens: attribution methods');
      await page.waitForTimeout(300);
      const gradientChecked = await page
        .locator('.quick-input-list .monaco-list-row[aria-label^="Gradient,"]')
        .first()
        .getAttribute('aria-checked');
      await page.keyboard.press('Escape');
      if (gradientChecked === 'false') break;
      if (Date.now() > deadline) throw new Error('the workspace settings were not picked up within 60 s');
      await page.waitForTimeout(2000);
    }
    phase('settings applied');

    const modelRow = page.locator('.explorer-folders-view .monaco-list-row[aria-label="model.json"]').first();
    await contextMenu(modelRow, 'PathLens: Explain Prediction…');
    await waitQuickTitle('PathLens: inputs');
    // Check every image beside the model (not Browse…), then accept.
    const rows = page.locator('.quick-input-list .monaco-list-row[role="checkbox"]');
    const labels = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    let checked = 0;
    for (const label of labels) {
      if (!/\.(png|jpe?g),/i.test(label)) continue;
      await page.locator(`.quick-input-list .monaco-list-row[aria-label="${label}"]`).click();
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
    await page.waitForTimeout(300);
    await screenshot(page, '05-inputs-checked');
    await page.keyboard.press('Enter');
    await waitQuickTitle('PathLens: attribution methods');
    await page.keyboard.press('Enter');

    const frame = await panelFrame('[data-testid="cancel"]', 60_000);
    // Wait until it is really computing (a progress notification is up), then cancel from the panel.
    await page.waitForSelector('.notifications-toasts .notification-toast', { timeout: 60_000 });
    await page.waitForTimeout(3000);
    await screenshot(page, '06-long-run');
    expect(await frame.isVisible('[data-testid="cancel"]'), 'the long run is still running when Cancel is pressed').toBe(true);
    const cancelAt = Date.now();
    await frame.click('[data-testid="cancel"]');
    // The progress notification goes away once the worker stopped.
    await expect
      .poll(
        async () =>
          page
            .locator(
              '.notifications-toasts .notification-toast .monaco-progress-container.active, .notifications-toasts .notification-toast .progress-bit',
            )
            .count(),
        { timeout: 30_000 },
      )
      .toBe(0);
    const stoppedMs = Date.now() - cancelAt;
    log(`run stopped ${stoppedMs} ms after Cancel`);
    expect(stoppedMs).toBeLessThan(15_000);
    phase('cancel');
    await screenshot(page, '07-cancelled');

    // The host still answers: a second command runs and reports that nothing is running.
    await runCommand('PathLens: Cancel Running Explanation');
    await page.getByText('PathLens: nothing is running.').first().waitFor({ timeout: 20_000 });
    // …and the log says what happened.
    await runCommand('PathLens: Show Log');
    const output = page.locator('.part.panel .view-lines');
    await expect.poll(async () => (await output.textContent()) ?? '', { timeout: 20_000 }).toContain('cancel');
    await screenshot(page, '08-log-after-cancel');
    for (const copy of copies) fs.rmSync(copy, { force: true });
    phase('responsive');
  });
  it('shows a clear error in the panel and a notification for a broken model', async () => {
    const broken = path.join(workspace, 'broken');
    fs.mkdirSync(broken, { recursive: true });
    fs.writeFileSync(path.join(broken, 'model.json'), '{"format": "layers-model", "modelTopology": ');
    await openExplorerItem('broken');
    // broken/ sorts before the example: once expanded, its model.json is the first of two rows.
    const modelRows = page.locator('.explorer-folders-view .monaco-list-row[aria-label="model.json"]');
    await expect.poll(() => modelRows.count(), { timeout: 30_000 }).toBe(2);
    await explainWithExampleImage(modelRows.first(), 'broken/model.json');
    const frame = await panelFrame('[data-testid="error"]', 60_000);
    const message = (await frame.textContent('[data-testid="error"]')) ?? '';
    log(`panel error: ${message}`);
    expect(message).toMatch(/model\.json/);
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'PathLens:' }).first().waitFor({ timeout: 20_000 });
    await screenshot(page, '09-broken-model');
    phase('broken model');
  });

  it('refuses a model whose weight shard lies outside its folder: a clear panel error, and the host keeps working', async () => {
    // A doctored copy of the example: same topology, but its manifest names the example's shards via
    // '../' — a loader that followed it would explain the model as if nothing were wrong.
    const hostile = path.join(workspace, 'hostile');
    fs.mkdirSync(hostile, { recursive: true });
    const json = JSON.parse(fs.readFileSync(path.join(workspace, EXAMPLE_NAME, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    for (const group of json.weightsManifest) group.paths = group.paths.map((p) => `../${EXAMPLE_NAME}/${p}`);
    fs.writeFileSync(path.join(hostile, 'model.json'), JSON.stringify(json));
    await openExplorerItem('hostile');
    // broken/, hostile/ and the example are expanded: hostile's model.json is the second of three rows.
    const modelRows = page.locator('.explorer-folders-view .monaco-list-row[aria-label="model.json"]');
    await expect.poll(() => modelRows.count(), { timeout: 30_000 }).toBe(3);
    await explainWithExampleImage(modelRows.nth(1), 'hostile/model.json');
    const selector = '[data-testid="error"]:has-text("outside the model folder")';
    const frame = await panelFrame(selector, 60_000);
    const message = (await frame.textContent(selector)) ?? '';
    log(`panel error: ${message}`);
    expect(message).toMatch(/weightsManifest\[0\]\.paths\[0\]/);
    expect(message).not.toMatch(/Unexpected error|\n\s+at /);
    await screenshot(page, '09b-hostile-model');
    // The extension host still answers commands after the refusal.
    await runCommand('PathLens: Show Log');
    // Leave the Explorer as the later tests expect it (two model.json rows).
    fs.rmSync(hostile, { recursive: true, force: true });
    await expect.poll(() => modelRows.count(), { timeout: 30_000 }).toBe(2);
    phase('hostile model');
  });

  it('opens the Model View from the Explorer and shows the summary', async () => {
    // Collapse broken/ so the only model.json row left is the example's.
    await openExplorerItem('broken');
    const rows = page.locator('.explorer-folders-view .monaco-list-row[aria-label="model.json"]');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1);
    await contextMenu(rows.first(), 'PathLens: Show Model Summary');
    const frame = await panelFrame('[data-testid="model-summary"]', 60_000);
    const text = (await frame.textContent('[data-testid="model-summary"]')) ?? '';
    expect(text).toContain('Parameters');
    expect(text).toMatch(/layers-model|graph-model/);
    await screenshot(page, '10-model-view');
    phase('model view');
  });
  it('explains an image from its context menu with a recently used model', async () => {
    const image = exampleImage();
    for (const part of path
      .dirname(image)
      .split(path.sep)
      .filter((d) => d !== '.'))
      await openExplorerItem(part);
    const row = page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${path.basename(image)}"]`).first();
    await row.waitFor({ timeout: 30_000 });
    await contextMenu(row, 'PathLens: Explain This Image With…');
    await waitQuickTitle('PathLens: pick a model');
    // Recently used models come first (the broken one was the last used, then the example).
    const labels = await page
      .locator('.quick-input-list .monaco-list-row')
      .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    expect(labels[0]).toContain('recently used');
    expect(labels.slice(0, 2).some((l) => l.startsWith(`${EXAMPLE_NAME}/model.json`))).toBe(true);
    await screenshot(page, '11-model-picker');
    await page.keyboard.type(`${EXAMPLE_NAME}/model.json`);
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    await waitQuickTitle('PathLens: attribution methods');
    // Only Gradient this time (fast): toggle the checked defaults off and Gradient on.
    await checkOnlyMethod('Gradient');
    await page.keyboard.press('Enter');
    const frame = await panelFrame('[data-testid="map-0-gradient"][data-rendered="true"]', 120_000);
    expect(await frame.$('[data-testid="map-0-ig"]')).toBeNull();
    const cli = cliPrediction(path.join(workspace, EXAMPLE_NAME, image));
    expect((await frame.textContent('[data-testid="prediction-0"]')) ?? '').toContain(cli.label);
    await screenshot(page, '12-image-explained');
    phase('explain image');
  });

  it('exports the results JSON, the HTML report and a PNG through save dialogs', async () => {
    const frame = await panelFrame('[data-testid="export-json"]', 30_000);
    // The Evaluate view scores the panel's maps in the worker; the HTML report then carries its section.
    await frame.click('[data-testid="evaluate-run"]');
    await frame.waitForSelector('[data-testid="leaderboard-deletion"] tbody tr[data-method="random"]', { timeout: 120_000 });
    await frame.waitForSelector('[data-testid="evaluate-plot-deletion"][data-y-max]', { timeout: 30_000 });
    expect(await frame.textContent('[data-testid="evaluate-status"]')).toContain('Done: 1 of 1 inputs scored');
    await screenshot(page, '12-evaluate');
    const before = new Set(fs.readdirSync(workspace));
    const exported = async (testid: string, ext: string): Promise<string> => {
      await frame.click(`[data-testid="${testid}"]`);
      // VS Code's own save dialog (a quick input holding the proposed path): accept it.
      await quickInput();
      await page.waitForTimeout(500);
      await page.keyboard.press('Enter');
      let file = '';
      await expect
        .poll(
          () => {
            file = fs.readdirSync(workspace).find((f) => f.endsWith(ext) && !before.has(f)) ?? '';
            return file;
          },
          { timeout: 30_000 },
        )
        .not.toBe('');
      before.add(file);
      const full = path.join(workspace, file);
      await expect.poll(() => fs.statSync(full).size, { timeout: 10_000 }).toBeGreaterThan(0);
      return full;
    };
    const json = JSON.parse(fs.readFileSync(await exported('export-json', '.json'), 'utf8')) as {
      inputs: { prediction: { label?: string }; results: { method: string }[] }[];
    };
    const cli = cliPrediction(path.join(workspace, EXAMPLE_NAME, exampleImage()));
    expect(json.inputs[0]!.prediction.label).toBe(cli.label);
    expect(json.inputs[0]!.results.map((r) => r.method)).toEqual(['gradient']);
    const html = fs.readFileSync(await exported('export-html', '.html'), 'utf8');
    expect(html).toMatch(/<html/i);
    expect(html).toContain('data:image/png;base64,');
    expect(html).toContain('<section class="evaluate">');
    const png = fs.readFileSync(await exported('export-png-0-gradient', '.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    await screenshot(page, '13-exported');
    phase('export');
  });

  it('recomputes an input for another target class chosen in the panel', async () => {
    const frame = await panelFrame('[data-testid="target-0"]', 30_000);
    const labels = fs
      .readFileSync(path.join(workspace, EXAMPLE_NAME, 'labels.txt'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const current = Number(await frame.$eval('[data-testid="target-0"]', (el) => (el as HTMLSelectElement).value));
    const next = (current + 1) % labels.length;
    // The panel's own handler runs (value change → 'setTarget' message → host → worker → panel).
    await frame.$eval(
      '[data-testid="target-0"]',
      (el, v) => {
        (el as HTMLSelectElement).value = String(v);
        el.dispatchEvent(new Event('change'));
      },
      next,
    );
    await expect
      .poll(async () => (await frame.textContent('body')) ?? '', { timeout: 60_000 })
      .toContain(`Explaining ${labels[next]} (class ${next})`);
    await frame.waitForSelector('[data-testid="map-0-gradient"][data-rendered="true"]', { timeout: 60_000 });
    await screenshot(page, '14-new-target');
    phase('set target');
  });

  it('runs sanity checks from the Explorer context menu; the panel draws the sanity grid, plots and verdicts', async () => {
    const image = exampleImage();
    const modelRow = page.locator('.explorer-folders-view .monaco-list-row[aria-label="model.json"]').first();
    await contextMenu(modelRow, 'PathLens: Run Sanity Checks…');
    await waitQuickTitle('PathLens: the input to run sanity checks on');
    await page.keyboard.type(path.basename(image));
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    await waitQuickTitle('PathLens: methods to sanity-check');
    // Gradient only (fast): toggle the checked defaults off and Gradient on.
    await checkOnlyMethod('Gradient');
    await page.keyboard.press('Enter');
    await waitQuickTitle('PathLens: sanity check');
    await page.keyboard.type('Cascading');
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    phase('sanity pickers');

    const frame = await panelFrame('[data-testid="sanity-grid"]', 60_000);
    await frame.waitForSelector('[data-testid="sanity-map-gradient-0"][data-rendered="true"]', { timeout: 120_000 });
    await frame.waitForSelector('[data-testid="sanity-verdict-gradient"]', { timeout: 180_000 });
    const columns = await frame.$$eval('.sanity-col-head', (els) => els.length);
    expect(columns).toBeGreaterThan(1);
    for (let k = 0; k < columns; k++)
      await frame.waitForSelector(`[data-testid="sanity-map-gradient-${k}"][data-rendered="true"]`, { timeout: 30_000 });
    expect(await frame.getAttribute('[data-testid="sanity-plot-spearmanAbs"]', 'data-rendered')).toBe('true');
    const verdict = (await frame.textContent('[data-testid="sanity-verdict-gradient"]')) ?? '';
    log(`sanity verdict: ${verdict.replace(/\s+/g, ' ').trim()}`);
    expect(verdict).toMatch(/randomiz/);
    expect(await frame.$('[data-testid="sanity-error"]')).toBeNull();
    await frame.$eval('[data-testid="sanity-view"]', (el) => el.scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(500);
    await screenshot(page, '14b-sanity-checks');
    phase('sanity checks');
  });

  it('restores the panel after a window reload (WebviewPanelSerializer + webview state)', async () => {
    await page.reload();
    await page.waitForSelector('.monaco-workbench .explorer-folders-view', { timeout: 90_000 });
    const tab = page.locator('.tabs-container .tab', { hasText: `PathLens: ${EXAMPLE_NAME}/model.json` }).first();
    await tab.waitFor({ timeout: 60_000 });
    await tab.click();
    const frame = await panelFrame('[data-testid="prediction-0"]', 60_000);
    expect(((await frame.textContent('[data-testid="prediction-0"]')) ?? '').length).toBeGreaterThan(0);
    await screenshot(page, '15-restored-after-reload');
    phase('reload');
  });

  it('offers to fit patterns when PGIG has none, fits them on a CSV through the open dialog, and re-runs', async () => {
    const dir = path.join(workspace, 'stress-test');
    await openExplorerItem('stress-test');
    const modelRows = page.locator('.explorer-folders-view .monaco-list-row[aria-label="model.json"]');
    await expect.poll(() => modelRows.count(), { timeout: 30_000 }).toBe(2);
    await contextMenu(modelRows.nth(1), 'PathLens: Explain Prediction…');
    await waitQuickTitle('PathLens: inputs for stress-test/model.json');
    await page.keyboard.type('sample.csv');
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    await waitQuickTitle('PathLens: attribution methods');
    // The list is virtualised (PGIG is below the fold): filter to it and check it; the defaults stay checked.
    await page.keyboard.type('pgig');
    const pgig = page.locator('.quick-input-list .monaco-list-row[role="checkbox"][aria-label^="Pattern-Guided IG,"]').first();
    await pgig.waitFor({ timeout: 10_000 });
    if ((await pgig.getAttribute('aria-checked')) !== 'true') await pgig.click();
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');

    // The run fails for want of patterns: one warning offering to fit them.
    const offer = page.locator('.notifications-toasts .notification-toast', { hasText: 'pattern methods need fitted patterns' }).first();
    await offer.waitFor({ timeout: 60_000 });
    await screenshot(page, '16-fit-patterns-offer');
    await offer.getByRole('button', { name: 'Fit Patterns…' }).click();
    // VS Code's open dialog (a quick input holding a path): type the data file and accept.
    await quickInput();
    await page.waitForTimeout(500);
    const box = page.locator('.quick-input-widget .quick-input-box input');
    await box.fill(path.join(dir, 'data.csv'));
    await page.waitForTimeout(500);
    await page.keyboard.press('Enter');
    await waitQuickTitle('Pattern estimator');
    await page.keyboard.press('Enter');
    await page
      .locator('.notifications-toasts .notification-toast', { hasText: 'patterns fitted on' })
      .first()
      .waitFor({ timeout: 120_000 });
    expect(fs.readdirSync(path.join(dir, '.pathlens')).some((f) => /^patterns-[0-9a-f]+\.bin$/.test(f))).toBe(true);
    // …and the explanation runs again, now with patterns.
    const frame = await panelFrame('[data-testid="map-0-pgig"][data-rendered="true"]', 120_000);
    expect(await frame.$('[data-testid="error"]')).toBeNull();
    await screenshot(page, '17-pgig-after-fit');
    phase('fit patterns');
  });

  it('explains a Keras .keras file from its context menu like the CLI, shows its summary, and says so for a non-Keras .h5', async () => {
    await openExplorerItem('keras-mnist');
    const kerasRow = page.locator('.explorer-folders-view .monaco-list-row[aria-label="mnist.keras"]').first();
    await kerasRow.waitFor({ timeout: 30_000 });
    const sample = fs.readdirSync(path.join(workspace, 'keras-mnist/samples')).filter((f) => /\.png$/i.test(f))[0]!;
    await explainFromMenu(kerasRow, 'mnist.keras', sample);
    const frame = await panelFrame('h1:has-text("mnist.keras")', 120_000);
    await frame.waitForSelector('[data-testid="map-0-ig"][data-rendered="true"]', { timeout: 180_000 });
    expect(await frame.$('[data-testid="error"]')).toBeNull();
    const header = (await frame.textContent('dl.facts')) ?? '';
    expect(header).toMatch(/Keras 3\.9\.2 \.keras \(Keras 3 archive\), read directly/);
    const predicted = cliPrediction(path.join(workspace, 'keras-mnist/samples', sample), path.join(workspace, 'keras-mnist/mnist.keras'));
    const shown = (await frame.textContent('[data-testid="prediction-0"]')) ?? '';
    log(`keras panel prediction: ${shown.replace(/\s+/g, ' ').trim()} | CLI: ${predicted.label}`);
    expect(shown).toContain(predicted.label);
    await screenshot(page, '20-keras-panel');

    await contextMenu(kerasRow, 'PathLens: Show Model Summary');
    const view = await panelFrame('[data-testid="model-source"]', 60_000);
    expect((await view.textContent('[data-testid="model-source"]')) ?? '').toMatch(/Keras 3\.9\.2 \.keras/);
    await screenshot(page, '21-keras-model-view');

    const h5Row = page.locator('.explorer-folders-view .monaco-list-row[aria-label="measurements.h5"]').first();
    await explainFromMenu(h5Row, 'measurements.h5', sample);
    const errorFrame = await panelFrame('[data-testid="error"]:has-text("not a Keras model")', 60_000);
    log(`non-Keras .h5: ${(await errorFrame.textContent('[data-testid="error"]')) ?? ''}`);
    await screenshot(page, '22-not-keras-h5');
    phase('keras');
  });

  it('explains an ONNX file from its context menu like the CLI, states the detected preprocessing, shows its summary and the error of a truncated file', async () => {
    await openExplorerItem('onnx-resnet');
    const onnxRow = page.locator('.explorer-folders-view .monaco-list-row[aria-label="resnet.onnx"]').first();
    await onnxRow.waitFor({ timeout: 30_000 });
    await explainFromMenu(onnxRow, 'resnet.onnx', 'onnx-sample');
    const frame = await panelFrame('h1:has-text("resnet.onnx")', 120_000);
    await frame.waitForSelector('[data-testid="map-0-ig"][data-rendered="true"]', { timeout: 180_000 });
    expect(await frame.$('[data-testid="error"]')).toBeNull();
    // The map is drawn at the model's H×W (32×32), not its channels-first shape.
    const size = await frame.$eval('[data-testid="map-0-ig"]', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    expect(size).toEqual([32, 32]);
    const header = (await frame.textContent('dl.facts')) ?? '';
    expect(header).toMatch(/onnx from ONNX \(IR 8, ai\.onnx 17/);
    expect(header).toMatch(/imagenet \(detected\).*as torchvision exports take/);
    const model = path.join(workspace, 'onnx-resnet/resnet.onnx');
    const predicted = cliPrediction(path.join(workspace, 'onnx-resnet/onnx-sample.png'), model);
    const shown = (await frame.textContent('[data-testid="prediction-0"]')) ?? '';
    log(`onnx panel prediction: ${shown.replace(/\s+/g, ' ').trim()} | CLI: ${predicted.label}`);
    expect(shown).toContain(predicted.label);
    await screenshot(page, '23-onnx-panel');

    await contextMenu(onnxRow, 'PathLens: Show Model Summary');
    const view = await panelFrame('[data-testid="model-ops"]', 60_000);
    expect((await view.textContent('[data-testid="model-ops"]')) ?? '').toContain('Conv ×6');
    await screenshot(page, '24-onnx-model-view');

    const truncatedRow = page.locator('.explorer-folders-view .monaco-list-row[aria-label="truncated.onnx"]').first();
    await explainFromMenu(truncatedRow, 'truncated.onnx', 'onnx-sample');
    const errorFrame = await panelFrame('[data-testid="error"]:has-text("truncated or corrupt")', 60_000);
    log(`truncated .onnx: ${(await errorFrame.textContent('[data-testid="error"]')) ?? ''}`);
    await screenshot(page, '25-onnx-truncated');
    phase('onnx');
  });
});
