import { describe, expect, it } from 'vitest';
import { toJson, toJsonString } from '../src/core/report/json';
import { fixture } from './report-fixtures';

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

  it('keeps the input error field', () => {
    const { result } = fixture();
    result.inputs[1].error = 'boom';
    expect(toJson(result).inputs[1].error).toBe('boom');
  });
});
