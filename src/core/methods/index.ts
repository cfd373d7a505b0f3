import type { AttributionMethod } from '../attribution/method';
import { PathLensError } from '../errors';
import type { MethodNeeds } from '../../shared/methods';
import { blurIg } from './blurIg';
import { expectedGradients } from './expectedGradients';
import { gradient } from './gradient';
import { ggig } from './ggig';
import { gradXInput } from './gradXInput';
import { guidedIg } from './guidedIg';
import { integratedDecisionGradients } from './idg';
import { pathWeightedIg } from './pwig';
import { neuronConductance, neuronIg } from './neuronMaps';
import { integratedGradients } from './ig';
import { patternAttribution } from './patternAttribution';
import { patternNet } from './patternNet';
import { pgig } from './pgig';
import { smoothGrad } from './smoothgrad';
import { smoothGradSquared } from './smoothgradSq';
import { varGrad } from './vargrad';

/** The registry: one line per method. */
const registry = new Map<string, AttributionMethod>(
  [
    integratedGradients,
    gradient,
    gradXInput,
    guidedIg,
    blurIg,
    integratedDecisionGradients,
    pathWeightedIg,
    expectedGradients,
    smoothGrad,
    smoothGradSquared,
    varGrad,
    ggig,
    patternNet,
    patternAttribution,
    pgig,
    neuronConductance,
    neuronIg,
  ].map((m) => [m.name, m]),
);

/** Every method by its CLI name, in the order pickers list them. */
export const METHODS: ReadonlyMap<string, AttributionMethod> = registry;

/**
 * Adds a method at run time (tests register throwaway definitions to see them reach the CLI, help and
 * panel); returns the function that removes it again.
 */
export function registerMethod(method: AttributionMethod): () => void {
  if (registry.has(method.name)) throw new Error(`method '${method.name}' is already registered`);
  registry.set(method.name, method);
  return () => registry.delete(method.name);
}

/** The named methods whose definitions declare `need` (the caller loads that resource once for them). */
export function methodsNeeding(names: readonly string[], need: keyof MethodNeeds): string[] {
  return names.filter((name) => METHODS.get(name)?.needs?.[need] === true);
}

export function getMethod(name: string): AttributionMethod {
  const method = METHODS.get(name);
  if (!method) throw new PathLensError('usage', `unknown method '${name}' (available: ${[...METHODS.keys()].join(', ')})`);
  return method;
}
