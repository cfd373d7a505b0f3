/**
 * Test harness for the PathLens panel in a real browser: serves the built webview with the same
 * HTML shell and CSP the extension uses, stubs `acquireVsCodeApi`, and produces real host messages
 * by running the attribution core in this process.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { initBackend } from '../../src/core/engine/backend';
import { describeMethods } from '../../src/core/methods/catalog';
import { MethodCatalog } from '../../src/shared/methods';
import { renderPanelHtml } from '../../src/extension/webviewHtml';
import type {
  EvaluateMaps,
  EvaluateStepRequest,
  EvaluateViewSettings,
  ExplainJob,
  HostToWebview,
  MethodInfo,
  SanityJob,
  WorkerEvent,
} from '../../src/shared/protocol';
import { EvaluateRunState } from '../../src/extension/evaluateState';
import { runEvaluateJob, runEvaluateStepJob } from '../../src/worker/evaluateJob';
import { ModelCache, runExplainJob } from '../../src/worker/jobs';
import { runSanityJob } from '../../src/worker/sanityJob';
import { SanityRunState } from '../../src/extension/sanityState';

export const ROOT = path.resolve(__dirname, '../..');
export const DIST = path.join(ROOT, 'dist/webview');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts/webview');
export const CHROMIUM = '/usr/bin/chromium';
export const NONCE = 'TestNonce0123456789abcdefABCDEF';

/** Fails (never skips) when the browser or the bundle is missing, with the command that fixes it. */
function requirePrerequisites(): void {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: install Debian's Chromium with 'apt-get install -y chromium' (as root), then re-run the tests.`,
    );
  for (const f of ['main.js', 'main.css']) {
    if (!fs.existsSync(path.join(DIST, f))) throw new Error(`dist/webview/${f} is missing: run 'npm run build' first (npm test does).`);
  }
}

export interface Server {
  origin: string;
  close(): Promise<void>;
}

/** Serves the panel page (renderPanelHtml + CSP) and dist/webview/* on 127.0.0.1. */
async function startServer(): Promise<Server> {
  const types: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };
  let origin = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        renderPanelHtml({
          cspSource: origin,
          nonce: NONCE,
          scriptUri: `${origin}/main.js`,
          styleUri: `${origin}/main.css`,
          title: 'PathLens test',
        }),
      );
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file = path.join(DIST, path.basename(url.pathname));
    if (!fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Pick an option of a vscode-single-select the way a user does: open it, click the option. */
export async function choose(page: Page, testid: string, option: string): Promise<void> {
  const select = page.getByTestId(testid);
  await select.getByRole('combobox').click();
  await select.getByRole('option', { name: option, exact: true }).click();
}

/**
 * The pixels of the first canvas matching `selector`, read through a copy made for reading, so the
 * panel's own canvases stay as they are.
 */
export function canvasPixels(page: Page, selector: string): Promise<{ width: number; height: number; data: number[] }> {
  return page.evaluate(`(() => {
    const c = document.querySelector(${JSON.stringify(selector)});
    const copy = document.createElement('canvas');
    copy.width = c.width; copy.height = c.height;
    const ctx = copy.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(c, 0, 0);
    return { width: c.width, height: c.height, data: Array.from(ctx.getImageData(0, 0, c.width, c.height).data) };
  })()`);
}

/** VS Code-like theme variables (a subset of what VS Code injects into webviews). */
export const THEMES = {
  dark: {
    className: 'vscode-dark',
    vars: {
      '--vscode-badge-background': '#616161',
      '--vscode-badge-foreground': '#f8f8f8',
      '--vscode-button-border': 'transparent',
      '--vscode-button-hoverBackground': '#1177bb',
      '--vscode-button-secondaryHoverBackground': '#45494e',
      '--vscode-icon-foreground': '#c5c5c5',
      '--vscode-input-placeholderForeground': '#989898',
      '--vscode-list-activeSelectionBackground': '#04395e',
      '--vscode-list-activeSelectionForeground': '#ffffff',
      '--vscode-list-focusOutline': '#0078d4',
      '--vscode-list-hoverBackground': '#2a2d2e',
      '--vscode-list-hoverForeground': '#cccccc',
      '--vscode-list-highlightForeground': '#2aaaff',
      '--vscode-list-focusHighlightForeground': '#2aaaff',
      '--vscode-progressBar-background': '#0078d4',
      '--vscode-settings-checkboxBackground': '#313131',
      '--vscode-settings-checkboxBorder': '#3c3c3c',
      '--vscode-settings-checkboxForeground': '#cccccc',
      '--vscode-settings-dropdownListBorder': '#454545',
      '--vscode-settings-textInputBackground': '#313131',
      '--vscode-settings-textInputBorder': '#3c3c3c',
      '--vscode-settings-textInputForeground': '#cccccc',
      '--vscode-sideBar-background': '#181818',
      '--vscode-sideBarSectionHeader-background': '#252526',
      '--vscode-sideBarTitle-foreground': '#cccccc',
      '--vscode-font-family': 'system-ui, "DejaVu Sans", sans-serif',
      '--vscode-font-size': '13px',
      '--vscode-foreground': '#cccccc',
      '--vscode-editor-background': '#1e1e1e',
      '--vscode-descriptionForeground': '#9d9d9d',
      '--vscode-panel-border': '#3c3c3c',
      '--vscode-focusBorder': '#0078d4',
      '--vscode-errorForeground': '#f48771',
      '--vscode-inputValidation-errorBackground': '#5a1d1d',
      '--vscode-inputValidation-errorBorder': '#be1100',
      '--vscode-editorWarning-foreground': '#cca700',
      '--vscode-testing-iconPassed': '#73c991',
      '--vscode-button-background': '#0e639c',
      '--vscode-button-foreground': '#ffffff',
      '--vscode-button-secondaryBackground': '#3a3d41',
      '--vscode-button-secondaryForeground': '#ffffff',
      '--vscode-charts-blue': '#3794ff',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-green': '#89d185',
      '--vscode-charts-purple': '#b180d7',
      '--vscode-charts-red': '#f14c4c',
      '--vscode-settings-dropdownBackground': '#313131',
      '--vscode-settings-dropdownForeground': '#cccccc',
      '--vscode-settings-dropdownBorder': '#3c3c3c',
      '--vscode-input-background': '#313131',
      '--vscode-input-foreground': '#cccccc',
    },
  },
  light: {
    className: 'vscode-light',
    vars: {
      '--vscode-badge-background': '#cccccc',
      '--vscode-badge-foreground': '#3b3b3b',
      '--vscode-button-border': 'transparent',
      '--vscode-button-hoverBackground': '#0258a8',
      '--vscode-button-secondaryHoverBackground': '#cccccc',
      '--vscode-icon-foreground': '#3b3b3b',
      '--vscode-input-placeholderForeground': '#767676',
      '--vscode-list-activeSelectionBackground': '#e8e8e8',
      '--vscode-list-activeSelectionForeground': '#000000',
      '--vscode-list-focusOutline': '#005fb8',
      '--vscode-list-hoverBackground': '#f2f2f2',
      '--vscode-list-hoverForeground': '#3b3b3b',
      '--vscode-list-highlightForeground': '#0066bf',
      '--vscode-list-focusHighlightForeground': '#0066bf',
      '--vscode-progressBar-background': '#005fb8',
      '--vscode-settings-checkboxBackground': '#f8f8f8',
      '--vscode-settings-checkboxBorder': '#cecece',
      '--vscode-settings-checkboxForeground': '#3b3b3b',
      '--vscode-settings-dropdownListBorder': '#c8c8c8',
      '--vscode-settings-textInputBackground': '#ffffff',
      '--vscode-settings-textInputBorder': '#cecece',
      '--vscode-settings-textInputForeground': '#3b3b3b',
      '--vscode-sideBar-background': '#f8f8f8',
      '--vscode-sideBarSectionHeader-background': '#f3f3f3',
      '--vscode-sideBarTitle-foreground': '#3b3b3b',
      '--vscode-font-family': 'system-ui, "DejaVu Sans", sans-serif',
      '--vscode-font-size': '13px',
      '--vscode-foreground': '#3b3b3b',
      '--vscode-editor-background': '#ffffff',
      '--vscode-descriptionForeground': '#717171',
      '--vscode-panel-border': '#e5e5e5',
      '--vscode-focusBorder': '#005fb8',
      '--vscode-errorForeground': '#a1260d',
      '--vscode-inputValidation-errorBackground': '#f2dede',
      '--vscode-inputValidation-errorBorder': '#be1100',
      '--vscode-editorWarning-foreground': '#bf8803',
      '--vscode-testing-iconPassed': '#388a34',
      '--vscode-button-background': '#005fb8',
      '--vscode-button-foreground': '#ffffff',
      '--vscode-button-secondaryBackground': '#e5e5e5',
      '--vscode-button-secondaryForeground': '#3b3b3b',
      '--vscode-charts-blue': '#1a85ff',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-green': '#388a34',
      '--vscode-charts-purple': '#652d90',
      '--vscode-charts-red': '#e51400',
      '--vscode-settings-dropdownBackground': '#ffffff',
      '--vscode-settings-dropdownForeground': '#3b3b3b',
      '--vscode-settings-dropdownBorder': '#cecece',
      '--vscode-input-background': '#ffffff',
      '--vscode-input-foreground': '#3b3b3b',
    },
  },
  'high-contrast': {
    className: 'vscode-high-contrast',
    vars: {
      '--vscode-badge-background': '#000000',
      '--vscode-badge-foreground': '#ffffff',
      '--vscode-button-border': '#6fc3df',
      '--vscode-button-hoverBackground': '#000000',
      '--vscode-button-secondaryBackground': '#000000',
      '--vscode-button-secondaryForeground': '#ffffff',
      '--vscode-button-secondaryHoverBackground': '#000000',
      '--vscode-icon-foreground': '#ffffff',
      '--vscode-input-placeholderForeground': '#ffffff',
      '--vscode-list-activeSelectionBackground': '#000000',
      '--vscode-list-activeSelectionForeground': '#ffffff',
      '--vscode-list-focusOutline': '#f38518',
      '--vscode-list-hoverBackground': '#000000',
      '--vscode-list-hoverForeground': '#ffffff',
      '--vscode-list-highlightForeground': '#f38518',
      '--vscode-list-focusHighlightForeground': '#f38518',
      '--vscode-progressBar-background': '#6fc3df',
      '--vscode-settings-checkboxBackground': '#000000',
      '--vscode-settings-checkboxBorder': '#6fc3df',
      '--vscode-settings-checkboxForeground': '#ffffff',
      '--vscode-settings-dropdownBackground': '#000000',
      '--vscode-settings-dropdownForeground': '#ffffff',
      '--vscode-settings-dropdownBorder': '#6fc3df',
      '--vscode-settings-dropdownListBorder': '#6fc3df',
      '--vscode-settings-textInputBackground': '#000000',
      '--vscode-settings-textInputBorder': '#6fc3df',
      '--vscode-settings-textInputForeground': '#ffffff',
      '--vscode-inputValidation-errorBackground': '#000000',
      '--vscode-inputValidation-errorBorder': '#f48771',
      '--vscode-sideBar-background': '#000000',
      '--vscode-sideBarSectionHeader-background': '#000000',
      '--vscode-sideBarTitle-foreground': '#ffffff',
      '--vscode-font-family': 'system-ui, "DejaVu Sans", sans-serif',
      '--vscode-font-size': '13px',
      '--vscode-foreground': '#ffffff',
      '--vscode-editor-background': '#000000',
      '--vscode-descriptionForeground': '#ffffff',
      '--vscode-panel-border': '#6fc3df',
      '--vscode-contrastBorder': '#6fc3df',
      '--vscode-focusBorder': '#f38518',
      '--vscode-errorForeground': '#f48771',
      '--vscode-editorWarning-foreground': '#ffd700',
      '--vscode-testing-iconPassed': '#73c991',
      '--vscode-button-background': '#000000',
      '--vscode-button-foreground': '#ffffff',
      '--vscode-charts-blue': '#3794ff',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-green': '#89d185',
      '--vscode-charts-purple': '#b180d7',
      '--vscode-charts-red': '#f14c4c',
    },
  },
} as const;
export type ThemeName = keyof typeof THEMES;

export interface PanelPage {
  page: Page;
  /** Everything the panel posted to the host, in order. */
  posted(): Promise<Array<{ type: string } & Record<string, unknown>>>;
  /** The last state the panel saved with setState (JSON, as VS Code stores it). */
  lastState(): Promise<unknown>;
  send(messages: HostToWebview[]): Promise<void>;
  problems: string[];
}

/** Closes the panels a test opened; none may have seen a CSP violation, console error, page error or failed request. */
async function closePanelsExpectingNoProblems(opened: PanelPage[]): Promise<void> {
  for (const p of opened.splice(0)) {
    const csp = await p.page.evaluate('window.__csp');
    await p.page.close();
    expect(csp, 'CSP violations').toEqual([]);
    expect(p.problems, 'console errors, page errors, failed requests').toEqual([]);
  }
}

/**
 * Opens the panel like VS Code would: a fresh page with `acquireVsCodeApi` stubbed (states are
 * JSON round-tripped, as VS Code does), the theme's variables on <html> and its class on <body>.
 */
async function openPanel(
  context: BrowserContext,
  origin: string,
  options: { theme?: ThemeName; initialState?: unknown } = {},
): Promise<PanelPage> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}\n${err.stack ?? ''}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
  const theme = THEMES[options.theme ?? 'dark'];
  await page.addInitScript({ content: stubScript(options.initialState, theme.className, theme.vars) });
  await page.goto(`${origin}/`);
  return {
    page,
    problems,
    posted: () => page.evaluate('window.__posted') as Promise<Array<{ type: string } & Record<string, unknown>>>,
    lastState: () => page.evaluate('window.__state'),
    // Delivered the way VS Code delivers host messages: window 'message' events (structured clone).
    send: (messages) => page.evaluate(`window.__deliver(${JSON.stringify(encodeForPage(messages))})`),
  };
}

/**
 * Runs before the panel's script: a stub `acquireVsCodeApi` that records posted messages and keeps
 * the state JSON round-tripped (as VS Code does), CSP violation capture, the theme. Plain JS text so
 * no bundler helper leaks into the page.
 */
function stubScript(initialState: unknown, className: string, vars: Record<string, string>): string {
  return `(() => {
  const w = window;
  w.__posted = [];
  w.__state = ${initialState === undefined ? 'undefined' : `JSON.parse(${JSON.stringify(JSON.stringify(initialState))})`};
  w.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(e.violatedDirective + ': ' + e.blockedURI + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));
  let acquired = false;
  w.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi may only be called once');
    acquired = true;
    return {
      postMessage: (m) => { w.__posted.push(JSON.parse(JSON.stringify(m))); },
      getState: () => w.__state,
      setState: (s) => { w.__state = JSON.parse(JSON.stringify(s)); return s; },
    };
  };
  const revive = (v) => {
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === 'object') {
      if (v.__f32) return Float32Array.from(v.__f32);
      if (v.__u8) return Uint8Array.from(v.__u8);
      if (v.__num) return Number(v.__num);
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
    }
    return v;
  };
  w.__deliver = (messages) => { for (const m of messages) window.postMessage(revive(m), '*'); };
  const vars = ${JSON.stringify(vars)};
  // Like VS Code: theme variables on <html>, the theme kind as a class on <body>, before the panel runs.
  const apply = () => {
    if (document.documentElement) for (const k of Object.keys(vars)) document.documentElement.style.setProperty(k, vars[k]);
    if (document.body) document.body.classList.add(${JSON.stringify(className)});
    return Boolean(document.documentElement && document.body);
  };
  if (!apply()) {
    const observer = new MutationObserver(() => { if (apply()) observer.disconnect(); });
    observer.observe(document, { childList: true, subtree: true });
  }
})();`;
}

/** Typed arrays → tagged plain arrays for page.evaluate (revived in the page). */
function encodeForPage(v: unknown): unknown {
  if (v instanceof Float32Array) return { __f32: Array.from(v) };
  if (v instanceof Uint8Array || v instanceof Uint8ClampedArray) return { __u8: Array.from(v) };
  if (typeof v === 'number' && !Number.isFinite(v)) return { __num: String(v) };
  if (Array.isArray(v)) return v.map(encodeForPage);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encodeForPage(x)]));
  return v;
}

/** The methods as the host describes them to the panel, read from the registry now (tests register throwaway ones). */
export function methodInfos(names: string[]): MethodInfo[] {
  return new MethodCatalog(describeMethods()).infos(names);
}

/**
 * Runs the real attribution core (the worker's job function, in this process) and translates its
 * events into the host → webview messages the extension sends.
 */
export async function coreRun(job: ExplainJob, runId = 1): Promise<{ messages: HostToWebview[]; events: WorkerEvent[] }> {
  await initBackend('cpu');
  const events: WorkerEvent[] = [];
  const cache = new ModelCache();
  try {
    await runExplainJob(runId, job, cache, { cancelled: false }, (e) => events.push(e));
  } finally {
    cache.clear();
  }
  const messages: HostToWebview[] = [];
  let lastProgress = -1;
  for (const e of events) {
    if (e.kind === 'started')
      messages.push({
        type: 'run',
        runId,
        model: e.model,
        backend: e.backend,
        preprocessing: e.preprocessing,
        methods: methodInfos(job.methods),
        inputCount: e.inputCount,
      });
    else if (e.kind === 'input') messages.push({ type: 'input', runId, inputIndex: e.inputIndex, input: e.input });
    else if (e.kind === 'result') messages.push({ type: 'result', runId, inputIndex: e.inputIndex, result: e.result });
    else if (e.kind === 'progress' && e.progress.done !== lastProgress) {
      lastProgress = e.progress.done;
      messages.push({ type: 'progress', runId, progress: e.progress });
    }
  }
  return { messages, events };
}

/**
 * Runs a real sanity check (the worker's sanity job function, in this process) and translates its
 * events into the host → webview messages the extension sends (through the host's SanityRunState).
 */
export async function coreSanity(job: SanityJob): Promise<{ messages: HostToWebview[]; events: WorkerEvent[] }> {
  await initBackend('cpu');
  const events: WorkerEvent[] = [];
  const cache = new ModelCache();
  const state = new SanityRunState(methodInfos);
  const messages: HostToWebview[] = [...state.begin(job)];
  try {
    await runSanityJob(1, job, cache, { cancelled: false }, (e) => {
      events.push(e);
      messages.push(...state.onEvent(e));
    });
    messages.push(...state.finish({ ok: true }));
  } finally {
    cache.clear();
  }
  return { messages, events };
}

/** The maps of a core run's events by input position, as the host's RunState hands them to an evaluation. */
export function mapsFromEvents(events: WorkerEvent[]): EvaluateMaps[] {
  const maps: EvaluateMaps[] = [];
  for (const e of events) {
    if (e.kind === 'input') {
      const { path, prediction, target } = e.input;
      maps[e.inputIndex] = { index: e.inputIndex, path, prediction, target, results: [] };
    } else if (e.kind === 'result') maps[e.inputIndex]!.results.push(e.result);
  }
  return maps.filter(Boolean);
}

/**
 * Runs a real evaluation of a core run's maps (the worker's evaluate job, in this process) and turns
 * its events into the host → webview messages through the host's EvaluateRunState; `step` answers a
 * clicked curve point the same way the host does.
 */
export async function coreEvaluate(
  job: ExplainJob,
  events: WorkerEvent[],
  settings: EvaluateViewSettings,
): Promise<{ messages: HostToWebview[]; step(request: EvaluateStepRequest): Promise<HostToWebview[]> }> {
  await initBackend('cpu');
  const cache = new ModelCache();
  const state = new EvaluateRunState();
  const begun = state.begin({ job, maps: mapsFromEvents(events) }, settings);
  const messages = [...begun.messages];
  try {
    const plan = await runEvaluateJob(1, begun.job, cache, { cancelled: false }, (e) => messages.push(...state.onEvent(e)));
    messages.push(...state.finish({ plan }));
  } finally {
    cache.clear();
  }
  const step = async (request: EvaluateStepRequest) => {
    const stepJob = state.stepJob(request);
    if (!stepJob) throw new Error(`the curve point ${JSON.stringify(request)} names nothing evaluated`);
    const stepCache = new ModelCache();
    try {
      return state.stepAnswered(request, { result: await runEvaluateStepJob(stepJob, stepCache, { cancelled: false }) });
    } finally {
      stepCache.clear();
    }
  };
  return { messages, step };
}

/**
 * One server, browser and context for a test file: set up before its tests (failing when Chromium or
 * the bundle is missing), every panel opened through `open` checked for problems after each test.
 */
export function panelSession(viewport = { width: 1400, height: 1600 }): {
  open(options?: { theme?: ThemeName; initialState?: unknown }): Promise<PanelPage>;
} {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  const opened: PanelPage[] = [];
  beforeAll(async () => {
    requirePrerequisites();
    server = await startServer();
    browser = await launchChromium();
    context = await browser.newContext({ viewport });
  });
  afterEach(() => closePanelsExpectingNoProblems(opened));
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    async open(options = {}) {
      const panel = await openPanel(context!, server!.origin, options);
      opened.push(panel);
      return panel;
    },
  };
}
