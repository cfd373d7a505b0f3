/**
 * Writing results: the output folder is checked once (not a file, not below a file, writable), and
 * every file is written to a temporary name in that folder and renamed, so a reader never sees half a
 * file and an existing symbolic link at the target is replaced, never followed outside the folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PathLensError } from '../errors';

function outputError(dir: string, err: unknown, flag: string): PathLensError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EEXIST' || code === 'ENOTDIR'
      ? fileAlongPath(dir)
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? `${dir} is not writable`
        : `cannot create ${dir}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  return new PathLensError('output', `${flag}: ${why}`);
}

/** Which part of `dir` is a file (`dir` itself or a parent). */
function fileAlongPath(dir: string): string {
  let at = path.resolve(dir);
  for (;;) {
    try {
      if (!fs.statSync(at).isDirectory())
        return at === path.resolve(dir) ? `${dir} is a file, not a folder` : `${dir} is below ${at}, which is a file`;
    } catch {
      /* does not exist yet: look further up */
    }
    const parent = path.dirname(at);
    if (parent === at) return `${dir} cannot be created`;
    at = parent;
  }
}

/**
 * mkdir -p one level at a time: Node's recursive mkdirSync never returns for some paths it cannot
 * create (e.g. below /proc), and each level's error names what is in the way.
 */
function makeFolders(absolute: string): void {
  const missing: string[] = [];
  let at = absolute;
  while (!fs.existsSync(at)) {
    missing.unshift(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const folder of missing) fs.mkdirSync(folder);
}

/** Creates `dir` (recursively) and checks it is a writable folder; returns its absolute path. */
export function prepareOutputFolder(dir: string, flag = '--out'): string {
  if (dir.trim() === '') throw new PathLensError('usage', `${flag} needs a folder (got '')`);
  const absolute = path.resolve(dir);
  try {
    makeFolders(absolute);
    if (!fs.statSync(absolute).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    fs.accessSync(absolute, fs.constants.W_OK);
  } catch (err) {
    throw outputError(dir, err, flag);
  }
  return absolute;
}

/**
 * Writes `data` to `dir/name` atomically (temporary file + rename in the same folder). `name` must be
 * a plain file name: nothing is ever written outside `dir`.
 */
export function writeFileAtomic(dir: string, name: string, data: string | Uint8Array, flag = '--out'): string {
  if (name !== path.basename(name) || name === '' || name === '.' || name === '..') {
    throw new PathLensError('internal', `refusing to write '${name}': not a plain file name inside ${dir}`);
  }
  const target = path.join(dir, name);
  const temp = path.join(dir, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    fs.writeFileSync(temp, data, { flag: 'wx' });
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
      throw new PathLensError('output', `${flag}: cannot write ${target}: a folder of that name is in the way`);
    }
    throw outputError(dir, err, flag);
  }
  return target;
}
