/**
 * What the boot entry (src/worker/boot.ts) tells the bundle it started: the entry script to start
 * more threads with, and the state of the V8 code cache. Absent when a bundle runs without it
 * (tests importing the sources, an old build).
 */
import * as os from 'node:os';
import type { Worker } from 'node:worker_threads';

export const BOOT_GLOBAL = '__pathlensBoot';

/** Threads computing one job by default (the coordinator's pool size when it has more than one). */
export function defaultWorkerCount(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** 'hit': compiled from the cache; 'miss' / 'rejected': compiled from source (the cache is written later); 'written'; 'off'. */
export type CodeCacheState = 'hit' | 'miss' | 'rejected' | 'written' | 'off';

export interface BootInfo {
  /** The entry file (dist/worker.js, dist/cli.js), not the bundle it ran. */
  script: string;
  codeCache: CodeCacheState;
  /**
   * Pool threads a coordinator's boot started before its bundle loaded (when its init asks for a
   * prestarted pool): same script and init as the pool's own spawns, for the pool to adopt.
   */
  prestarted: Worker[];
  /**
   * Writes the code cache when this process compiled the bundle from source (once): it holds the
   * functions compiled so far whose bytecode V8 has not flushed yet, so call it soon after start-up.
   */
  saveCodeCache(): void;
}

export function bootInfo(): BootInfo | null {
  return ((globalThis as Record<string, unknown>)[BOOT_GLOBAL] as BootInfo | undefined) ?? null;
}
