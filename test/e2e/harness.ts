/**
 * End-to-end harness: a real VS Code (code-server, cached by scripts/e2e/setup.sh) with the packaged
 * VSIX installed, driven through Debian's Chromium with playwright-core.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '../..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'e2e');
export const CHROMIUM = '/usr/bin/chromium';

export interface E2eEnv {
  NODE24_BIN: string;
  CODE_SERVER: string;
}

/** Runs scripts/e2e/setup.sh (fast when cached); throws with its message (the exact install command) on failure. */
export function setup(): E2eEnv {
  let out: string;
  try {
    out = execFileSync('bash', [path.join(ROOT, 'scripts/e2e/setup.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20 * 60_000,
    });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`e2e setup failed (scripts/e2e/setup.sh):\n${e.stderr ?? ''}${e.stdout ?? ''}\n${e.message}`, { cause: err });
  }
  const env = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  if (!env.CODE_SERVER || !fs.existsSync(env.CODE_SERVER)) {
    throw new Error('code-server is missing. Install it with: bash scripts/e2e/setup.sh');
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error('Chromium is missing. Install it with: apt-get update && apt-get install -y chromium');
  return env as unknown as E2eEnv;
}

export function log(message: string): void {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Packages the VSIX with `npm run package`; returns its path. */
export function packageVsix(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const vsix = path.join(ROOT, `${pkg.name}-${pkg.version}.vsix`);
  fs.rmSync(vsix, { force: true });
  execFileSync('npm', ['run', 'package'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], timeout: 10 * 60_000 });
  if (!fs.existsSync(vsix)) throw new Error(`npm run package did not produce ${vsix}`);
  return vsix;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface CodeServer {
  url: string;
  dirs: { base: string; user: string; extensions: string; workspace: string };
  process: ChildProcess;
  logs: () => string;
  stop(): Promise<void>;
}

/** Installs the VSIX into a fresh extensions dir and serves `workspace` (a temp copy made by the caller). */
export async function startCodeServer(
  env: E2eEnv,
  vsix: string,
  workspace: string,
  settings: Record<string, unknown>,
): Promise<CodeServer> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-e2e-'));
  const user = path.join(base, 'user-data');
  const extensions = path.join(base, 'extensions');
  const xdg = path.join(base, 'xdg');
  fs.mkdirSync(path.join(user, 'User'), { recursive: true });
  fs.mkdirSync(extensions, { recursive: true });
  fs.mkdirSync(xdg, { recursive: true });
  fs.writeFileSync(path.join(user, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${env.NODE24_BIN}:${process.env.PATH}`,
    XDG_CONFIG_HOME: xdg,
    XDG_DATA_HOME: path.join(base, 'xdg-data'),
  };
  delete childEnv.NODE_OPTIONS;
  delete childEnv.VITEST;
  execFileSync(env.CODE_SERVER, ['--extensions-dir', extensions, '--user-data-dir', user, '--install-extension', vsix], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  const port = await freePort();
  let output = '';
  const child = spawn(
    env.CODE_SERVER,
    [
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--user-data-dir',
      user,
      '--extensions-dir',
      extensions,
      workspace,
    ],
    { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}healthz`);
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`code-server did not start within 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    dirs: { base, user, extensions, workspace },
    process: child,
    logs: () => output,
    stop: async () => {
      if (child.exitCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              /* gone */
            }
            resolve();
          }, 5000);
          child.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${path.relative(ROOT, file)}`);
  return file;
}

/** The frame holding the PathLens panel's content (webviews nest iframes), once `selector` exists in it. */
export async function findWebviewFrame(page: Page, selector: string, timeoutMs: number): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      if (frame === page.mainFrame()) continue;
      try {
        if ((await frame.$(selector)) !== null) return frame;
      } catch {
        /* detached */
      }
    }
    if (Date.now() > deadline)
      throw new Error(
        `no webview frame with ${selector} within ${timeoutMs} ms (frames: ${page
          .frames()
          .map((f) => f.url().slice(0, 80))
          .join(', ')})`,
      );
    await page.waitForTimeout(250);
  }
}

/** Copies a directory tree. */
export function copyDir(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}
