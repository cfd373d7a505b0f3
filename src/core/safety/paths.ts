/**
 * Confining what an untrusted file names to its folder: weight shards, labels, metadata,
 * pathlens.json, pattern stores (and later ONNX external data). A name is decoded, must be relative,
 * must stay inside the folder after symlink resolution and must be a regular file (no FIFO, device
 * or directory, which would block or never end).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PathLensError, type ErrorCode } from '../errors';

/** Decodes percent-encoding (`..%2Fx.bin`), refusing malformed sequences with a typed error. */
export function decodeFileName(name: string, what: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    throw new PathLensError('unsafe-path', `${what}: '${name}' is not a valid percent-encoded file name`);
  }
}

function isInside(folder: string, file: string): boolean {
  const rel = path.relative(folder, file);
  return rel !== '' && !rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel);
}

/** realpath that turns a missing file, a symlink loop or a permission problem into one typed line. */
export function realPathOf(file: string, what: string, code: ErrorCode): string {
  try {
    return fs.realpathSync(file);
  } catch (err) {
    throw new PathLensError(code, `${what}: ${describeFsError(err, file)}`);
  }
}

/** One readable reason for a file-system error (no errno dump, no stack). */
export function describeFsError(err: unknown, file: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return `${file} does not exist (or is a dangling symbolic link)`;
    case 'ELOOP':
      return `${file} is a symbolic link loop`;
    case 'EACCES':
    case 'EPERM':
      return `${file} is not readable (permission denied)`;
    case 'EISDIR':
      return `${file} is a folder, not a file`;
    case 'ENOTDIR':
      return `${file}: a part of the path is a file, not a folder`;
    default:
      return `cannot read ${file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}

export interface ResolveOptions {
  /** Error code for a missing or unreadable file (default 'input'). Escapes always use 'unsafe-path'. */
  code?: ErrorCode;
}

/**
 * The absolute, symlink-resolved path of `name` (as written in a file found in `folder`), or a
 * PathLensError naming `what` (e.g. "weightsManifest[0].paths[1] of /m/model.json"). Refuses absolute
 * names, names that leave the folder after decoding or symlink resolution, and non-regular files.
 */
export function resolveInsideFolder(folder: string, name: string, what: string, options: ResolveOptions = {}): string {
  const code = options.code ?? 'input';
  if (typeof name !== 'string' || name.length === 0) throw new PathLensError('unsafe-path', `${what}: empty file name`);
  const decoded = decodeFileName(name, what);
  if (decoded.includes('\0')) throw new PathLensError('unsafe-path', `${what}: '${name}' contains a NUL byte`);
  if (path.isAbsolute(decoded) || path.win32.isAbsolute(decoded)) {
    throw new PathLensError('unsafe-path', `${what}: '${name}' is an absolute path; only files inside ${folder} may be named`);
  }
  const realFolder = realPathOf(folder, what, code);
  const lexical = path.resolve(realFolder, decoded);
  if (!isInside(realFolder, lexical)) {
    throw new PathLensError('unsafe-path', `${what}: '${name}' points outside the model folder ${folder}; refused`);
  }
  const real = realPathOf(lexical, what, code);
  if (!isInside(realFolder, real)) {
    throw new PathLensError('unsafe-path', `${what}: '${name}' is a link to ${real}, outside the model folder ${folder}; refused`);
  }
  requireRegularFile(real, what);
  return real;
}

/** Throws unless `file` is a regular file (FIFOs block, devices never end, folders are not data). */
export function requireRegularFile(file: string, what: string, stat?: fs.Stats): fs.Stats {
  let st = stat;
  if (!st) {
    try {
      st = fs.statSync(file);
    } catch (err) {
      throw new PathLensError('input', `${what}: ${describeFsError(err, file)}`);
    }
  }
  if (st.isFile()) return st;
  const kind = st.isDirectory()
    ? 'a folder'
    : st.isFIFO()
      ? 'a named pipe (FIFO)'
      : st.isCharacterDevice() || st.isBlockDevice()
        ? 'a device'
        : st.isSocket()
          ? 'a socket'
          : 'not a regular file';
  throw new PathLensError('unsafe-path', `${what}: ${file} is ${kind}, not a regular file`);
}

/**
 * Reads a regular file whole, refusing anything larger than `maxBytes` before reading. Opens with
 * O_NONBLOCK so that a FIFO swapped in after the check cannot block, and checks the opened file again.
 */
export function readRegularFile(file: string, what: string, maxBytes: number, code: ErrorCode = 'input'): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new PathLensError(code, `${what}: ${describeFsError(err, file)}`);
  }
  try {
    const st = requireRegularFile(file, what, fs.fstatSync(fd));
    if (st.size > maxBytes) {
      throw new PathLensError(
        'limit',
        `${what}: ${file} is ${formatBytes(st.size)}, more than the ${formatBytes(maxBytes)} PathLens reads`,
      );
    }
    return fs.readFileSync(fd);
  } catch (err) {
    if (err instanceof PathLensError) throw err;
    throw new PathLensError(code, `${what}: ${describeFsError(err, file)}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads `name` (as written in a file in `folder`) confined to that folder; see resolveInsideFolder. */
export function readInsideFolder(
  folder: string,
  name: string,
  what: string,
  maxBytes: number,
  options: ResolveOptions = {},
): { file: string; bytes: Buffer } {
  const file = resolveInsideFolder(folder, name, what, options);
  return { file, bytes: readRegularFile(file, what, maxBytes, options.code) };
}

/** 1536 → "1.5 KB"; used in budget messages. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} B`;
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
