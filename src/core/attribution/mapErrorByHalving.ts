/**
 * The map-error estimate of path methods that do not estimate it themselves (Guided IG, Blur IG, PGIG,
 * IDG, PWIG, Expected Gradients, the SmoothGrad family, neuron maps): the same method at half of its
 * steps (or samples) costs 50 % more evaluations and gives ‖A_n − A_⌈n/2⌉‖₁/‖A_n‖₁, scaled by the
 * method's factor (1 for first-order discretisations and for Monte-Carlo means whose first half of
 * samples is shared, 0.5 for Gauss–Legendre; see src/core/path/mapError.ts for the calibration).
 */
import { ADAPTIVE_DEFAULTS } from '../path/adaptive';
import { relativeL1 } from '../path/mapError';
import type { MethodResult } from '../types';
import type { AttributionMethod, MethodContext, MethodOptions } from './method';

export async function withMapError(
  method: AttributionMethod,
  context: MethodContext,
  options: MethodOptions,
  result: MethodResult,
): Promise<MethodResult> {
  const estimate = method.mapError;
  if (result.accuracy || !estimate) return result;
  const used = result.params[estimate.parameter];
  if (typeof used !== 'number' || !Number.isInteger(used) || used < 2) return result;
  const half = Math.max(estimate.parameter === 'steps' && method.name === 'idg' ? 3 : 1, Math.ceil(used / 2));
  const halved = await method.run(context, { ...options, [estimate.parameter]: half });
  const factor = typeof estimate.factor === 'function' ? estimate.factor(result.params) : estimate.factor;
  const mapError = factor * relativeL1(result.attribution.data, halved.attribution.data);
  const mapTolerance = typeof options.mapTolerance === 'number' ? options.mapTolerance : ADAPTIVE_DEFAULTS.mapTolerance;
  return {
    ...result,
    accuracy: {
      mapError,
      converged: mapError <= mapTolerance,
      basis: `${estimate.basis}: ${used} vs ${half} ${estimate.parameter} (halving)`,
    },
    timing: { ms: result.timing.ms + halved.timing.ms, evaluations: result.timing.evaluations + halved.timing.evaluations },
  };
}
