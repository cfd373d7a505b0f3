/** Running the pattern methods in tests the way explainInputs does, with a patterns hook. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { MethodContext, MethodOptions } from '../../src/core/attribution/method';
import { Evaluator } from '../../src/core/engine/evaluator';
import { getMethod } from '../../src/core/methods';
import type { LoadedModel } from '../../src/core/model/load';
import type { Patterns } from '../../src/core/patterns/patterns';
import type { MethodResult, OutputKind } from '../../src/core/types';
import { tensorInput } from './runMethod';

export async function runWithPatterns(
  model: LoadedModel,
  patterns: Patterns | null,
  method: string,
  x: number[],
  options: MethodOptions = {},
  extra: { output?: OutputKind; target?: number; baseline?: number[] } = {},
): Promise<MethodResult> {
  const input = tensorInput(x, model.inputShape);
  const evaluator = new Evaluator({ model, target: extra.target ?? 0, output: extra.output ?? 'logit' }, { chunkSize: 8 });
  const [inputValue] = await evaluator.values(1, () => tf.tensor(input.data, [1, ...model.inputShape]));
  const base = Float32Array.from(extra.baseline ?? x.map(() => 0));
  const [baselineValue] = await evaluator.values(1, () => tf.tensor(base, [1, ...model.inputShape]));
  const context: MethodContext = {
    evaluator,
    input,
    inputValue: inputValue!,
    baseline: async (spec) => ({ spec, name: 'test', data: base, value: baselineValue! }),
    ...(patterns ? { patterns: async () => patterns } : {}),
  };
  return getMethod(method).run(context, options);
}
