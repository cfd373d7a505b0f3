/**
 * Backend selection: cpu, wasm (from node_modules, from a dist/-like directory via option and env,
 * and a clear failure for a broken directory), forced tensorflow without tfjs-node, and auto.
 *
 * tfjs-backend-wasm takes its binary location once per process, so the directory variants run in
 * child processes (tsx).
 */
import { describe, expect, test } from 'vitest';
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
function child(body: string, env: Record<string, string> = {}): { ok: boolean; backend?: string; dir?: string | null; code?: string; message?: string; sum?: number } {
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
