/**
 * Pure helpers (no `vscode`) for the explain flow's extras: the pattern methods' "fit patterns first"
 * offer, and the Expected Gradients reference set remembered per model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MethodCatalog } from '../shared/methods';
import type { WireError } from '../shared/protocol';

/** True for the error explain gives when no patterns exist for the model (so the UI can offer to fit). */
export function isMissingPatternsError(message: string): boolean {
  return /pattern methods need fitted patterns|fitted for (other|different) weights/.test(message);
}

/** Whether a run with these methods that failed with `error` should offer "Fit Patterns…" and re-run. */
export function shouldOfferPatternFit(catalog: MethodCatalog, methods: readonly string[], error: WireError | null | undefined): boolean {
  if (!error || error.code === 'cancelled') return false;
  return catalog.anyNeeds(methods, 'patterns') && isMissingPatternsError(error.message);
}

export const REFERENCE_SETS_KEY = 'pathlens.referenceSets';

/** The part of a vscode.Memento this needs (workspaceState). */
export interface MementoLike {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void> | Promise<void>;
}

export type ReferenceKind = 'folder' | 'csv' | 'json';

/** The kind of a reference set path, or null if it is none of folder / .csv / .json. */
export function referenceKind(
  file: string,
  isDirectory: (p: string) => boolean = (p) => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false,
): ReferenceKind | null {
  if (isDirectory(file)) return 'folder';
  const ext = path.extname(file).toLowerCase();
  return ext === '.csv' ? 'csv' : ext === '.json' ? 'json' : null;
}

/**
 * Expected Gradients' reference set per model, in workspaceState keyed by the model's absolute path
 * (at most `limit` models, the most recently set kept). A remembered set that no longer exists is
 * forgotten (the user is asked again).
 */
export class ReferenceSetMemory {
  constructor(
    private readonly store: MementoLike,
    private readonly exists: (p: string) => boolean = (p) => fs.existsSync(p),
    private readonly limit = 50,
  ) {}

  private all(): Record<string, string> {
    const raw = this.store.get<unknown>(REFERENCE_SETS_KEY);
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
    return Object.fromEntries(
      Object.entries(raw as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  }

  get(modelPath: string): string | undefined {
    const file = this.all()[path.resolve(modelPath)];
    return file && this.exists(file) ? file : undefined;
  }

  async set(modelPath: string, reference: string): Promise<void> {
    const all = this.all();
    const key = path.resolve(modelPath);
    delete all[key];
    const entries = [...Object.entries(all), [key, path.resolve(reference)] as const].slice(-this.limit);
    await this.store.update(REFERENCE_SETS_KEY, Object.fromEntries(entries));
  }

  async forget(modelPath: string): Promise<void> {
    const all = this.all();
    delete all[path.resolve(modelPath)];
    await this.store.update(REFERENCE_SETS_KEY, all);
  }
}
