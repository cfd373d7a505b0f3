/**
 * Backend selection: cpu, wasm (from node_modules, from a dist/-like directory via option and env,
 * and a clear failure for a broken directory), forced tensorflow without tfjs-node, and auto.
 *
 * tfjs-backend-wasm takes its binary location once per process, so the directory variants run in
 * child processes (tsx).
 *
 * A separately installed tfjs-node (PATHLENS_TFJS_NODE_PATH) is simulated by
 * test/fixtures/fake-tfjs-node with COPIES of the installed tfjs-core and tfjs-backend-cpu in its own
 * node_modules (a genuinely separate module instance), loaded from an esbuild bundle built like
 * dist/*.js (tfjs-core inlined).
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { buildSync } from 'esbuild';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { currentBackend, initBackend, resolveWasmDir, wasmDirInUse } from '../src/core/engine/backend';
import { PathLensError } from '../src/core/errors';

const ROOT = path.resolve(__dirname, '..');
const WASM_DIST = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** Run a snippet (with access to initBackend) in a fresh process; returns its last stdout line as JSON. */
function child(
  body: string,
  env: Record<string, string> = {},
): { ok: boolean; backend?: string; dir?: string | null; code?: string; message?: string; sum?: number } {
  const script = `
    import * as tf from '@tensorflow/tfjs-core';
    import { initBackend, wasmDirInUse } from ${JSON.stringify(path.join(ROOT, 'src/core/engine/backend.ts'))};
    (async () => {
      try {
        ${body}
      } catch (err: any) {
        console.log(JSON.stringify({ ok: false, code: err?.code, message: String(err?.message ?? err) }));
      }
    })();
  `;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-backend-')), 'child.ts');
  fs.writeFileSync(file, script);
  const out = execFileSync(TSX, [file], {
    cwd: ROOT,
    env: { ...process.env, PATHLENS_WASM_DIR: '', NODE_PATH: path.join(ROOT, 'node_modules'), ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

const USE_WASM = `
  const b = await initBackend(process.env.CHOICE as any, process.env.OPT_DIR ? { wasmDir: process.env.OPT_DIR } : undefined);
  const s = tf.sum(tf.conv2d(tf.ones([1, 5, 5, 2]) as tf.Tensor4D, tf.ones([3, 3, 2, 1]) as tf.Tensor4D, 1, 'valid')).dataSync()[0];
  console.log(JSON.stringify({ ok: true, backend: b, active: tf.getBackend(), dir: wasmDirInUse(), sum: s }));
`;

function distLikeDir(withSimd = true, corruptSimd = false): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-dist-'));
  for (const f of fs.readdirSync(WASM_DIST).filter((n) => /^tfjs-backend-wasm.*\.wasm$/.test(n))) {
    if (!withSimd && f.includes('simd')) continue;
    fs.copyFileSync(path.join(WASM_DIST, f), path.join(dir, f));
  }
  if (corruptSimd) fs.writeFileSync(path.join(dir, 'tfjs-backend-wasm-simd.wasm'), 'not a wasm binary');
  return dir;
}

describe('initBackend in this process', () => {
  test("'cpu' works", async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(currentBackend()).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  test("forced 'tensorflow' fails with a clear backend error (tfjs-node is not installed here)", async () => {
    const err = await initBackend('tensorflow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathLensError);
    expect((err as PathLensError).code).toBe('backend');
    expect((err as PathLensError).message).toMatch(/@tensorflow\/tfjs-node/);
    expect((err as PathLensError).message).toMatch(/--backend wasm\/cpu|PATHLENS_TFJS_NODE_PATH/);
    // The previous backend stays usable.
    expect(currentBackend()).toBe('cpu');
  });

  test('PATHLENS_TFJS_NODE_PATH pointing nowhere fails clearly', async () => {
    process.env.PATHLENS_TFJS_NODE_PATH = path.join(os.tmpdir(), 'no-such-tfjs-node');
    try {
      const err = await initBackend('tensorflow').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PathLensError);
      expect((err as PathLensError).message).toContain('no-such-tfjs-node');
    } finally {
      delete process.env.PATHLENS_TFJS_NODE_PATH;
    }
  });

  test("'auto' picks wasm here, loading the binaries from node_modules", async () => {
    expect(resolveWasmDir()).toBe(WASM_DIST + path.sep);
    expect(await initBackend('auto')).toBe('wasm');
    expect(currentBackend()).toBe('wasm');
    expect(wasmDirInUse()).toBe(WASM_DIST + path.sep);
    const y = tf.tidy(() => tf.sum(tf.matMul(tf.ones([3, 4]), tf.ones([4, 2]))).dataSync()[0]);
    expect(y).toBe(24);
  });

  test("'wasm' again is idempotent, gradients work, and switching back and forth keeps data", async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    const x = tf.tensor4d([1, -2, 3, 4, 5, -6, 7, 8, 9], [1, 3, 3, 1]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.depthwiseConv2d(v as tf.Tensor4D, tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'valid')))(x);
    expect(Array.from(await g.data())).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
    expect(await initBackend('cpu')).toBe('cpu');
    expect(Array.from(await x.data())).toEqual([1, -2, 3, 4, 5, -6, 7, 8, 9]);
    expect(await initBackend('wasm')).toBe('wasm');
    tf.dispose([x, g]);
  });

  test('resolveWasmDir order: option, then PATHLENS_WASM_DIR, then node_modules', () => {
    const d = distLikeDir();
    expect(resolveWasmDir({ wasmDir: d })).toBe(d + path.sep);
    process.env.PATHLENS_WASM_DIR = d;
    try {
      expect(resolveWasmDir()).toBe(d + path.sep);
      expect(resolveWasmDir({ wasmDir: WASM_DIST })).toBe(WASM_DIST + path.sep);
    } finally {
      delete process.env.PATHLENS_WASM_DIR;
    }
  });

  test('unknown choice is a usage-level backend error', async () => {
    const err = await initBackend('gpu' as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathLensError);
    expect((err as PathLensError).code).toBe('backend');
  });
});

describe('wasm binaries from a dist/-like directory (child processes)', () => {
  test('wasmDir option', () => {
    const d = distLikeDir();
    const r = child(USE_WASM, { CHOICE: 'wasm', OPT_DIR: d });
    expect(r).toMatchObject({ ok: true, backend: 'wasm', dir: d + path.sep, sum: 162 });
  });

  test('PATHLENS_WASM_DIR with auto', () => {
    const d = distLikeDir();
    const r = child(USE_WASM, { CHOICE: 'auto', PATHLENS_WASM_DIR: d });
    expect(r).toMatchObject({ ok: true, backend: 'wasm', dir: d + path.sep, sum: 162 });
  });

  test('a directory with only the plain binary still works (SIMD is switched off)', () => {
    const d = distLikeDir(false);
    const r = child(USE_WASM, { CHOICE: 'wasm', OPT_DIR: d });
    expect(r).toMatchObject({ ok: true, backend: 'wasm', dir: d + path.sep, sum: 162 });
  });

  test('a broken binary: forced wasm fails clearly, auto falls back to cpu', () => {
    const d = distLikeDir(true, true);
    const forced = child(USE_WASM, { CHOICE: 'wasm', OPT_DIR: d });
    expect(forced.ok).toBe(false);
    expect(forced.code).toBe('backend');
    expect(forced.message).toContain(d);
    const auto = child(USE_WASM, { CHOICE: 'auto', PATHLENS_WASM_DIR: d });
    expect(auto).toMatchObject({ ok: true, backend: 'cpu', sum: 162 });
  });

  test('a directory without binaries is refused before touching tfjs', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-empty-'));
    const r = child(USE_WASM, { CHOICE: 'wasm', OPT_DIR: d });
    expect(r.ok).toBe(false);
    expect(r.code).toBe('backend');
    expect(r.message).toMatch(/No TF\.js wasm binaries/);
  });
});

// ---------------------------------------------------------------------------------------------
// A separately installed tfjs-node, with its own tfjs-core module instance.

const FAKE_FIXTURE = path.join(ROOT, 'test', 'fixtures', 'fake-tfjs-node');

/** Non-type runtime dependencies of the given packages (transitively), as installed in the repo. */
function runtimeDeps(names: string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      if (dep.startsWith('@types/') || dep === '@webgpu/types' || dep.startsWith('@tensorflow/') || seen.has(dep)) continue;
      if (!fs.existsSync(path.join(ROOT, 'node_modules', dep, 'package.json'))) continue; // nested: copied with its parent
      seen.add(dep);
      visit(dep);
    }
  };
  names.forEach(visit);
  return [...seen];
}

/**
 * A tfjs-node package folder in a temp dir: the fixture, plus copies of the installed tfjs-core and
 * tfjs-backend-cpu (their plain JS dependencies linked), optionally claiming another tfjs-core version.
 */
function makeFakeTfjsNode(coreVersion?: string): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-tfjs-node-')), 'tfjs-node');
  fs.cpSync(FAKE_FIXTURE, dir, { recursive: true });
  const nm = path.join(dir, 'node_modules');
  const copied = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu'];
  for (const name of copied) fs.cpSync(path.join(ROOT, 'node_modules', name), path.join(nm, name), { recursive: true });
  for (const dep of runtimeDeps(copied)) {
    fs.mkdirSync(path.dirname(path.join(nm, dep)), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(nm, dep), 'dir');
  }
  if (coreVersion) {
    const core = path.join(nm, '@tensorflow', 'tfjs-core');
    const pkgFile = path.join(core, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
    const main = path.join(core, pkg.main);
    const code = fs.readFileSync(main, 'utf8');
    const versionDecl = `var version = '${pkg.version}';`;
    expect(code).toContain(versionDecl);
    fs.writeFileSync(main, code.replace(versionDecl, `var version = '${coreVersion}';`));
    fs.writeFileSync(pkgFile, JSON.stringify({ ...pkg, version: coreVersion }, null, 2));
  }
  return dir;
}

/** Child program: initBackend(CHOICE), then the input gradient of a conv2d net there and on cpu. */
const SEPARATE_CHILD = `
  import * as tf from '@tensorflow/tfjs-core';
  import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
  import { createRequire } from 'node:module';
  import { initBackend } from ${JSON.stringify(path.join(ROOT, 'src/core/engine/backend'))};

  const X = Array.from({ length: 1 * 7 * 7 * 2 }, (_, i) => Math.sin(0.7 * i) * 2);
  const W = Array.from({ length: 3 * 3 * 2 * 3 }, (_, i) => Math.cos(1.3 * i));
  const OUT = Array.from({ length: 1 * 4 * 4 * 3 }, (_, i) => (((i * 37) % 11) - 5) / 5);

  function inputGradient(): number[] {
    return tf.tidy(() => {
      const w = tf.tensor4d(W, [3, 3, 2, 3]);
      const out = tf.tensor4d(OUT, [1, 4, 4, 3]);
      const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.conv2d(x as tf.Tensor4D, w, 2, 'same')), out));
      return Array.from(tf.grad(f)(tf.tensor4d(X, [1, 7, 7, 2])).dataSync());
    });
  }

  (async () => {
    const g = globalThis as any;
    try {
      const backend = await initBackend(process.env.CHOICE as any);
      const active = tf.getBackend();
      const before = g.__fakeTfjsNodeCalls?.count ?? 0;
      const grad = inputGradient();
      const calls = (g.__fakeTfjsNodeCalls?.count ?? 0) - before;
      const fake = createRequire(__filename)(process.env.PATHLENS_TFJS_NODE_PATH!);
      const facts = {
        separateCore: fake.core !== tf && fake.cpu.MathBackendCPU !== MathBackendCPU,
        ownKernels: fake.ownKernels,
        kernelCount: fake.kernelCount,
        sharedEngine: fake.core.engine() === tf.engine(),
        onFakeBackend: tf.backend() instanceof fake.FakeNodeBackend,
      };
      await initBackend('cpu');
      const ref = inputGradient();
      const maxDiff = Math.max(...grad.map((v, i) => Math.abs(v - ref[i])));
      const maxAbs = Math.max(...ref.map(Math.abs));
      console.log(JSON.stringify({ ok: true, backend, active, calls, ...facts, maxDiff, maxAbs }));
    } catch (err: any) {
      console.log(JSON.stringify({ ok: false, code: err?.code, message: String(err?.message ?? err), fakeLoaded: g.__fakeTfjsNodeCalls != null, active: tf.getBackend() }));
    }
  })();
`;

describe('a separately installed tfjs-node with its own tfjs-core (child processes)', () => {
  let bundle = '';
  let fake = '';

  beforeAll(() => {
    // Built like scripts/build.mjs builds dist/*.js: tfjs-core (ES build) inlined, tfjs-node external.
    bundle = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-bundle-')), 'child.js');
    buildSync({
      stdin: { contents: SEPARATE_CHILD, resolveDir: ROOT, loader: 'ts', sourcefile: 'child.ts' },
      bundle: true,
      platform: 'node',
      target: 'node18',
      format: 'cjs',
      mainFields: ['module', 'main'],
      external: ['vscode', '@tensorflow/tfjs-node'],
      outfile: bundle,
      logLevel: 'error',
    });
    fake = makeFakeTfjsNode();
  });

  /** Runs the bundle; stdout must be exactly the one JSON line (nothing else is printed there). */
  function runBundle(env: Record<string, string>): Record<string, unknown> {
    const childEnv: Record<string, string | undefined> = { ...process.env, PATHLENS_WASM_DIR: WASM_DIST, ...env };
    delete childEnv.NODE_PATH;
    const out = execFileSync(process.execPath, [bundle], { cwd: os.tmpdir(), env: childEnv, encoding: 'utf8', timeout: 60_000 });
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]);
  }

  test("forced 'tensorflow' uses it: its kernels compute, and a conv2d input gradient equals cpu's", () => {
    const r = runBundle({ CHOICE: 'tensorflow', PATHLENS_TFJS_NODE_PATH: fake });
    expect(r).toMatchObject({ ok: true, backend: 'tensorflow', active: 'tensorflow', onFakeBackend: true });
    // A genuinely separate tfjs-core / tfjs-backend-cpu, whose own kernels were registered…
    expect(r.separateCore).toBe(true);
    expect(r.ownKernels).toBe(true);
    expect(r.kernelCount).toBeGreaterThan(100);
    // …and the computation ran through them.
    expect(r.calls).toBeGreaterThan(0);
    // tfjs-core keeps engine and registries on globalThis, shared by every instance in the process.
    expect(r.sharedEngine).toBe(true);
    expect(r.maxAbs).toBeGreaterThan(0.1);
    expect(r.maxDiff).toBeLessThanOrEqual(1e-5);
  });

  test("'auto' picks it", () => {
    const r = runBundle({ CHOICE: 'auto', PATHLENS_TFJS_NODE_PATH: fake });
    expect(r).toMatchObject({ ok: true, backend: 'tensorflow', active: 'tensorflow', onFakeBackend: true, separateCore: true });
    expect(r.calls).toBeGreaterThan(0);
    expect(r.maxDiff).toBeLessThanOrEqual(1e-5);
  });

  test('a copy built on another tfjs-core minor version is refused before it runs, naming both versions', () => {
    const other = makeFakeTfjsNode('4.21.0');
    const forced = runBundle({ CHOICE: 'tensorflow', PATHLENS_TFJS_NODE_PATH: other });
    expect(forced).toMatchObject({ ok: false, code: 'backend', fakeLoaded: false });
    expect(forced.message).toContain('@tensorflow/tfjs-core 4.21.0');
    expect(forced.message).toContain(`@tensorflow/tfjs-core ${tf.version_core}`);
    expect(forced.message).toContain(other);
    const auto = runBundle({ CHOICE: 'auto', PATHLENS_TFJS_NODE_PATH: other });
    expect(auto).toMatchObject({ ok: true, backend: 'wasm', calls: 0 });
  });

  test('a path that does not exist fails with the clear message', () => {
    const missing = path.join(os.tmpdir(), 'pathlens-no-such-tfjs-node');
    const r = runBundle({ CHOICE: 'tensorflow', PATHLENS_TFJS_NODE_PATH: missing });
    expect(r).toMatchObject({ ok: false, code: 'backend', fakeLoaded: false });
    expect(r.message).toContain(`could not be loaded from ${missing}`);
    expect(r.message).toMatch(/PATHLENS_TFJS_NODE_PATH/);
  });

  test('a tfjs-node sharing our tfjs-core module (the npm-installed optional dependency) still works', () => {
    // The fixture inside the repo resolves tfjs-core and tfjs-backend-cpu from the repo's node_modules,
    // the same modules the tsx-run source uses.
    const r = child(
      `
        const b = await initBackend('tensorflow');
        const fake = require(process.env.PATHLENS_TFJS_NODE_PATH!);
        const s = tf.sum(tf.conv2d(tf.ones([1, 5, 5, 2]) as tf.Tensor4D, tf.ones([3, 3, 2, 1]) as tf.Tensor4D, 1, 'valid')).dataSync()[0];
        console.log(JSON.stringify({ ok: true, backend: b, active: tf.getBackend(), sum: s, ownKernels: fake.ownKernels, calls: fake.calls.count }));
      `,
      { PATHLENS_TFJS_NODE_PATH: FAKE_FIXTURE },
    ) as Record<string, unknown>;
    expect(r).toMatchObject({ ok: true, backend: 'tensorflow', active: 'tensorflow', sum: 162, ownKernels: false });
    expect(r.calls).toBeGreaterThan(0);
  });
});
