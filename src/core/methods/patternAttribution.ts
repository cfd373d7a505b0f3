import type { AttributionMethod } from '../attribution/method';
import { runPatternBackward } from './patternNet';

/** PatternAttribution (Kindermans et al. 2018): backward with W⊙A₊, gated by the forward pass. */
export const patternAttribution: AttributionMethod = {
  name: 'pattern-attribution',
  title: 'PatternAttribution',
  description: 'Contribution of the signal: the explained output propagated back with W⊙A (needs `pathlens patterns fit`).',
  complete: false,
  needs: { patterns: true },
  parameters: [],
  run: (context) => runPatternBackward(context, 'pattern-attribution', 'pattern-attribution'),
};
