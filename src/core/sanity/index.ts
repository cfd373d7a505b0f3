export * from './types';
export { runSanity, validateSanityRequest, type SanityRequest, type SanityHooks } from './run';
export { verdictFor } from './verdict';
export { readModelWeights, buildModel, type ModelWeights, type WeightedLayer } from './weights';
export { METRICS, METRIC_LABELS, similarity, prepareMap, type MetricName, type Similarity } from './metrics';
