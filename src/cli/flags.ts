/**
 * Flags shared by `explain` and `sanity`: their parseArgs specs and their conversion to typed values,
 * so both commands accept and check method options the same way.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { IG_RULES } from '../core/methods/ig';
import type { BackendChoice, OutputKind, QuadratureRuleName } from '../shared/types';
import type { JobMethodOptions } from '../shared/protocol';

export type Usage = (message: string) => Error;

/** Strict parseArgs (no positionals, unknown flags refused) whose errors are usage errors. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, usage: Usage) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw usage((err as Error).message);
  }
}

export const BACKENDS: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** parseArgs specs of every method option and of the flags common to explain and sanity. */
export const METHOD_FLAGS = {
  model: { type: 'string' },
  method: { type: 'string' },
  target: { type: 'string' },
  output: { type: 'string' },
  baseline: { type: 'string' },
  steps: { type: 'string' },
  rule: { type: 'string' },
  tolerance: { type: 'string' },
  'map-tolerance': { type: 'string' },
  'max-evaluations': { type: 'string' },
  fraction: { type: 'string' },
  'max-dist': { type: 'string' },
  'max-sigma': { type: 'string' },
  'grad-step': { type: 'string' },
  reference: { type: 'string' },
  patterns: { type: 'string' },
  samples: { type: 'string' },
  noise: { type: 'string' },
  wrap: { type: 'string' },
  scales: { type: 'string' },
  'ascent-steps': { type: 'string' },
  'ascent-rate': { type: 'string' },
  idgi: { type: 'boolean' },
  weight: { type: 'string' },
  neuron: { type: 'string' },
  'beta-a': { type: 'string' },
  'beta-b': { type: 'string' },
  preprocess: { type: 'string' },
  backend: { type: 'string' },
  'memory-budget-mb': { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
} as const;

type FlagValues = { [K in keyof typeof METHOD_FLAGS]?: (typeof METHOD_FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

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

/** Method options from the parsed flags; each method validates its own ranges later. */
export function methodOptionsFrom(v: FlagValues, usage: Usage): JobMethodOptions {
  return {
    steps: wholeNumber(v.steps, '--steps', usage),
    rule: oneOf(v.rule, [...IG_RULES, 'interior'], '--rule', usage) as QuadratureRuleName | undefined,
    tolerance: positiveNumber(v.tolerance, '--tolerance', usage),
    mapTolerance: positiveNumber(v['map-tolerance'], '--map-tolerance', usage),
    maxEvaluations: wholeNumber(v['max-evaluations'], '--max-evaluations', usage),
    baseline: v.baseline,
    seed: wholeNumber(v.seed, '--seed', usage, Number.MIN_SAFE_INTEGER) ?? 0,
    fraction: finiteNumber(v.fraction, '--fraction', usage),
    maxDist: finiteNumber(v['max-dist'], '--max-dist', usage),
    maxSigma: finiteNumber(v['max-sigma'], '--max-sigma', usage),
    gradStep: finiteNumber(v['grad-step'], '--grad-step', usage),
    reference: v.reference,
    patterns: v.patterns,
    samples: wholeNumber(v.samples, '--samples', usage),
    noise: finiteNumber(v.noise, '--noise', usage),
    wrap: v.wrap,
    scales: wholeNumber(v.scales, '--scales', usage),
    ascentSteps: wholeNumber(v['ascent-steps'], '--ascent-steps', usage, 0),
    ascentRate: finiteNumber(v['ascent-rate'], '--ascent-rate', usage),
    idgi: v.idgi,
    weight: v.weight,
    neuron: v.neuron,
    betaA: finiteNumber(v['beta-a'], '--beta-a', usage),
    betaB: finiteNumber(v['beta-b'], '--beta-b', usage),
  };
}
