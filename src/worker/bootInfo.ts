/**
 * What the boot entry (src/worker/boot.ts) tells the bundle it started: the entry script to start
 * more threads with, and the state of the V8 code cache. Absent when a bundle runs without it
 * (tests importing the sources, an old build).
 */
export const BOOT_GLOBAL = '__pathlensBoot';

/** 'hit': compiled from the cache; 'miss' / 'rejected': compiled from source (the cache is written later); 'written'; 'off'. */
export type CodeCacheState = 'hit' | 'miss' | 'rejected' | 'written' | 'off';

export interface BootInfo {
  /** The entry file (dist/worker.js, dist/cli.js), not the bundle it ran. */
  script: string;
  codeCache: CodeCacheState;
  /**
   * Writes the code cache when this process compiled the bundle from source (once): it holds the
   * functions compiled so far whose bytecode V8 has not flushed yet, so call it soon after start-up.
   */
  saveCodeCache(): void;
}

export function bootInfo(): BootInfo | null {
  return ((globalThis as Record<string, unknown>)[BOOT_GLOBAL] as BootInfo | undefined) ?? null;
}
