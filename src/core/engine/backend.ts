/**
 * Backend selection and initialisation.
 *
 * Order for 'auto': tfjs-node (native TensorFlow, optional and often not installable) → wasm
 * (XNNPACK, SIMD, single-threaded in Node) → cpu (pure JS). A forced choice that cannot be
 * initialised throws a `PathLensError('backend', …)` instead of silently falling back.
 *
 * The code is bundled by esbuild into dist/*.js next to copies of the tfjs-backend-wasm*.wasm
 * binaries, so the wasm directory is located at run time (see `resolveWasmDir`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
// Gradients are not registered by tfjs-core itself (the @tensorflow/tfjs union package does this).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendChoice, BackendName } from '../types';
import { PathLensError } from '../errors';
import { registerWasmKernels } from './wasmKernels';

export interface InitBackendOptions {
  /** Directory holding tfjs-backend-wasm*.wasm (overrides PATHLENS_WASM_DIR and auto-detection). */
  wasmDir?: string;
}

const WASM_PLAIN = 'tfjs-backend-wasm.wasm';
const WASM_SIMD = 'tfjs-backend-wasm-simd.wasm';

/** Directory of the running bundle (dist/ when bundled, src/core/engine when run from source). */
function hereDir(): string {
  // `__dirname` exists in the CommonJS bundles esbuild produces and under vitest/tsx.
  return typeof __dirname !== 'undefined' ? __dirname : process.cwd();
}

/** A `require` esbuild does not see (so it neither bundles nor rewrites the target). */
function runtimeRequire(): NodeRequire {
  return createRequire(path.join(hereDir(), '__pathlens_backend__.js'));
}

let wasmPathsSet: string | null = null;

/** The directory the wasm binaries were loaded from (null until the wasm backend was set up). */
export function wasmDirInUse(): string | null {
  return tf.engine().registry['wasm'] != null ? wasmPathsSet : null;
}
let wasmKernelsRegistered = false;

function withSlash(dir: string): string {
  return dir.endsWith('/') || dir.endsWith(path.sep) ? dir : dir + path.sep;
}

function hasWasmBinaries(dir: string): boolean {
  return fs.existsSync(path.join(dir, WASM_PLAIN)) || fs.existsSync(path.join(dir, WASM_SIMD));
}

/**
 * Where the .wasm binaries are: `options.wasmDir`; env PATHLENS_WASM_DIR; the bundle's own
 * directory if it holds them; else the installed @tensorflow/tfjs-backend-wasm/dist/.
 */
export function resolveWasmDir(options?: InitBackendOptions): string {
  if (options?.wasmDir) return withSlash(path.resolve(options.wasmDir));
  const fromEnv = process.env.PATHLENS_WASM_DIR;
  if (fromEnv) return withSlash(path.resolve(fromEnv));
  const here = hereDir();
  if (fs.existsSync(path.join(here, WASM_PLAIN))) return withSlash(here);
  try {
    const pkg = runtimeRequire().resolve('@tensorflow/tfjs-backend-wasm/package.json');
    return withSlash(path.join(path.dirname(pkg), 'dist'));
  } catch {
    throw new PathLensError(
      'backend',
      `Cannot find the TF.js wasm binaries (${WASM_PLAIN}): not next to ${here} and ` +
        '@tensorflow/tfjs-backend-wasm is not resolvable. Set PATHLENS_WASM_DIR to a directory containing them.',
    );
  }
}

/** "4.22" of "4.22.0" (tfjs keeps kernel/engine interfaces stable within a minor release). */
function majorMinor(version: string): string {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? `${m[1]}.${m[2]}` : version;
}

function notLoadable(target: string, err: unknown): PathLensError {
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new PathLensError(
    'backend',
    `The 'tensorflow' backend needs @tensorflow/tfjs-node, which could not be loaded from ${target} (${why}). ` +
      'Install it (or set PATHLENS_TFJS_NODE_PATH to an installed copy) or choose --backend wasm/cpu.',
  );
}

function checkCoreVersion(target: string, theirVersion: string, where: string): void {
  if (majorMinor(theirVersion) === majorMinor(tf.version_core)) return;
  throw new PathLensError(
    'backend',
    `${target} uses @tensorflow/tfjs-core ${theirVersion} (${where}), but PathLens is built with @tensorflow/tfjs-core ${tf.version_core}: ` +
      `install @tensorflow/tfjs-node ${majorMinor(tf.version_core)}.x, or choose --backend wasm/cpu.`,
  );
}

/** Runs `fn` with console output dropped (tfjs prints registration warnings while loading). */
function silently<T>(fn: () => T): T {
  const { log, info, warn } = console;
  console.log = console.info = console.warn = () => {};
  try {
    return fn();
  } finally {
    Object.assign(console, { log, info, warn });
  }
}

/**
 * Loads @tensorflow/tfjs-node (the optional dependency, or the copy named by
 * PATHLENS_TFJS_NODE_PATH), which registers the 'tensorflow' backend and its kernels.
 *
 * A separately installed tfjs-node brings its own @tensorflow/tfjs-core module, distinct from the
 * one inlined in our bundle. That is fine as long as the versions agree: tfjs-core keeps its engine,
 * backend factories, kernel and gradient registries on `globalThis` (`_tfengine`, `_tfGlobals`),
 * so every tfjs-core instance of the process shares them and the backend registered on "their"
 * instance is visible on ours. A different major/minor would run foreign kernels inside our engine,
 * so it is refused before the package is executed.
 */
function loadTfjsNode(): void {
  const req = runtimeRequire();
  const custom = process.env.PATHLENS_TFJS_NODE_PATH;
  const target = custom ? path.resolve(custom) : '@tensorflow/tfjs-node';
  let entry: string;
  try {
    entry = req.resolve(target);
  } catch (err) {
    throw notLoadable(target, err);
  }
  // The tfjs-core that tfjs-node will load: from its own node_modules, else up the tree.
  const theirRequire = createRequire(entry);
  let theirCoreDir: string | null = null;
  try {
    const pkgFile = theirRequire.resolve('@tensorflow/tfjs-core/package.json');
    theirCoreDir = path.dirname(pkgFile);
    const version = (JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { version?: unknown }).version;
    if (typeof version === 'string') checkCoreVersion(target, version, theirCoreDir);
  } catch (err) {
    if (err instanceof PathLensError) throw err;
    // Not resolvable this way: loading tfjs-node below reports what is missing.
  }
  try {
    silently(() => req(entry));
  } catch (err) {
    throw notLoadable(target, err);
  }
  if (tf.findBackendFactory('tensorflow') != null) return;

  // Diagnose why the backend is not visible to us.
  let theirs: typeof tf | null;
  try {
    theirs = silently(() => theirRequire('@tensorflow/tfjs-core') as typeof tf);
  } catch {
    theirs = null;
  }
  const where = theirCoreDir ?? 'its own node_modules';
  if (theirs != null && typeof theirs.version_core === 'string') checkCoreVersion(target, theirs.version_core, where);
  if (theirs != null && theirs !== tf && typeof theirs.engine === 'function' && theirs.engine() !== tf.engine()) {
    throw new PathLensError(
      'backend',
      `${target} registered its backend on a separate TF.js engine (@tensorflow/tfjs-core ${theirs.version_core} in ${where}) ` +
        'that PathLens does not share; choose --backend wasm/cpu.',
    );
  }
  throw new PathLensError(
    'backend',
    `${target} loaded but did not register a 'tensorflow' backend (version mismatch with @tensorflow/tfjs-core ${tf.version_core}?).`,
  );
}

async function initTensorflow(): Promise<void> {
  if (tf.findBackendFactory('tensorflow') == null) loadTfjsNode();
  if (!(await quietSetBackend('tensorflow'))) {
    throw new PathLensError('backend', "The 'tensorflow' backend (tfjs-node) failed to initialise.");
  }
}

async function initWasm(options?: InitBackendOptions): Promise<void> {
  const dir = resolveWasmDir(options);
  if (!hasWasmBinaries(dir)) {
    throw new PathLensError('backend', `No TF.js wasm binaries (${WASM_PLAIN} / ${WASM_SIMD}) in ${dir}.`);
  }
  const env = tf.env();
  // Never use the threaded binary in Node (tfjs would need a worker blob URL); tfjs already
  // answers false for Node, this pins it.
  env.set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const simd = await env.getAsync('WASM_HAS_SIMD_SUPPORT');
  if (simd && !fs.existsSync(path.join(dir, WASM_SIMD))) env.set('WASM_HAS_SIMD_SUPPORT', false);
  if (!simd && !fs.existsSync(path.join(dir, WASM_PLAIN))) {
    throw new PathLensError('backend', `This runtime lacks WebAssembly SIMD and ${dir} has no ${WASM_PLAIN}.`);
  }
  if (tf.engine().registry['wasm'] == null) {
    // tfjs-backend-wasm reads the prefix only when it first instantiates the module; after a failed
    // (aborted) attempt it refuses a new prefix, which we report instead of retrying blindly.
    try {
      setWasmPaths(dir);
      wasmPathsSet = dir;
    } catch (err) {
      throw wrapWasm(err, dir);
    }
  }
  if (!(await quietSetBackend('wasm'))) {
    throw new PathLensError(
      'backend',
      `The wasm backend failed to initialise from ${dir} (is the .wasm binary readable and from tfjs-backend-wasm ${tf.version_core}?).`,
    );
  }
  if (!wasmKernelsRegistered) {
    registerWasmKernels();
    wasmKernelsRegistered = true;
  }
}

function wrapWasm(err: unknown, dir: string): PathLensError {
  const why = err instanceof Error ? err.message : String(err);
  return new PathLensError('backend', `The wasm backend could not use ${dir}: ${why}`);
}

async function initCpu(): Promise<void> {
  if (!(await quietSetBackend('cpu'))) {
    throw new PathLensError('backend', "The 'cpu' backend failed to initialise.");
  }
}

/** tf.setBackend without tfjs's console warnings on failure; rejects are turned into `false`. */
async function quietSetBackend(name: string): Promise<boolean> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    const ok = await tf.setBackend(name);
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  } finally {
    console.warn = warn;
  }
}

/**
 * Initialise the requested backend and make it current. Returns the backend actually in use.
 * Safe to call repeatedly (switching backends keeps the others registered).
 */
export async function initBackend(choice: BackendChoice, options?: InitBackendOptions): Promise<BackendName> {
  switch (choice) {
    case 'tensorflow':
      await initTensorflow();
      return 'tensorflow';
    case 'wasm':
      await initWasm(options);
      return 'wasm';
    case 'cpu':
      await initCpu();
      return 'cpu';
    case 'auto': {
      const reasons: string[] = [];
      for (const [name, init] of [
        ['tensorflow', () => initTensorflow()],
        ['wasm', () => initWasm(options)],
        ['cpu', () => initCpu()],
      ] as const) {
        try {
          await init();
          return name;
        } catch (err) {
          reasons.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      throw new PathLensError('backend', `No TF.js backend could be initialised. ${reasons.join(' | ')}`);
    }
    default:
      throw new PathLensError('backend', `Unknown backend '${String(choice)}' (expected auto, tensorflow, wasm or cpu).`);
  }
}

/** The backend currently in use. */
export function currentBackend(): BackendName {
  const name = tf.getBackend();
  if (name === 'tensorflow' || name === 'wasm' || name === 'cpu') return name;
  throw new PathLensError('backend', `Unexpected TF.js backend '${String(name)}' is active; call initBackend first.`);
}
