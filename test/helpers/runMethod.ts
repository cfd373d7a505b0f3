import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { MethodContext, MethodOptions } from '../../src/core/attribution/method';
import { Evaluator } from '../../src/core/engine/evaluator';
import type { RemoteEvaluator } from '../../src/core/engine/pointBatch';
import { getMethod } from '../../src/core/methods';
import { loadModel, type LoadedModel } from '../../src/core/model/load';
import type { MethodResult, OutputKind, PreparedInput } from '../../src/core/types';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

export function tensorInput(data: number[], shape = [data.length]): PreparedInput {
  return { path: 'test', kind: 'tensor', shape, data: Float32Array.from(data) };
}

/** Runs one method on a model file with an explicit baseline array, the way explainInputs would. */
export async function runMethod(
  modelOrPath: string | LoadedModel,
  method: string,
  x: number[],
  baseline: number[] | null,
  options: MethodOptions = {},
  extra: {
    output?: OutputKind;
    target?: number;
    chunkSize?: number;
    references?: Record<string, number[][]>;
    remotes?: RemoteEvaluator[];
  } = {},
): Promise<{ result: MethodResult; model: LoadedModel; evaluator: Evaluator; context: MethodContext }> {
  const model = typeof modelOrPath === 'string' ? await loadModel(modelOrPath) : modelOrPath;
  const input = tensorInput(x, model.inputShape);
  const evaluator = new Evaluator(
    { model, target: extra.target ?? 0, output: extra.output ?? 'logit' },
    {
      chunkSize: extra.chunkSize,
      remotes: extra.remotes,
    },
  );
  const [inputValue] = await evaluator.values(1, () => tf.tensor(input.data, [1, ...model.inputShape]));
  const base = Float32Array.from(baseline ?? x.map(() => 0));
  const [baselineValue] = await evaluator.values(1, () => tf.tensor(base, [1, ...model.inputShape]));
  const context: MethodContext = {
    evaluator,
    input,
    inputValue: inputValue!,
    baseline: async (spec) => ({ spec, name: 'test', data: base, value: baselineValue! }),
    referenceSet: async (path) => {
      const set = extra.references?.[path];
      if (!set) throw new Error(`test reference set '${path}' not given`);
      return set.map((r) => Float32Array.from(r));
    },
  };
  const result = await getMethod(method).run(context, options);
  return { result, model, evaluator, context };
}
