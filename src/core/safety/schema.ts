/**
 * The one validator for file formats at their boundary (zod): loaders declare a schema per format
 * and call `validate`, which turns the first problem into a one-line PathLensError naming the file
 * and the field (`weightsManifest[0].weights[2].shape`).
 */
import { z } from 'zod';
import { PathLensError, type ErrorCode } from '../errors';

export { z };

/** `a.b[2].c` from a zod issue path. */
export function fieldPath(pathParts: readonly PropertyKey[]): string {
  let out = '';
  for (const part of pathParts) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = fieldPath(issue.path);
  const where = field ? `field "${field}"` : 'the top level';
  return `${where}: ${issue.message}`;
}

/** Parses `value` with `schema` or throws `code` naming `file` and the first failing field. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, file: string, code: ErrorCode, what = ''): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  throw new PathLensError(code, `${file}${what ? ` (${what})` : ''}: ${describeIssue(issues[0]!)}${more}`);
}

/** Shared pieces of schemas. */
export const finiteNumber = z.number().refine(Number.isFinite, 'must be a finite number');
export const dimension = z.number().int('must be an integer').nonnegative('must not be negative');
export const shapeSchema = z.array(dimension).max(16, 'has more than 16 dimensions');
