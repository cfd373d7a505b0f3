import { elapsed, type AttributionMethod, type MethodContext } from '../attribution/method';
import { checkTwinValue, patternBackwardAt, requirePatterns } from '../patterns/backward';
import type { BackwardKind } from '../patterns/patterns';
import type { MethodResult } from '../types';

/**
 * PatternNet / PatternAttribution at the input: relevance starts at the explained output value and is
 * propagated back with A or W⊙A, ReLU gates and max-pool switches from the ordinary forward pass.
 */
export async function runPatternBackward(
  context: MethodContext,
  method: 'pattern-net' | 'pattern-attribution',
  kind: BackwardKind,
): Promise<MethodResult> {
  const started = performance.now();
  const patterns = await requirePatterns(context, method);
  const fn = context.evaluator.fn;
  const { relevance: data, value: twin } = await patternBackwardAt(context.evaluator, patterns, kind, context.input.data, method, true);
  checkTwinValue(twin, context.inputValue, method);
  return {
    method,
    params: {
      estimator: patterns.header.estimator,
      patternSamples: patterns.header.samples,
      relevance: fn.output === 'logit' ? 'logit value' : 'probability value (through the final squashing)',
    },
    attribution: { shape: context.input.shape, data: Float32Array.from(data) },
    completeness: null,
    timing: { ms: elapsed(started), evaluations: 1 },
  };
}

/** PatternNet (Kindermans et al. 2018): the signal direction, backward with the patterns A. */
export const patternNet: AttributionMethod = {
  name: 'pattern-net',
  title: 'PatternNet',
  description: 'Signal estimate: the explained output propagated back with the fitted patterns A (needs `pathlens patterns fit`).',
  complete: false,
  needs: { patterns: true },
  parameters: [],
  run: (context) => runPatternBackward(context, 'pattern-net', 'pattern-net'),
};
