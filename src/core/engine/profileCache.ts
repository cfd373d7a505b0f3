/**
 * Batch probes cached per model hash, so a second run skips the probe: `<model dir>/.pathlens/
 * profile-<hash>.json` when that folder already exists (PathLens' own folder beside the model, made by
 * `pathlens patterns fit` or the user: explaining never creates anything outside `--out`), else the
 * user's cache folder (`$PATHLENS_CACHE_DIR/profiles`, `$XDG_CACHE_HOME/pathlens/profiles` or
 * `~/.cache/pathlens/profiles`, shared by every copy of the model), else nothing (memory only). A
 * `.pathlens` that is a link out of the model folder or marked read-only is not written. The hash
 * covers the model file (the topology and weight manifest decide the cost, not the weight values); an
 * entry is keyed by what else decides it: backend, threads, CPU and the PathLens build. A cache file
 * is untrusted like the model folder: size limited, schema checked, implausible memory figures
 * ignored; a bad one is ignored, never fatal.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BatchProbe } from '../../shared/protocol';
import { finiteNumber, parseJsonText, readRegularFile, resolveInsideFolder, validate, writeFileAtomic, z } from '../safety';

export const PROFILE_DIR = '.pathlens';
/** Whole model files up to this size are hashed; larger ones by their first bytes, size and mtime. */
const HASH_WHOLE_BYTES = 64 * 1024 * 1024;
const MAX_PROFILE_FILE_BYTES = 1024 * 1024;
/** Entries kept per file (other machines, backends and thread counts). */
const MAX_ENTRIES = 16;

const probeSchema = z.object({
  bytesPerPoint: finiteNumber.positive(),
  sizes: z
    .array(z.object({ batch: z.number().int().min(1).max(1024), msPerPoint: finiteNumber.positive() }))
    .min(1)
    .max(32),
  budgetBytes: finiteNumber.positive(),
  stoppedEarly: z.boolean(),
});
const fileSchema = z.object({
  format: z.literal('pathlens-profile'),
  version: z.literal(1),
  modelHash: z.string(),
  entries: z.record(z.string(), probeSchema.extend({ date: z.string() })),
});
type ProfileFile = z.output<typeof fileSchema>;

/** SHA-256 of the model file (its first 64 MB, size and mtime when larger). */
export function modelFileHash(modelPath: string): string {
  const hash = createHash('sha256');
  const stat = fs.statSync(modelPath);
  if (stat.size <= HASH_WHOLE_BYTES) hash.update(fs.readFileSync(modelPath));
  else {
    const head = Buffer.alloc(HASH_WHOLE_BYTES);
    const fd = fs.openSync(modelPath, 'r');
    try {
      fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    hash.update(head).update(`${stat.size}:${stat.mtimeMs}`);
  }
  return hash.digest('hex');
}

/** What besides the model decides a probe's numbers. */
export function probeEnvironmentKey(backend: string, threads: number, build = buildStamp()): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${backend} · ${threads} thread(s) · ${cpu} × ${os.cpus().length} · build ${build}`;
}

/** The running bundle's size and mtime: a rebuilt PathLens (new kernels) measures again. */
function buildStamp(): string {
  try {
    const stat = fs.statSync(__filename);
    return `${stat.size}-${Math.round(stat.mtimeMs)}`;
  } catch {
    return 'unknown';
  }
}

export function userProfileDir(): string {
  if (process.env.PATHLENS_CACHE_DIR) return path.join(process.env.PATHLENS_CACHE_DIR, 'profiles');
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'pathlens', 'profiles');
}

const fileName = (hash: string) => `profile-${hash.slice(0, 16)}.json`;

function readProfileFile(file: string, hash: string): ProfileFile | null {
  try {
    const text = readRegularFile(file, 'profile cache', MAX_PROFILE_FILE_BYTES).toString('utf8');
    const parsed = validate(fileSchema, parseJsonText(text, file, 'input'), file, 'input', 'profile cache');
    return parsed.modelHash === hash ? parsed : null;
  } catch {
    return null; // missing, damaged or hostile: measure again
  }
}

/** A folder whose mode grants nobody write access is left alone, even by root. */
function markedReadOnly(folder: string): boolean {
  return (fs.statSync(folder).mode & 0o222) === 0;
}

/** The model folder's cache file, if its `.pathlens` exists as a writable folder inside it (for writing) or the file is there (reading). */
function modelFolderFile(modelPath: string, hash: string, forReading: boolean): string | null {
  const folder = path.dirname(path.resolve(modelPath));
  try {
    if (forReading) return resolveInsideFolder(folder, `${PROFILE_DIR}/${fileName(hash)}`, 'profile cache');
    const dir = path.join(folder, PROFILE_DIR);
    const inside = fs.lstatSync(dir).isDirectory() && fs.realpathSync(dir) === path.join(fs.realpathSync(folder), PROFILE_DIR);
    return inside && !markedReadOnly(dir) ? path.join(dir, fileName(hash)) : null;
  } catch {
    return null; // no .pathlens folder (or unreadable): the user cache
  }
}

/** A cached probe for this model and environment, from the model folder or the user cache. */
export function readCachedProbe(modelPath: string, hash: string, envKey: string, minBytesPerPoint: number): BatchProbe | null {
  const candidates = [modelFolderFile(modelPath, hash, true), path.join(userProfileDir(), fileName(hash))];
  for (const file of candidates) {
    const entry = file ? readProfileFile(file, hash)?.entries[envKey] : undefined;
    // A memory figure below what one point's input and gradient take is not a measurement: ignore it.
    if (entry && entry.bytesPerPoint >= minBytesPerPoint) {
      const { date: _date, ...probe } = entry;
      return probe;
    }
  }
  return null;
}

/** Saves a probe; returns the file written, or null when neither folder is writable (memory only). */
export function writeCachedProbe(modelPath: string, hash: string, envKey: string, probe: BatchProbe): string | null {
  const userFile = path.join(userProfileDir(), fileName(hash));
  for (const file of [modelFolderFile(modelPath, hash, false), userFile]) {
    if (!file) continue;
    try {
      const previous = readProfileFile(file, hash);
      const kept = Object.entries(previous?.entries ?? {}).filter(([key]) => key !== envKey);
      const entries = Object.fromEntries([...kept.slice(-(MAX_ENTRIES - 1)), [envKey, { ...probe, date: new Date().toISOString() }]]);
      const content: ProfileFile = { format: 'pathlens-profile', version: 1, modelHash: hash, entries };
      // Only the user cache folder is ever created; a model folder's .pathlens must exist already.
      if (file === userFile) fs.mkdirSync(path.dirname(file), { recursive: true });
      return writeFileAtomic(path.dirname(file), path.basename(file), JSON.stringify(content, null, 2) + '\n', 'profile cache');
    } catch {
      /* not writable: try the next place */
    }
  }
  return null;
}
