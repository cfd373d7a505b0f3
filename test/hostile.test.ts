/**
 * Issue 18: the hostile corpus (test/hostile/corpus.ts) — doctored and corrupt models, inputs, flags,
 * pattern stores and output folders. Every case must end with the expected exit code and one line
 * naming the culprit: no stack trace, no "Unexpected error", no hang, bounded memory, nothing written
 * outside --out. Most cases run in-process through the worker's job functions; the cases that used
 * to hang and a representative subset run as the real CLI in child processes (two at a time).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus, CATEGORIES, countByCategory, type Case, type Category } from './hostile/corpus';
import { changedFiles, checkOutcome, runInProcess, runSpawned, snapshot, type RunOutcome } from './hostile/runner';
import { useCpu } from './helpers/runMethod';
import { parseCommand } from '../src/cli/args';
import { WorkerClient, WorkerError } from '../src/worker/client';

/** A child that has not answered in this time is hanging (a tiny model loads and explains in ~2 s). */
const CHILD_TIMEOUT_MS = 60_000;
/** Peak RSS of one CLI run: Node + TF.js + a tiny model is ~250 MB; a decompression bomb or a 1e8-unit layer is GBs. */
const CHILD_MAX_RSS_KB = 1_200_000;
/** Peak RSS of this test process after hundreds of in-process cases (vitest + TF.js ≈ 400 MB). */
const IN_PROCESS_MAX_RSS_KB = 1_500_000;
const CHILDREN_AT_ONCE = 2;

let root: string;
let cases: Case[];

beforeAll(async () => {
  await useCpu();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-hostile-'));
  process.env.PATHLENS_LOG_DIR = path.join(root, '.crash-logs');
  cases = buildCorpus(path.join(root, 'cases'));
});

afterAll(() => {
  delete process.env.PATHLENS_LOG_DIR;
  fs.rmSync(root, { recursive: true, force: true });
});

function outsideOut(c: Case, before: Map<string, string>): string[] {
  const changed = changedFiles(before, snapshot(c.dir, c.out));
  return changed.length > 0 ? [`changed outside --out: ${changed.map((f) => path.relative(c.dir, f)).join(', ')}`] : [];
}

async function runCaseInProcess(c: Case): Promise<string[]> {
  const before = snapshot(c.dir, c.out);
  const outcome = await runInProcess(c.argv);
  return [...checkOutcome(c, outcome), ...outsideOut(c, before)];
}

async function runCaseSpawned(c: Case): Promise<{ problems: string[]; outcome: RunOutcome }> {
  const before = snapshot(c.dir, c.out);
  const logs = path.join(c.dir, '..', `.logs-${c.id}`);
  const outcome = await runSpawned(c.argv, CHILD_TIMEOUT_MS, { PATHLENS_LOG_DIR: logs });
  const problems = [...checkOutcome(c, outcome), ...outsideOut(c, before)];
  if (outcome.maxRssKb === undefined) problems.push('no peak memory measured');
  else if (outcome.maxRssKb > CHILD_MAX_RSS_KB) problems.push(`peak memory ${outcome.maxRssKb} KB > ${CHILD_MAX_RSS_KB} KB`);
  if (fs.existsSync(logs)) problems.push(`wrote a crash log (${logs})`);
  return { problems, outcome };
}

/** Runs `work` over `items` with at most `limit` at once. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

describe('hostile corpus (issue 18)', () => {
  it('holds hundreds of generated cases in every category of the issue', () => {
    const counts = countByCategory(cases);
    expect(cases.length).toBeGreaterThanOrEqual(300);
    for (const category of CATEGORIES) expect(counts[category], category).toBeGreaterThanOrEqual(10);
    expect(cases.filter((c) => c.spawnOnly || c.spawn).length).toBeGreaterThanOrEqual(40);
  });

  for (const category of CATEGORIES) {
    it(`${category}: in-process, every case fails cleanly with one line naming the culprit`, async () => {
      const failures: Record<string, string[]> = {};
      for (const c of cases.filter((k) => k.category === category && !k.spawnOnly)) {
        const problems = await runCaseInProcess(c);
        if (problems.length > 0) failures[c.id] = problems;
      }
      expect(failures).toEqual({});
      expect(process.resourceUsage().maxRSS).toBeLessThan(IN_PROCESS_MAX_RSS_KB);
    }, 600_000);
  }

  it('CLI in child processes: the formerly hanging cases and a sample of every category, with timeouts and peak memory', async () => {
    const chosen = cases.filter((c) => c.spawnOnly || c.spawn);
    const seen = new Set<Category>(chosen.map((c) => c.category));
    for (const category of CATEGORIES) expect(seen.has(category), category).toBe(true);
    const results = await pool(chosen, CHILDREN_AT_ONCE, runCaseSpawned);
    const failures = Object.fromEntries(chosen.map((c, i) => [c.id, results[i]!.problems]).filter(([, p]) => p.length > 0));
    expect(failures).toEqual({});
  }, 900_000);
});

/** Cases sent through the extension's path: the attribution worker thread (src/worker) via its client. */
const WORKER_SAMPLE = [
  'sec-dense-dotdot',
  'sec-graph-pct-slash',
  'sec-cnn-dev-zero',
  'sec-functional-symlink-shard',
  'sec-cnn-pathlens-json-link',
  'budget-dense-units-1e8',
  'budget-png-20000-bomb',
  'budget-graph-placeholder-1e9',
  'raw-dense-weight-no-shape',
  'raw-graph-labels-folder',
  'raw-png-width-0',
  'raw-json-input-deep',
  'raw-input-folder-symlink-loop',
  'silent-graph-cycle-unused-node',
  'silent-pattern-nan',
  'silent-functional-unknown-inbound',
];

describe('hostile corpus through the attribution worker (the extension path)', () => {
  it('rejects each sampled case with a typed one-line error naming the culprit, and the worker stays usable', async () => {
    const worker = path.resolve(__dirname, '../dist/worker.js');
    if (!fs.existsSync(worker)) throw new Error(`${worker} is missing: run 'npm run build' first (npm test does)`);
    const client = new WorkerClient({ workerScript: worker, backend: 'cpu', workers: 1 });
    const failures: Record<string, string> = {};
    try {
      for (const id of WORKER_SAMPLE) {
        const c = cases.find((k) => k.id === id);
        if (!c) throw new Error(`no case ${id}`);
        const command = parseCommand(c.argv);
        if (command.kind !== 'explain') throw new Error(`${id} is not an explain case`);
        try {
          await client.explain(command.job).result;
          failures[id] = 'succeeded';
        } catch (err) {
          const { code, message } = err as WorkerError;
          if (!(err instanceof WorkerError)) failures[id] = `not a WorkerError: ${String(err)}`;
          else if (code === 'internal' || message.includes('\n') || !c.culprits.some((k) => message.includes(k))) {
            failures[id] = `${code}: ${message}`;
          }
        }
      }
      // Still alive and correct after all of them.
      const valid = cases.find((k) => k.id === 'silent-target-out-of-range')!;
      const job = parseCommand(valid.argv.filter((a, i, all) => a !== '--target' && all[i - 1] !== '--target'));
      if (job.kind !== 'explain') throw new Error('expected an explain command');
      const result = await client.explain(job.job).result;
      expect(result.inputs[0]!.results[0]!.method).toBe('gradient');
    } finally {
      await client.dispose();
    }
    expect(failures).toEqual({});
  }, 300_000);
});
