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

/**
 * Path points of one fixed-rule integral. Gauss–Legendre with 4096 nodes is already exact to float32
 * for any smooth integrand and Riemann's error at 4096 steps is below float32 accumulation noise, so
 * more points only cost time (also the `pathlens.ig.steps` setting's bound).
 */
export const MAX_STEPS = 4096;

/**
 * Worker threads. Each one holds its own TF.js engine and a copy of the model (≈ 60 MB for the
 * example, 100+ MB for MobileNet), and more threads than cores add no speed: 64 covers the largest
 * workstation while keeping a mistyped `--workers 1000` from spawning gigabytes of threads.
 */
export const MAX_WORKERS = 64;
