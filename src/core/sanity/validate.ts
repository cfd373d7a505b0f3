/**
 * The sanity-check request and its validation (usage errors before any model is loaded). Kept free of
 * model-loading imports so the CLI can validate arguments cheaply.
 */
import { checkOptionLimits } from '../safety';
import { optionsFor, validateOptions, type AttributionMethod, type MethodOptions } from '../attribution/method';
import { PathLensError } from '../errors';
import { getMethod } from '../methods';
import { METRICS } from './metrics';
import { DEFAULT_DRAWS, DEFAULT_LEVELS, DEFAULT_THRESHOLDS, SANITY_CHECKS, type SanitySettings, type SanityThresholds } from './types';

export interface SanityRequest extends SanitySettings {
  /** Method names, or method objects (tests use model-independent stand-ins). */
  methods: (string | AttributionMethod)[];
  options: MethodOptions;
}

export interface ResolvedSanityRequest {
  methods: AttributionMethod[];
  seed: number;
  levels: number[];
  draws: number;
  thresholds: SanityThresholds;
  topK: number;
}

/** Rejects bad requests (usage errors) before any model is loaded or built. */
export function validateSanityRequest(request: SanityRequest): ResolvedSanityRequest {
  const usage = (message: string) => new PathLensError('usage', message);
  if (!SANITY_CHECKS.includes(request.check))
    throw usage(`unknown check '${String(request.check)}' (choose one of ${SANITY_CHECKS.join(', ')})`);
  if (request.methods.length === 0) throw usage('no method given');
  checkOptionLimits(request.options as Record<string, unknown>);
  const methods = request.methods.map((m) => (typeof m === 'string' ? getMethod(m) : m));
  for (const m of methods) validateOptions(m, optionsFor(request.options, m.name));
  const seed = request.seed ?? 0;
  if (!Number.isInteger(seed)) throw usage(`seed must be an integer (got ${seed})`);
  const levels = request.levels ?? DEFAULT_LEVELS;
  if (levels.length === 0 || levels.some((l) => !(Number.isFinite(l) && l > 0)))
    throw usage(`levels must be numbers > 0 (relative noise, e.g. 0.01 = 1%; got ${levels.join(', ')})`);
  const draws = request.draws ?? DEFAULT_DRAWS;
  if (!Number.isInteger(draws) || draws < 1 || draws > 100) throw usage(`draws must be a whole number in [1, 100] (got ${draws})`);
  const thresholds = { ...DEFAULT_THRESHOLDS, ...request.thresholds };
  if (!METRICS.includes(thresholds.metric)) throw usage(`unknown metric '${thresholds.metric}' (choose one of ${METRICS.join(', ')})`);
  for (const key of ['randomization', 'independentShare', 'stability'] as const) {
    const v = thresholds[key];
    if (!(Number.isFinite(v) && v >= -1 && v <= 1)) throw usage(`threshold ${key} must be a number in [-1, 1] (got ${v})`);
  }
  const topK = request.topK ?? 0.1;
  if (!(topK > 0 && topK <= 1)) throw usage(`top-k must be a fraction in (0, 1] (got ${topK})`);
  return { methods, seed, levels: [...levels].sort((a, b) => a - b), draws, thresholds, topK };
}
