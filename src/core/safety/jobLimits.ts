/**
 * Caps on counts a flag or setting may ask for (steps, evaluations, samples, workers), checked before
 * any work starts, by the CLI's parser and by the core's request validation (worker, extension).
 */
import { PathLensError } from '../errors';
import { MAX_EVALUATIONS, MAX_STEPS, MAX_WORKERS } from './limits';

const COUNT_LIMITS: readonly { key: string; flag: string; max: number; why: string }[] = [
  { key: 'steps', flag: 'steps', max: MAX_STEPS, why: 'more path points add time, not accuracy' },
  { key: 'maxEvaluations', flag: 'max-evaluations', max: MAX_EVALUATIONS, why: 'the cap on gradient evaluations per map' },
  { key: 'samples', flag: 'samples', max: MAX_STEPS, why: 'more noisy or reference samples add time, not accuracy' },
  { key: 'ascentSteps', flag: 'ascent-steps', max: MAX_STEPS, why: 'more steps add time, not accuracy' },
  { key: 'scales', flag: 'scales', max: MAX_STEPS, why: 'more scales add time, not accuracy' },
];

function checkCount(value: unknown, flag: string, max: number, why: string): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value > max) {
    throw new PathLensError('usage', `${flag} must be at most ${max} (${why}); got ${String(value)}`);
  }
}

/** Throws a usage error when a method option (shared or per-method override) exceeds its cap. */
export function checkOptionLimits(options: Record<string, unknown>): void {
  const scopes: [string, Record<string, unknown>][] = [['', options]];
  const overrides = options.methodOverrides;
  if (overrides && typeof overrides === 'object') {
    for (const [method, values] of Object.entries(overrides as Record<string, unknown>)) {
      if (values && typeof values === 'object') scopes.push([`${method} `, values as Record<string, unknown>]);
    }
  }
  for (const [prefix, scope] of scopes) {
    for (const { key, flag, max, why } of COUNT_LIMITS) checkCount(scope[key], `${prefix}--${flag}`, max, why);
    const steps = typeof scope.steps === 'number' ? scope.steps : 1;
    const samples = typeof scope.samples === 'number' ? scope.samples : 1;
    if (steps * samples > MAX_EVALUATIONS) {
      throw new PathLensError(
        'usage',
        `${prefix}--steps × --samples = ${steps * samples} gradient evaluations per map, more than the cap of ${MAX_EVALUATIONS}`,
      );
    }
  }
}

/** Worker threads: at most MAX_WORKERS (each holds an engine and a model copy). */
export function checkWorkers(workers: number | undefined, flag = '--workers'): number | undefined {
  checkCount(workers, flag, MAX_WORKERS, 'each worker holds its own engine and model copy; more than the cores add no speed');
  return workers;
}
