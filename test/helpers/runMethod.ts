import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { MethodContext, MethodOptions } from '../../src/core/attribution/method';
import { createMethodContext } from '../../src/core/attribution/context';
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
  const base = Float32Array.from(baseline ?? x.map(() => 0));
  const context = await createMethodContext(evaluator, input, {
    makeBaseline: () => ({ data: base, name: 'test' }),
    referenceSet: async (path) => {
      const set = extra.references?.[path];
      if (!set) throw new Error(`test reference set '${path}' not given`);
      return set.map((r) => Float32Array.from(r));
    },
  });
  await primeBaseline(context);
  const result = await getMethod(method).run(context, options);
  return { result, model, evaluator, context };
}

/** Every baseline spec stands for the test's one baseline, with F at it evaluated before the method runs. */
export async function primeBaseline(context: MethodContext): Promise<void> {
  const resolved = await context.baseline('zero');
  context.baseline = async (spec) => ({ ...resolved, spec });
}
