import { describe, expect, it } from 'vitest';
import { float32ArrayJson, float32Decimal9, Float32TextCache } from '../src/core/report/float32Text';
import { toJson, toJsonChunks, toJsonString } from '../src/core/report/json';
import { fixture } from './report-fixtures';

/** The pretty layout written the slow, obvious way: the oracle for the fast writer. */
function referencePretty(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v === 'number')) return '[' + value.map((v) => JSON.stringify(v)).join(',') + ']';
    return '[\n' + value.map((v) => inner + referencePretty(v, inner)).join(',\n') + '\n' + indent + ']';
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return '{\n' + entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${referencePretty(v, inner)}`).join(',\n') + '\n' + indent + '}';
}

/** What result.json has always held for a float32 value: 9 significant digits, non-finite → null. */
const reference9 = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(9)) : null);
const referenceArrayText = (a: Float32Array) => '[' + Array.from(a, (v) => JSON.stringify(reference9(v))).join(',') + ']';
const ascii = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

/** Float32 values with awkward texts: signs, zeros, denormals, extremes, ties at the 9th digit, powers of ten. */
const awkward = Float32Array.of(
  ...[0, -0, Number.NaN, Infinity, -Infinity, 1e-45, -1e-45, 2.5e-42, 1.17549435e-38, 3.4028235e38, -3.4028235e38],
  ...[1e-14, 9.99e-15, 1e-7, 9.99999997e-7, 1e-6, 1.5e-5, 0.1, 0.3, 1, 10, 100, 1e8, 999999999, 1e9, 1e21, 123456789],
  ...[513 / 512, -513 / 512, 1 + 2 ** -23, 16777215, 16777216, 2 ** 30, 6.1035156e-5, 0.00122590479, -0.241569132],
);

describe('toJson', () => {
  it('produces the documented shape with plain arrays', () => {
    const { result } = fixture();
    const j = toJson(result);
    expect(Object.keys(j)).toEqual(['model', 'backend', 'preprocessing', 'inputs']);
    const r0 = j.inputs[0].results[0];
    expect(Object.keys(r0)).toEqual(['method', 'params', 'attribution', 'completeness', 'path', 'timing']);
    expect(Array.isArray(r0.attribution.data)).toBe(true);
    expect(r0.attribution.shape).toEqual([4, 4, 3]);
    expect(r0.attribution.data[(1 * 4 + 2) * 3]).toBe(5);
    expect(r0.completeness).toEqual({ sum: 0.85, expected: 0.8, delta: 0.05, relative: 0.0625 });
    expect(r0.path!.cumulativeSum).toEqual([0, 0.5, 0.85]);
    expect(j.inputs[0].results[1].completeness).toBeNull();
    expect(j.inputs[0].results[1].path).toBeUndefined();
    expect(j.inputs[0].prediction).toMatchObject({ index: 0, score: 0.9 });
    expect(j.inputs[1].target).toEqual({ index: 2, output: 'logit', score: 3.2 });
  });

  it('turns non-finite numbers into null and always yields valid JSON', () => {
    const { result } = fixture();
    const text = toJsonString(result);
    const parsed = JSON.parse(text);
    expect(parsed.inputs[0].results[0].attribution.data[0]).toBeNull();
    expect(parsed.inputs[1].results[0].completeness.relative).toBeNull();
    expect(parsed).toEqual(JSON.parse(JSON.stringify(toJson(result))));
    // compact number arrays in pretty output
    expect(text).toContain('"shape": [4,4,3]');
    expect(JSON.parse(toJsonString(result, false))).toEqual(parsed);
  });

  it('writes float32 data so that it round-trips exactly', () => {
    const { result } = fixture();
    const data = Float32Array.from({ length: 200 }, (_, i) => Math.sin(i * 1.37) * 10 ** ((i % 9) - 4));
    result.inputs[0].results[0].attribution = { shape: [200], data };
    const back = JSON.parse(toJsonString(result)).inputs[0].results[0].attribution.data as number[];
    back.forEach((v, i) => expect(Math.fround(v)).toBe(data[i]));
  });

  it('writes exactly the text of the element-wise 9-digit form, NaN/Infinity, -0, denormals and extremes included', () => {
    const { result } = fixture();
    result.inputs[0].results[0].attribution = { shape: [awkward.length], data: awkward };
    result.inputs[0].results[0].path!.value = Array.from(awkward);
    const plain = JSON.parse(JSON.stringify(result, (_, v) => (v instanceof Float32Array ? Array.from(v, reference9) : v)));
    const expected = referencePretty(JSON.parse(JSON.stringify(toJson(result))));
    expect(toJsonString(result)).toBe(expected);
    expect(
      toJsonChunks(result)
        .map((c) => (typeof c === 'string' ? c : ascii(c)))
        .join(''),
    ).toBe(expected);
    expect(JSON.parse(toJsonString(result, false))).toEqual(JSON.parse(expected));
    const data = JSON.parse(expected).inputs[0].results[0].attribution.data as (number | null)[];
    expect(data).toEqual(plain.inputs[0].results[0].attribution.data);
    awkward.forEach((v, i) =>
      Number.isFinite(v) ? expect(Object.is(Math.fround(data[i]!), v === 0 ? 0 : v)).toBe(true) : expect(data[i]).toBeNull(),
    );
  });

  it('formats random float32 bit patterns as the 9-digit reference and they parse back to the same float32', () => {
    let seed = 12345;
    const bits = Uint32Array.from({ length: 200_000 }, () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0));
    // half of them spread over the magnitudes attributions take, where the fast path runs
    for (let i = 0; i < bits.length; i += 2) bits[i] = (bits[i]! & 0x807fffff) | ((90 + (bits[i]! % 66)) << 23);
    const values = new Float32Array(bits.buffer);
    const text = ascii(float32ArrayJson(values));
    expect(text).toBe(referenceArrayText(values));
    const back = JSON.parse(text) as (number | null)[];
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) return expect(back[i]).toBeNull();
      expect(Math.fround(back[i]!)).toBe(v === 0 ? 0 : v);
      expect(Object.is(float32Decimal9(v), reference9(v))).toBe(true);
    });
  });

  it('reuses maps formatted ahead of time only for identical bytes', () => {
    const { result } = fixture();
    const data = Float32Array.from({ length: 300 }, (_, i) => Math.cos(i) * 1e-3);
    result.inputs[0].results[0].attribution = { shape: [300], data };
    const expected = toJsonString(result);
    const text = (cache: Float32TextCache) =>
      toJsonChunks(result, cache)
        .map((c) => (typeof c === 'string' ? c : ascii(c)))
        .join('');
    const cache = new Float32TextCache();
    cache.add(data.slice()); // a copy, as a result event's clone would be
    expect(text(cache)).toBe(expected);
    data[7] = 0.5; // the final result differs from what was formatted: formatted afresh
    expect(text(cache)).toBe(toJsonString(result));
    expect(text(cache)).not.toBe(expected);
    const full = new Float32TextCache(1000); // holds less than one map: formats when written
    full.add(data.slice());
    expect(text(full)).toBe(toJsonString(result));
  });

  it('keeps the input error field', () => {
    const { result } = fixture();
    result.inputs[1].error = 'boom';
    expect(toJson(result).inputs[1].error).toBe('boom');
  });
});
