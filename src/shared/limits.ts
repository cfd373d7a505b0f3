/**
 * Limits that the extension's settings and the CLI's flags both enforce, so they stay one number each
 * (the extension host cannot read src/core). `src/core/safety/limits.ts` re-exports them beside the
 * core's other limits; package.json's `pathlens.memoryBudgetMB` schema repeats them (checked by a test).
 */

/**
 * Default memory budget for batched path points (MB). Measured: MobileNet-size models get batches
 * > 1 with pool workers and peak RSS stays below 1 GB (see bench).
 */
export const DEFAULT_MEMORY_BUDGET_MB = 1024;

/**
 * Smallest memory budget a user may ask for (MB): below 16 MB not even a tiny CNN's activations for
 * one path point fit.
 */
export const MIN_MEMORY_BUDGET_MB = 16;

/** Largest memory budget a user may ask for (MB): 64 GB is beyond any machine PathLens targets. */
export const MAX_MEMORY_BUDGET_MB = 65536;
