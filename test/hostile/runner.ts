/**
 * Running hostile cases: in-process through the worker's job functions (the path the extension's
 * worker takes, without a thread per case), or as the real CLI in a child process with a timeout and
 * its peak memory measured by /usr/bin/time. Both report the exit code and stderr lines.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCommand, UsageError } from '../../src/cli/args';
import { errorLine } from '../../src/cli/crashLog';
import { writeReport } from '../../src/core/report/write';
import { ModelCache, runExplainJob, runInfoJob, runPatternsFitJob } from '../../src/worker/jobs';
import { runSanityJob } from '../../src/worker/sanityJob';
import type { Case } from './corpus';

export interface RunOutcome {
  exit: number | null;
  /** stderr lines (the CLI's; in-process: the lines the CLI would print). */
  lines: string[];
  timedOut?: boolean;
  /** Peak resident memory of the child (KB), spawned runs only. */
  maxRssKb?: number;
}

const never = { cancelled: false };

/** What `pathlens <argv>` does, minus the worker thread: parse, run the job, write --out, one line per failure. */
export async function runInProcess(argv: string[]): Promise<RunOutcome> {
  let command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    if (err instanceof UsageError) return { exit: 2, lines: [`pathlens: ${err.message}`] };
    return { exit: 1, lines: [errorLine(err, argv)] };
  }
  const cache = new ModelCache();
  try {
    switch (command.kind) {
      case 'help':
        return { exit: 0, lines: [] };
      case 'info':
        await runInfoJob(command.modelPath, cache);
        return { exit: 0, lines: [] };
      case 'patterns-fit':
        await runPatternsFitJob(1, command.job, cache, never, () => {});
        return { exit: 0, lines: [] };
      case 'sanity':
        await runSanityJob(1, command.job, cache, never, () => {});
        return { exit: 0, lines: [] };
      case 'explain': {
        const result = await runExplainJob(1, command.job, cache, never, () => {});
        if (command.out) await writeReport(command.out, result);
        const failed = result.inputs.filter((i) => i.error);
        return { exit: failed.length > 0 ? 1 : 0, lines: failed.map((f) => `pathlens: ${f.path}: ${f.error}`) };
      }
      default:
        throw new Error(`the hostile corpus has no in-process runner for '${command.kind}'`);
    }
  } catch (err) {
    return { exit: 1, lines: [errorLine(err, argv)] };
  } finally {
    cache.clear();
  }
}

const CLI = path.resolve(__dirname, '../../dist/cli.js');

/** Runs the built CLI in a child process group; kills it after `timeoutMs`. */
export function runSpawned(argv: string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<RunOutcome> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', 'PATHLENS_MAXRSS_KB %M', process.execPath, CLI, ...argv], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, 'SIGKILL');
    }, timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      const lines = stderr.split('\n').filter((l) => l.length > 0);
      const rss = lines.findIndex((l) => l.startsWith('PATHLENS_MAXRSS_KB '));
      const maxRssKb = rss >= 0 ? Number(lines[rss]!.split(' ')[1]) : undefined;
      const exitLine = lines.find((l) => /^Command exited with non-zero status \d+$/.test(l));
      const exit = timedOut ? null : exitLine ? Number(exitLine.split(' ').pop()) : 0;
      resolve({
        exit,
        lines: lines.filter((l) => !l.startsWith('PATHLENS_MAXRSS_KB ') && l !== exitLine && !/^Command terminated by signal/.test(l)),
        timedOut,
        maxRssKb,
      });
    });
  });
}

/** Every file and folder under `dir` with its size and mtime, to prove nothing outside --out changed. */
export function snapshot(dir: string, skip?: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (at: string) => {
    for (const name of fs.readdirSync(at)) {
      const file = path.join(at, name);
      if (skip && (file === skip || file.startsWith(skip + path.sep))) continue;
      const st = fs.lstatSync(file);
      out.set(file, `${st.mode}:${st.size}:${st.mtimeMs}`);
      if (st.isDirectory()) walk(file);
    }
  };
  walk(dir);
  return out;
}

export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [file, stamp] of after) if (before.get(file) !== stamp) changed.push(file);
  for (const file of before.keys()) if (!after.has(file)) changed.push(file);
  return changed;
}

/** Problems of an outcome against the case's expectations (empty when it passes). */
export function checkOutcome(c: Case, outcome: RunOutcome): string[] {
  const problems: string[] = [];
  const text = outcome.lines.join('\n');
  if (outcome.timedOut) problems.push('timed out (hang)');
  const exitOk = c.exit === 'any' ? outcome.exit === 0 || outcome.exit === 1 : outcome.exit === c.exit;
  if (!exitOk) problems.push(`exit ${outcome.exit}, expected ${c.exit}`);
  if (/^\s+at /m.test(text)) problems.push('prints a stack trace');
  if (/Unexpected error|internal error/i.test(text)) problems.push('reports an unexpected/internal error');
  if (outcome.exit === 1 || outcome.exit === 2) {
    const messages = outcome.lines.filter((l) => l.startsWith('pathlens: ') && !/^pathlens: [\w, -]+ on .* \(backend \w+\)$/.test(l));
    if (messages.length === 0) problems.push('no "pathlens: …" message');
    const message = messages.at(-1) ?? '';
    if (c.culprits.length > 0 && !c.culprits.some((culprit) => message.includes(culprit))) {
      problems.push(`message does not name ${c.culprits.join(' or ')}`);
    }
    if (c.message && c.exit !== 'any' && !c.message.test(message)) problems.push(`message does not match ${c.message}`);
  }
  return problems.length > 0 ? [...problems, `stderr: ${text.slice(0, 600)}`] : [];
}
