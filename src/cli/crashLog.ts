/**
 * The last line of defence of the CLI: an error that is not a PathLensError (a bug, not bad input)
 * prints one line and the path of a log file holding its stack, never a stack trace on the terminal.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeError } from '../shared/errors';
import { WorkerError } from '../worker/client';

/** Where crash logs go: $PATHLENS_LOG_DIR, else <tmp>/pathlens-logs. */
export function crashLogFolder(): string {
  return process.env.PATHLENS_LOG_DIR || path.join(os.tmpdir(), 'pathlens-logs');
}

function stackOf(err: unknown): string {
  if (err instanceof WorkerError && err.workerStack) return err.workerStack;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** Writes the error's stack to a new log file; returns its path, or null when even that fails. */
export function writeCrashLog(err: unknown, argv: readonly string[]): string | null {
  try {
    const folder = crashLogFolder();
    fs.mkdirSync(folder, { recursive: true });
    const file = path.join(folder, `pathlens-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    fs.writeFileSync(file, [`pathlens ${argv.join(' ')}`, `node ${process.version} ${process.platform}`, '', stackOf(err), ''].join('\n'));
    return file;
  } catch {
    return null;
  }
}

/** One line for the terminal: typed errors as they are; anything else with the path of its crash log. */
export function errorLine(err: unknown, argv: readonly string[]): string {
  const { code, message } = describeError(err);
  const first = message.split('\n')[0]!.slice(0, 500);
  if (code !== 'internal') return `pathlens: ${first}`;
  const log = writeCrashLog(err, argv);
  return `pathlens: internal error (a bug, please report it): ${first.replace(/^Unexpected error: /, '')}${log ? `; details in ${log}` : ''}`;
}
