import type { AttributionMethod } from '../attribution/method';
import { gradientAtInput, singleEvaluationResult } from './gradient';

/** Gradient × Input: x ⊙ ∂F/∂x. Complete only for linear models with zero bias, so no badge. */
export const gradXInput: AttributionMethod = {
  name: 'grad-x-input',
  title: 'Gradient × Input',
  description: 'Input times gradient: a first-order estimate of each feature’s contribution.',
  complete: false,
  parameters: [],
  async run(context) {
    const started = performance.now();
    const before = context.evaluator.evaluations;
    const g = await gradientAtInput(context);
    const x = context.input.data;
    const product = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) product[i] = x[i]! * g[i]!;
    return singleEvaluationResult('grad-x-input', context, product, started, context.evaluator.evaluations - before);
  },
};
