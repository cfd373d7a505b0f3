/**
 * The CLI's JSON output contract (`result.json`).
 *
 * - Typed arrays become plain number arrays.
 * - Non-finite numbers (NaN, ±Infinity — e.g. `completeness.relative` when `expected` is 0) become
 *   `null`, so the output is always valid JSON. Consumers must treat `null` in a numeric field as
 *   "not a finite number".
 */
import type { BackendName, ExplainResult, ModelSummary, PathTrace, Preprocessing } from '../types';

export type JsonNumber = number | null;

export interface JsonMethodResult {
  method: string;
  params: Record<string, unknown>;
  attribution: { shape: number[]; data: JsonNumber[] };
  completeness: { sum: JsonNumber; expected: JsonNumber; delta: JsonNumber; relative: JsonNumber } | null;
  /** The map's estimated error against the exact integral (path methods). */
  accuracy?: { mapError: JsonNumber; converged: boolean; basis: string; history?: { evaluations: number; mapError: JsonNumber }[] };
  path?: {
    alpha: JsonNumber[];
    value: JsonNumber[];
    gradNorm: JsonNumber[];
    cumulativeSum: JsonNumber[];
    expected: JsonNumber;
    extra?: Record<string, JsonNumber[]>;
  };
  timing: { ms: JsonNumber; evaluations: JsonNumber };
}

export interface JsonInputResult {
  path: string;
  prediction: { index: number; score: JsonNumber; label?: string; top: { index: number; score: JsonNumber; label?: string }[] };
  target: { index: number; label?: string; output: string; score: JsonNumber };
  results: JsonMethodResult[];
  error?: string;
}

export interface JsonReport {
  model: ModelSummary;
  backend: BackendName;
  preprocessing: Preprocessing | null;
  inputs: JsonInputResult[];
}

const num = (v: number): JsonNumber => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/**
 * Float32 data is written with 9 significant digits (enough to round-trip every float32 exactly),
 * which keeps result.json about half the size of printing the float64 expansion.
 */
const f32 = (v: number): JsonNumber => (Number.isFinite(v) ? Number(v.toPrecision(9)) : null);
const arr = (a: ArrayLike<number>): JsonNumber[] => (a instanceof Float32Array ? Array.from(a, f32) : Array.from(a, num));

/** Deep copy of plain data with typed arrays → arrays and non-finite numbers → null. */
export function sanitizeForJson(value: unknown): unknown {
  if (typeof value === 'number') return num(value);
  if (typeof value === 'bigint') return Number(value);
  if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? undefined : value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return Array.from(value as unknown as ArrayLike<number>, (v) => num(Number(v)));
  if (Array.isArray(value)) return value.map((v) => sanitizeForJson(v) ?? null);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const s = sanitizeForJson(v);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/** Convert an ExplainResult to the JSON contract (see the file comment for the null rule). */
export function toJson(result: ExplainResult): JsonReport {
  return {
    model: sanitizeForJson(result.model) as ModelSummary,
    backend: result.backend,
    preprocessing: sanitizeForJson(result.preprocessing) as Preprocessing | null,
    inputs: result.inputs.map((inp) => {
      const out: JsonInputResult = {
        path: inp.path,
        prediction: {
          index: inp.prediction.index,
          score: num(inp.prediction.score),
          ...(inp.prediction.label !== undefined ? { label: inp.prediction.label } : {}),
          top: inp.prediction.top.map((t) => ({
            index: t.index,
            score: num(t.score),
            ...(t.label !== undefined ? { label: t.label } : {}),
          })),
        },
        target: {
          index: inp.target.index,
          ...(inp.target.label !== undefined ? { label: inp.target.label } : {}),
          output: inp.target.output,
          score: num(inp.target.score),
        },
        results: inp.results.map((r) => {
          const m: JsonMethodResult = {
            method: r.method,
            params: sanitizeForJson(r.params) as Record<string, unknown>,
            attribution: { shape: [...r.attribution.shape], data: arr(r.attribution.data) },
            completeness: r.completeness
              ? {
                  sum: num(r.completeness.sum),
                  expected: num(r.completeness.expected),
                  delta: num(r.completeness.delta),
                  relative: num(r.completeness.relative),
                }
              : null,
            ...(r.accuracy ? { accuracy: sanitizeForJson(r.accuracy) as JsonMethodResult['accuracy'] } : {}),
            ...(r.path ? { path: jsonPath(r.path) } : {}),
            timing: { ms: num(r.timing.ms), evaluations: num(r.timing.evaluations) },
          };
          return m;
        }),
      };
      if (inp.error !== undefined) out.error = inp.error;
      return out;
    }),
  };
}

function jsonPath(p: PathTrace): NonNullable<JsonMethodResult['path']> {
  return {
    alpha: arr(p.alpha),
    value: arr(p.value),
    gradNorm: arr(p.gradNorm),
    cumulativeSum: arr(p.cumulativeSum),
    expected: num(p.expected),
    ...(p.extra ? { extra: Object.fromEntries(Object.entries(p.extra).map(([k, v]) => [k, arr(v)])) } : {}),
  };
}

/**
 * Serialise `toJson(result)`. Pretty (default) indents objects by 2 spaces but keeps arrays of plain
 * numbers on one line, so large attributions stay compact; the result parses to exactly the same
 * value as `JSON.stringify(toJson(result))`.
 */
export function toJsonString(result: ExplainResult, pretty = true): string {
  const json = toJson(result);
  return pretty ? stringifyCompactArrays(json, '') : JSON.stringify(json);
}

function stringifyCompactArrays(value: unknown, indent: string): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v === 'number')) return '[' + value.map((v) => JSON.stringify(v)).join(',') + ']';
    return '[\n' + value.map((v) => inner + stringifyCompactArrays(v, inner)).join(',\n') + '\n' + indent + ']';
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return (
    '{\n' + entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${stringifyCompactArrays(v, inner)}`).join(',\n') + '\n' + indent + '}'
  );
}
