import type { Evaluator } from '../engine/evaluator';
import { PathLensError } from '../errors';
import {
  NAMED_BASELINES,
  type BaselineSpec,
  type MethodResult,
  type NamedBaseline,
  type PreparedInput,
  type QuadratureRuleName,
} from '../types';
import type { Patterns } from '../patterns/patterns';
import { parameterProblem, type MethodNeeds, type ParameterSpec } from '../../shared/methods';

export type { ParameterSpec } from '../../shared/methods';

/** A baseline in model input space with F at it, computed once per (input, baseline). */
export interface ResolvedBaseline {
  spec: BaselineSpec;
  /** Readable name for reports: 'zero', 'blur', a file name, … */
  name: string;
  data: Float32Array;
  value: number;
}

/** Everything a method may use; methods never touch files, the UI or vscode. */
export interface MethodContext {
  evaluator: Evaluator;
  input: PreparedInput;
  /** F(x). */
  inputValue: number;
  baseline(spec: BaselineSpec): Promise<ResolvedBaseline>;
  /**
   * A reference set (folder of images, CSV or JSON array file) loaded like inputs, in model input
   * space, cached per job. Absent where no file access exists (then methods needing it fail clearly).
   */
  referenceSet?(path: string): Promise<Float32Array[]>;
  /**
   * Fitted patterns bound to the model's pattern network (PatternNet, PatternAttribution, PGIG), loaded
   * by the caller (saved beside the model, or an explicit file), cached per job.
   */
  patterns?(): Promise<Patterns>;
}

/** Options shared by all methods (CLI flags / settings); each method reads what applies to it. */
export interface MethodOptions {
  /** Options for one method only, by method name; they override the shared ones for that method. */
  methodOverrides?: Record<string, Record<string, unknown>>;
  steps?: number;
  rule?: QuadratureRuleName;
  baseline?: BaselineSpec;
  seed?: number;
  [extra: string]: unknown;
}

/** The `baseline` parameter of the path methods: a named baseline (files come from the CLI and settings). */
export function baselineParameter(defaultName: NamedBaseline = 'zero'): ParameterSpec {
  return {
    name: 'baseline',
    label: 'Baseline',
    description: 'Reference input x′ the path starts from.',
    type: 'choice',
    default: defaultName,
    choices: [...NAMED_BASELINES],
    orFile: true,
  };
}

/** The `idgi` switch of the path methods that can post-process their path with IDGI. */
export function idgiParameter(note = ''): ParameterSpec {
  return {
    name: 'idgi',
    label: 'IDGI',
    description: `Post-process the path with IDGI${note}: exactly complete.`,
    type: 'boolean',
    default: false,
  };
}

export interface AttributionMethod {
  /** CLI name, e.g. 'ig'. */
  readonly name: string;
  /** Display title, e.g. 'Integrated Gradients'. */
  readonly title: string;
  /** One line for pickers and --help. */
  readonly description: string;
  /** Whether Σ attribution = F(x) − F(x') holds by design (completeness badge applies). */
  readonly complete: boolean;
  /** Parameters the user can change (defaults as documented in ALGORITHMS.md). */
  readonly parameters: readonly ParameterSpec[];
  /** What it needs besides model and input (the host asks for it before a run). */
  readonly needs?: MethodNeeds;
  /** Rejects invalid options before any computation. */
  validate?(options: MethodOptions): void;
  run(context: MethodContext, options: MethodOptions): Promise<MethodResult>;
  /**
   * How the map's error against the exact integral is estimated when `run` does not report it: the
   * same method at half of `parameter` (its steps or samples), the difference scaled by `factor`
   * (src/core/path/mapError.ts; run by `withMapError`).
   */
  readonly mapError?: { parameter: 'steps' | 'samples'; factor: number | ((params: Record<string, unknown>) => number); basis: string };
}

export function requirePositiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new PathLensError('usage', `${name} must be a whole number ≥ 1 (got ${String(value)})`);
  }
  return value;
}

/** Milliseconds since `start` (performance.now()), rounded to 0.1 ms. */
export function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

/** The options one method sees: the shared ones with its own overrides on top. */
export function optionsFor(options: MethodOptions, method: string): MethodOptions {
  const { methodOverrides, ...shared } = options;
  return { ...shared, ...(methodOverrides?.[method] ?? {}) };
}

/**
 * Rejects options that break the method's parameter specs (the specs are the truth for types, ranges
 * and choices), then runs the method's own cross-parameter checks. Every caller validates this way.
 */
export function validateOptions(method: AttributionMethod, options: MethodOptions): void {
  for (const spec of method.parameters) {
    const value = options[spec.name];
    if (value === undefined) continue;
    const problem = parameterProblem(spec, value);
    if (problem !== undefined) throw new PathLensError('usage', `${method.name}: ${problem}`);
  }
  method.validate?.(options);
}
