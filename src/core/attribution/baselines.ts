import * as tf from '@tensorflow/tfjs-core';
import type { Evaluator } from '../engine/evaluator';
import type { BaselineSpec } from '../types';
import type { ResolvedBaseline } from './method';

export function baselineKey(spec: BaselineSpec): string {
  return typeof spec === 'string' ? spec : `file:${spec.file}`;
}

/**
 * `MethodContext.baseline` for one evaluator: each baseline is built once and F at it evaluated once,
 * however many methods ask for it.
 */
export function baselineResolver(
  evaluator: Evaluator,
  make: (spec: BaselineSpec) => { data: Float32Array; name: string },
): (spec: BaselineSpec) => Promise<ResolvedBaseline> {
  const resolved = new Map<string, Promise<ResolvedBaseline>>();
  return (spec) => {
    const key = baselineKey(spec);
    let cached = resolved.get(key);
    if (!cached) {
      cached = (async () => {
        const { data, name } = make(spec);
        const [value] = await evaluator.values(1, () => tf.tensor(data, [1, ...evaluator.inputShape]), 'F(baseline)');
        return { spec, name, data, value: value! };
      })();
      resolved.set(key, cached);
    }
    return cached;
  };
}
