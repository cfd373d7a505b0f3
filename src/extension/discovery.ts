/**
 * Finding candidate inputs and models, without `vscode`: images and tables beside a model, the
 * order pickers show them in, and the recently-used model list.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Files offered as inputs in the picker (Browse… accepts .json tensors too). */
const PICKABLE_INPUT_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.csv'];
export const BROWSE_INPUT_EXTENSIONS = ['png', 'jpg', 'jpeg', 'json', 'csv'];
const IMAGE_FILE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];
/** Folder names never walked. */
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'out']);

function isPickableInput(file: string): boolean {
  return PICKABLE_INPUT_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

export function isImageFile(file: string): boolean {
  return IMAGE_FILE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/** Images and CSV tables in the model's folder and its sub-folders (depth ≤ maxDepth), sorted. */
export function inputsNearModel(modelPath: string, options: { maxDepth?: number; limit?: number } = {}): string[] {
  const maxDepth = options.maxDepth ?? 2;
  const limit = options.limit ?? 500;
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (found.length >= limit) return;
      const full = path.join(dir, e.name);
      if (e.isFile() && isPickableInput(e.name)) found.push(full);
    }
    if (depth >= maxDepth) return;
    for (const e of entries) {
      if (found.length >= limit) return;
      if (e.isDirectory() && !e.name.startsWith('.') && !SKIP_DIRS.has(e.name)) walk(path.join(dir, e.name), depth + 1);
    }
  };
  walk(path.dirname(path.resolve(modelPath)), 0);
  return found;
}

export interface InputCandidate {
  path: string;
  /** Shown as the item label. */
  label: string;
  /** Folder relative to the model (near) or the workspace (elsewhere). */
  description: string;
  near: boolean;
}

/** Near-model inputs first (in folder order), then the rest of the workspace, each path once; node_modules never. */
export function orderInputCandidates(modelPath: string, near: string[], workspace: string[], workspaceRoot?: string): InputCandidate[] {
  const modelDir = path.dirname(path.resolve(modelPath));
  const seen = new Set<string>();
  const out: InputCandidate[] = [];
  const add = (file: string, isNear: boolean) => {
    const full = path.resolve(file);
    if (seen.has(full) || full.split(path.sep).includes('node_modules') || !isPickableInput(full)) return;
    seen.add(full);
    const base = isNear ? modelDir : (workspaceRoot ?? modelDir);
    const rel = path.relative(base, path.dirname(full));
    out.push({ path: full, label: path.basename(full), description: rel === '' ? '.' : rel, near: isNear });
  };
  for (const f of near) add(f, true);
  const others = workspace
    .map((f) => path.resolve(f))
    .filter((f) => !seen.has(f))
    .sort((a, b) => a.localeCompare(b));
  for (const f of others) add(f, f.startsWith(modelDir + path.sep));
  return out;
}

/** Recently used models, newest first, in a Memento-like store. */
export interface KeyValueStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void> | Promise<void>;
}

const RECENT_KEY = 'pathlens.recentModels';

export class RecentModels {
  constructor(
    private readonly store: KeyValueStore,
    private readonly max = 10,
  ) {}

  list(exists: (p: string) => boolean = fs.existsSync): string[] {
    const raw = this.store.get<unknown>(RECENT_KEY);
    const list = Array.isArray(raw) ? raw.filter((p): p is string => typeof p === 'string') : [];
    return list.filter((p) => exists(p));
  }

  async add(modelPath: string): Promise<void> {
    const full = path.resolve(modelPath);
    const raw = this.store.get<unknown>(RECENT_KEY);
    const list = Array.isArray(raw) ? raw.filter((p): p is string => typeof p === 'string' && p !== full) : [];
    await this.store.update(RECENT_KEY, [full, ...list].slice(0, this.max));
  }
}

/** Recent models first (newest first), then workspace models sorted by path; each once. */
export function orderModels(recent: string[], workspace: string[]): { path: string; recent: boolean }[] {
  const seen = new Set<string>();
  const out: { path: string; recent: boolean }[] = [];
  for (const p of recent) {
    const full = path.resolve(p);
    if (!seen.has(full)) {
      seen.add(full);
      out.push({ path: full, recent: true });
    }
  }
  for (const p of [...workspace].map((w) => path.resolve(w)).sort((a, b) => a.localeCompare(b))) {
    if (!seen.has(p) && !p.split(path.sep).includes('node_modules')) {
      seen.add(p);
      out.push({ path: p, recent: false });
    }
  }
  return out;
}
