/** Running the pattern methods in tests the way explainInputs does, with a patterns hook. */
import '@tensorflow/tfjs-backend-cpu';
import type { MethodOptions } from '../../src/core/attribution/method';
import { createMethodContext } from '../../src/core/attribution/context';
import { Evaluator } from '../../src/core/engine/evaluator';
import { getMethod } from '../../src/core/methods';
import type { LoadedModel } from '../../src/core/model/load';
import type { Patterns } from '../../src/core/patterns/patterns';
import type { MethodResult, OutputKind } from '../../src/core/types';
import { primeBaseline, tensorInput } from './runMethod';

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
  const base = Float32Array.from(extra.baseline ?? x.map(() => 0));
  const context = await createMethodContext(evaluator, input, {
    makeBaseline: () => ({ data: base, name: 'test' }),
    ...(patterns ? { patterns: async () => patterns } : {}),
  });
  await primeBaseline(context);
  return getMethod(method).run(context, options);
}
