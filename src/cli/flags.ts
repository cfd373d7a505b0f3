/**
 * Flags shared by `explain` and `sanity`: their parseArgs specs and their conversion to typed values,
 * so both commands accept and check method options the same way.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { AttributionMethod } from '../core/attribution/method';
import { METHODS } from '../core/methods';
import { flagOf, NEED_OPTIONS, type ParameterSpec, type ParameterValue } from '../shared/methods';
import type { BackendChoice, OutputKind } from '../shared/types';
import type { JobMethodOptions } from '../shared/protocol';
import { MAX_MEMORY_BUDGET_MB, MIN_MEMORY_BUDGET_MB } from '../shared/limits';

export type Usage = (message: string) => Error;

/** Strict parseArgs (no positionals, unknown flags refused) whose errors are usage errors. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, usage: Usage) {
  return parseFlagsAndOperands(args, options, usage, false).values;
}

/** parseFlags that also takes operands (`evaluate merge <files…>`) when `operands` is true. */
export function parseFlagsAndOperands<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  usage: Usage,
  operands = true,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: operands });
  } catch (err) {
    throw usage((err as Error).message);
  }
}

export const BACKENDS: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** parseArgs specs of the flags common to explain, sanity and evaluate that are no method's parameter. */
const RUN_FLAGS = {
  model: { type: 'string' },
  method: { type: 'string' },
  target: { type: 'string' },
  output: { type: 'string' },
  preprocess: { type: 'string' },
  backend: { type: 'string' },
  'memory-budget-mb': { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
} as const;

/**
 * Every method parameter by its CLI flag, with the specs that declare it (several methods share
 * `--steps`, `--samples`, …). Derived from the method definitions each time, so a registered method's
 * parameters are flags at once.
 */
export function methodParameterFlags(methods: Iterable<AttributionMethod> = METHODS.values()): Map<string, ParameterSpec[]> {
  const byFlag = new Map<string, ParameterSpec[]>();
  for (const method of methods)
    for (const spec of method.parameters) {
      const flag = flagOf(spec);
      const specs = byFlag.get(flag) ?? [];
      const first = specs[0];
      if (first && (first.name !== spec.name || (first.type === 'boolean') !== (spec.type === 'boolean')))
        throw new Error(`--${flag}: ${method.name}'s parameter '${spec.name}' disagrees with '${first.name}' of another method`);
      byFlag.set(flag, [...specs, spec]);
    }
  return byFlag;
}

type FlagSpec = { type: 'string' } | { type: 'boolean' };

/** parseArgs specs of every method parameter and of the flags common to explain, sanity and evaluate. */
export function methodFlags(): typeof RUN_FLAGS & Record<string, FlagSpec> {
  const derived: Record<string, FlagSpec> = {};
  for (const [flag, specs] of methodParameterFlags()) derived[flag] = { type: specs[0]!.type === 'boolean' ? 'boolean' : 'string' };
  // The options naming what methods need (--patterns, --reference), parameters or not.
  for (const option of Object.values(NEED_OPTIONS)) derived[option] ??= { type: 'string' };
  return { ...derived, ...RUN_FLAGS };
}

type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export function finiteNumber(value: string | undefined, flag: string, usage: Usage): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw usage(`${flag} must be a number (got '${value}')`);
  return n;
}

export function positiveNumber(value: string | undefined, flag: string, usage: Usage): number | undefined {
  const n = finiteNumber(value, flag, usage);
  if (n !== undefined && n <= 0) throw usage(`${flag} must be a number > 0 (got '${value}')`);
  return n;
}

export function wholeNumber(value: string | undefined, flag: string, usage: Usage, min = 1): number | undefined {
  const n = finiteNumber(value, flag, usage);
  if (n !== undefined && (!Number.isInteger(n) || n < min)) throw usage(`${flag} must be a whole number ≥ ${min} (got '${value}')`);
  return n;
}

/** `--memory-budget-mb`: a whole number of MB within the bounds the extension's setting has too. */
export function memoryBudgetFrom(value: string | undefined, usage: Usage): number | undefined {
  const n = finiteNumber(value, '--memory-budget-mb', usage);
  if (n !== undefined && (!Number.isInteger(n) || n < MIN_MEMORY_BUDGET_MB || n > MAX_MEMORY_BUDGET_MB))
    throw usage(`--memory-budget-mb must be a whole number of MB from ${MIN_MEMORY_BUDGET_MB} to ${MAX_MEMORY_BUDGET_MB} (got '${value}')`);
  return n;
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, usage: Usage): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw usage(`${flag} must be one of ${allowed.join(', ')} (got '${value}')`);
  return value as T;
}

export function numberList(value: string, flag: string, usage: Usage): number[] {
  const values = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (values.length === 0 || values.some((v) => !Number.isFinite(v)))
    throw usage(`${flag} must be a comma-separated list of numbers (got '${value}')`);
  return values;
}

export function targetFrom(value: string | undefined, usage: Usage): 'top' | number {
  if (value === undefined || value === 'top') return 'top';
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw usage(`--target must be 'top' or a class index ≥ 0 (got '${value}')`);
  return n;
}

export function outputFrom(value: string | undefined, usage: Usage): OutputKind {
  return oneOf<OutputKind>(value, ['logit', 'probability'], '--output', usage) ?? 'logit';
}

export function methodsFrom(value: string | undefined, fallback: string): string[] {
  return (value ?? fallback)
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m.length > 0);
}

/**
 * One flag's text as the parameter's type: integers and numbers parsed (the shared flags' widest range
 * is checked here, each method checks its own spec later), choices within the union of the methods'.
 */
function flagValue(text: string, specs: ParameterSpec[], usage: Usage): ParameterValue | undefined {
  const first = specs[0]!;
  const flag = `--${flagOf(first)}`;
  if (first.type === 'integer') return wholeNumber(text, flag, usage, Math.min(...specs.map((p) => p.min ?? Number.MIN_SAFE_INTEGER)));
  if (first.type === 'number') return finiteNumber(text, flag, usage);
  if (first.type === 'choice' && !specs.some((p) => p.orFile === true))
    return oneOf(text, [...new Set(specs.flatMap((p) => p.choices ?? []))], flag, usage);
  return text;
}

/**
 * Method options from the parsed flags: every method parameter's flag typed by its specs (each method
 * checks its ranges later) and every option naming what a method needs (`NEED_OPTIONS`, e.g.
 * `--patterns`), whether or not a method also declares it as a parameter.
 */
export function methodOptionsFrom(v: FlagValues, usage: Usage): JobMethodOptions {
  const options: JobMethodOptions = {};
  for (const option of Object.values(NEED_OPTIONS)) if (typeof v[option] === 'string') options[option] = v[option];
  for (const [flag, specs] of methodParameterFlags()) {
    const value = v[flag];
    if (value === undefined || Array.isArray(value)) continue;
    options[specs[0]!.name] = typeof value === 'string' ? flagValue(value, specs, usage) : value;
  }
  return { ...options, seed: typeof options.seed === 'number' ? options.seed : 0 };
}
