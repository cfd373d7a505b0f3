/**
 * Errors a user can act on. `code` lets the CLI, worker and UI classify a failure without parsing
 * text; `message` is one readable line saying what and where.
 */
export type ErrorCode =
  | 'model-json'
  | 'model-shard'
  | 'model-unsupported'
  | 'model-load'
  | 'input'
  | 'baseline'
  | 'target'
  | 'non-finite'
  | 'memory'
  | 'cancelled'
  | 'usage'
  | 'backend'
  /** A file names something outside its folder, or something that is not a regular file. */
  | 'unsafe-path'
  /** A declared size, depth or count is beyond a limit of src/core/safety/limits.ts. */
  | 'limit'
  /** The output folder cannot be written (it is a file, below a file, or not writable). */
  | 'output'
  | 'patterns'
  /** Evaluation results that cannot be merged or are inconsistent. */
  | 'evaluate'
  | 'internal';

export class PathLensError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PathLensError';
  }
}

export class CancelledError extends PathLensError {
  constructor() {
    super('cancelled', 'Cancelled by the user.');
  }
}

/** One line for a user: our own messages as they are, anything else prefixed as unexpected. */
export function describeError(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof PathLensError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  if (/out of memory|Cannot allocate|Array buffer allocation failed|RangeError: Invalid typed array length/i.test(message)) {
    return { code: 'memory', message: `Out of memory: ${message}. Lower --memory-budget-mb or use a smaller model/input.` };
  }
  const kernel = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(message);
  if (kernel) {
    return {
      code: 'backend',
      message: `the ${kernel[2]} backend has no '${kernel[1]}' kernel, which this model needs; try another backend (--backend cpu)`,
    };
  }
  return { code: 'internal', message: `Unexpected error: ${message}` };
}
