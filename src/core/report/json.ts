/**
 * The CLI's JSON output contract (`result.json`).
 *
 * - Typed arrays become plain number arrays.
 * - Non-finite numbers (NaN, ±Infinity — e.g. `completeness.relative` when `expected` is 0) become
 *   `null`, so the output is always valid JSON. Consumers must treat `null` in a numeric field as
 *   "not a finite number".
 */
import type { BackendName, ExplainResult, ModelSummary, PathTrace, Preprocessing } from '../types';
import { float32ArrayJson, float32Decimal9, type Float32TextCache } from './float32Text';

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
const f32 = (v: number): JsonNumber => (Number.isFinite(v) ? float32Decimal9(v) : null);

type ArrayConverter = (a: ArrayLike<number>) => JsonNumber[];

const arr: ArrayConverter = (a) => {
  const out: JsonNumber[] = [];
  if (a instanceof Float32Array) for (let i = 0; i < a.length; i++) out.push(f32(a[i]!));
  else for (let i = 0; i < a.length; i++) out.push(num(a[i]!));
  return out;
};

/**
 * A Float32Array left in the tree being serialised, so the pretty writer can print it straight to
 * bytes (`float32ArrayJson`) instead of building 150 000 numbers and strings per map; `toJSON` gives
 * the same value to JSON.stringify.
 */
class Float32Json {
  constructor(readonly data: Float32Array) {}
  toJSON(): JsonNumber[] {
    return arr(this.data);
  }
}

// The tree is serialised at once, never handed out: the cast stays inside this file.
const deferFloat32: ArrayConverter = (a) => (a instanceof Float32Array ? (new Float32Json(a) as unknown as JsonNumber[]) : arr(a));

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
  return buildJson(result, arr);
}

function buildJson(result: ExplainResult, arr: ArrayConverter): JsonReport {
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
            ...(r.path ? { path: jsonPath(r.path, arr) } : {}),
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

function jsonPath(p: PathTrace, arr: ArrayConverter): NonNullable<JsonMethodResult['path']> {
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
  if (!pretty) return JSON.stringify(toJson(result));
  return toJsonChunks(result)
    .map((c) => (typeof c === 'string' ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('latin1')))
    .join('');
}

/**
 * The pretty `toJsonString(result)` in pieces: text, and the float32 arrays as ASCII bytes, to be
 * written one after another (no 20 MB string is built for a 9-image run); arrays formatted earlier
 * come from `formatted`.
 */
export function toJsonChunks(result: ExplainResult, formatted?: Float32TextCache): (string | Uint8Array)[] {
  const chunks: (string | Uint8Array)[] = [];
  let text: string[] = [];
  const emit = (piece: string | Uint8Array) => {
    if (typeof piece === 'string') return void text.push(piece);
    chunks.push(text.join(''), piece);
    text = [];
  };
  writeCompactArrays(buildJson(result, deferFloat32), '', emit, formatted);
  chunks.push(text.join(''));
  return chunks;
}

function writeCompactArrays(
  value: unknown,
  indent: string,
  emit: (piece: string | Uint8Array) => void,
  formatted?: Float32TextCache,
): void {
  if (value instanceof Float32Json) return emit(formatted ? formatted.text(value.data) : float32ArrayJson(value.data));
  if (value === null || typeof value !== 'object') return emit(JSON.stringify(value) ?? 'null');
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return emit('[]');
    // Native stringify writes a plain number array exactly as the element-wise form would, far faster.
    if (value.every((v) => v === null || typeof v === 'number')) return emit(JSON.stringify(value));
    value.forEach((v, i) => {
      emit(i === 0 ? '[\n' + inner : ',\n' + inner);
      writeCompactArrays(v, inner, emit, formatted);
    });
    return emit('\n' + indent + ']');
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return emit('{}');
  entries.forEach(([k, v], i) => {
    emit(`${i === 0 ? '{\n' : ',\n'}${inner}${JSON.stringify(k)}: `);
    writeCompactArrays(v, inner, emit, formatted);
  });
  emit('\n' + indent + '}');
}
