/**
 * Checking sizes a file declares (weights, tensors, image headers) against a budget before anything
 * of that size is allocated: a header is cheap to lie in, an allocation is not.
 */
import { PathLensError } from '../errors';
import { formatBytes } from './paths';

/**
 * Throws a 'limit' error naming `what` unless `bytes` is a finite, non-negative number within
 * `budget`. `hint` says what the user can do (e.g. "raise --memory-budget-mb").
 */
export function checkDeclaredBytes(bytes: number, budget: number, what: string, hint = ''): void {
  if (!Number.isFinite(bytes) || bytes < 0) {
    throw new PathLensError('limit', `${what} declares an impossible size (${bytes} bytes)`);
  }
  if (bytes > budget) {
    throw new PathLensError(
      'limit',
      `${what} needs ${formatBytes(bytes)}, more than the budget of ${formatBytes(budget)}${hint ? `; ${hint}` : ''}`,
    );
  }
}

/** Elements of a shape, or NaN when a dimension is not a non-negative integer (checked by callers). */
export function elementCount(shape: readonly unknown[]): number {
  let count = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) return NaN;
    count *= d;
  }
  return count;
}
