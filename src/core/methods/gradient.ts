import { elapsed, type AttributionMethod, type MethodContext } from '../attribution/method';
import type { MethodResult } from '../types';

/** ∇F at the input, one evaluation. Shared by Gradient and Gradient×Input. */
export async function gradientAtInput(context: MethodContext): Promise<Float32Array> {
  return (await context.evaluator.gradientAt(context.input.data, 'gradient')).grad;
}

export function singleEvaluationResult(
  method: string,
  context: MethodContext,
  data: Float32Array,
  started: number,
  evaluations: number,
): MethodResult {
  return {
    method,
    params: {},
    attribution: { shape: context.input.shape, data },
    completeness: null,
    timing: { ms: elapsed(started), evaluations },
  };
}

/** Vanilla gradient (saliency): ∂F/∂x at the input. Not complete. */
export const gradient: AttributionMethod = {
  name: 'gradient',
  title: 'Gradient',
  description: 'Sensitivity of the explained output to each input feature at the input (∂F/∂x).',
  complete: false,
  parameters: [],
  async run(context) {
    const started = performance.now();
    const before = context.evaluator.evaluations;
    const g = await gradientAtInput(context);
    return singleEvaluationResult('gradient', context, g, started, context.evaluator.evaluations - before);
  },
};
