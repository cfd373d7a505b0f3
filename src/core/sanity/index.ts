export * from './types';
export { runSanity, type SanityHooks } from './run';
export { validateSanityRequest, type SanityRequest } from './validate';
export { verdictFor } from './verdict';
export { readModelWeights, buildModel, type ModelWeights, type WeightedLayer } from './weights';
export { METRICS, METRIC_LABELS, similarity, prepareMap, type MetricName, type Similarity } from './metrics';
