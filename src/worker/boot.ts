/**
 * Entry of dist/cli.js and dist/worker.js (built from this file, ~3 kB): runs the bundle beside it,
 * `<name>-core.js`, from a V8 code cache, so the 4 MB bundle is not parsed and compiled again in
 * every process and every worker thread. The cache lives in the user's cache folder
 * (`$PATHLENS_CACHE_DIR/code`, `$XDG_CACHE_HOME/pathlens/code` or `~/.cache/pathlens/code`), one file
 * per bundle content (SHA-256 in its name), Node version and architecture, with a SHA-256 of its
 * payload in front: a damaged file, or one V8 rejects, is ignored and written again; any error
 * here means no cache, never a failed start. `PATHLENS_CODE_CACHE=0` turns it off.
 * Imports only Node built-ins: nothing else is loaded before the bundle.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { isMainThread, threadId, Worker, workerData } from 'node:worker_threads';
import type { WorkerInit } from '../shared/protocol';
import { BOOT_GLOBAL, defaultWorkerCount, type BootInfo, type CodeCacheState } from './bootInfo';

/** Larger cache files are not read (the bundles' caches are a few MB). */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;
const DIGEST_BYTES = 32;

function codeCacheDir(): string {
  if (process.env.PATHLENS_CACHE_DIR) return path.join(process.env.PATHLENS_CACHE_DIR, 'code');
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'pathlens', 'code');
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();

/** The cache's payload when the file is a regular file of sane size whose digest matches, else undefined. */
function readCodeCache(file: string): Buffer | undefined {
  try {
    const stat = fs.lstatSync(file);
    if (!stat.isFile() || stat.size <= DIGEST_BYTES || stat.size > MAX_CACHE_BYTES) return undefined;
    const bytes = fs.readFileSync(file);
    const payload = bytes.subarray(DIGEST_BYTES);
    return sha256(payload).equals(bytes.subarray(0, DIGEST_BYTES)) ? payload : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary name and renamed: a reader sees the whole file or none. */
function writeCodeCache(file: string, payload: Buffer): void {
  const temporary = `${file}.${process.pid}-${threadId}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(temporary, Buffer.concat([sha256(payload), payload]), { mode: 0o600 });
    fs.renameSync(temporary, file);
  } catch {
    fs.rmSync(temporary, { force: true });
  }
}

/**
 * A coordinator whose init asks for a prestarted pool starts its pool threads here, before its own
 * bundle loads, so they load theirs at the same time (the pool adopts them; see worker/main.ts).
 */
function prestartPool(): Worker[] {
  const init = isMainThread ? null : (workerData as WorkerInit | null);
  if (!init?.prestartPool || init.role === 'evaluator') return [];
  const count = init.workers ?? defaultWorkerCount();
  if (count <= 1) return [];
  return Array.from(
    { length: count },
    () => new Worker(__filename, { workerData: { ...init, role: 'evaluator', spawnedAt: performance.now() } satisfies WorkerInit }),
  );
}

function boot(): void {
  const prestarted = prestartPool();
  const name = path.basename(__filename, '.js');
  const core = path.join(__dirname, `${name}-core.js`);
  const bytes = fs.readFileSync(core);
  const enabled = process.env.PATHLENS_CODE_CACHE !== '0';
  const cacheFile = enabled
    ? path.join(codeCacheDir(), `${name}-${sha256(bytes).toString('hex').slice(0, 32)}-${process.version}-${process.arch}.bin`)
    : '';
  const cachedData = enabled ? readCodeCache(cacheFile) : undefined;
  const script = new vm.Script(Module.wrap(bytes.toString('utf8')), { filename: core, cachedData });
  let state: CodeCacheState = !enabled ? 'off' : !cachedData ? 'miss' : script.cachedDataRejected ? 'rejected' : 'hit';
  const info: BootInfo = {
    script: __filename,
    codeCache: state,
    prestarted,
    saveCodeCache() {
      if (state !== 'miss' && state !== 'rejected') return;
      state = info.codeCache = 'written';
      try {
        writeCodeCache(cacheFile, script.createCachedData());
      } catch {
        // no cache this time
      }
    },
  };
  (globalThis as Record<string, unknown>)[BOOT_GLOBAL] = info;
  // The bundle runs as this module (so `require.main === module` still marks the CLI's entry), with
  // its own file name (source maps, the wasm binaries and the build key are found beside it).
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, require, module, core, __dirname);
}

boot();
