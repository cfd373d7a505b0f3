import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkerClient } from '../src/worker/client';
import { tempDir } from './helpers/analyticModels';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist/cli.js');
const WORKER = path.join(ROOT, 'dist/worker.js');

function requireDist() {
  for (const file of [CLI, WORKER, path.join(ROOT, 'dist/cli-core.js'), path.join(ROOT, 'dist/worker-core.js')])
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run 'npm run build' first (npm test does)`);
}

/** Loads dist/cli.js without running the CLI (not the main module) and prints the code cache state. */
function cliCacheState(cacheDir: string, env: Record<string, string> = {}): string {
  const run = spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(CLI)}); process.stdout.write(globalThis.__pathlensBoot.codeCache)`],
    { encoding: 'utf8', env: { ...process.env, PATHLENS_CACHE_DIR: cacheDir, ...env } },
  );
  expect(run.status).toBe(0);
  return run.stdout;
}

function help(cacheDir: string, env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [CLI, 'help'], {
    encoding: 'utf8',
    env: { ...process.env, PATHLENS_CACHE_DIR: cacheDir, ...env },
  });
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^pathlens — /);
}

const cacheFiles = (cacheDir: string, prefix: string) =>
  fs.existsSync(path.join(cacheDir, 'code'))
    ? fs
        .readdirSync(path.join(cacheDir, 'code'))
        .filter((f) => f.startsWith(`${prefix}-`))
        .map((f) => path.join(cacheDir, 'code', f))
    : [];

describe('V8 code cache of the bundles (dist/cli.js, dist/worker.js → worker/boot.ts)', () => {
  it('the first CLI run writes the cache, the next compiles from it; damaged or foreign caches are ignored and rewritten', () => {
    requireDist();
    const cacheDir = tempDir('code-cache-cli');
    expect(cliCacheState(cacheDir)).toBe('miss');
    help(cacheDir);
    const [file, ...others] = cacheFiles(cacheDir, 'cli');
    expect(others).toEqual([]);
    expect(path.basename(file!)).toMatch(new RegExp(`^cli-[0-9a-f]{32}-${process.version}-${process.arch}\\.bin$`));
    expect(cliCacheState(cacheDir)).toBe('hit');

    // One flipped byte in the payload: its digest no longer matches, so V8 never sees it.
    const good = fs.readFileSync(file!);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 100]! ^= 0xff;
    fs.writeFileSync(file!, flipped);
    expect(cliCacheState(cacheDir)).toBe('miss');
    help(cacheDir); // works, and writes a good cache again
    expect(cliCacheState(cacheDir)).toBe('hit');

    // A payload with a matching digest that is not V8's code cache for this bundle: V8 rejects it.
    const payload = Buffer.alloc(4096, 7);
    fs.writeFileSync(file!, Buffer.concat([createHash('sha256').update(payload).digest(), payload]));
    expect(cliCacheState(cacheDir)).toBe('rejected');
    help(cacheDir);
    expect(cliCacheState(cacheDir)).toBe('hit');
  });

  it('PATHLENS_CODE_CACHE=0 neither reads nor writes a cache', () => {
    requireDist();
    const cacheDir = tempDir('code-cache-off');
    help(cacheDir, { PATHLENS_CODE_CACHE: '0' });
    expect(cacheFiles(cacheDir, 'cli')).toEqual([]);
    help(cacheDir);
    expect(cliCacheState(cacheDir, { PATHLENS_CODE_CACHE: '0' })).toBe('off');
  });

  it('the worker writes its cache once started; the next worker starts from it', async () => {
    requireDist();
    const cacheDir = tempDir('code-cache-worker');
    const previous = process.env.PATHLENS_CACHE_DIR;
    process.env.PATHLENS_CACHE_DIR = cacheDir; // the worker threads inherit it
    try {
      const states: (string | undefined)[] = [];
      for (let i = 0; i < 2; i++) {
        const client = new WorkerClient({ workerScript: WORKER, backend: 'wasm', workers: 2 });
        try {
          await client.start();
          states.push(client.startup?.codeCache);
          const info = await client.info(path.resolve(ROOT, '../shared/zoo/mnist-cnn/model.json')).result;
          expect(info.summary.format).toBe('layers-model');
        } finally {
          await client.dispose();
        }
      }
      expect(states).toEqual(['miss', 'hit']);
      expect(cacheFiles(cacheDir, 'worker')).toHaveLength(1);
    } finally {
      if (previous === undefined) delete process.env.PATHLENS_CACHE_DIR;
      else process.env.PATHLENS_CACHE_DIR = previous;
    }
  });
});
