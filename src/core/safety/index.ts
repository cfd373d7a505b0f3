/**
 * The resource policy for untrusted files and flags (issue 18): confined paths, regular files only,
 * declared sizes checked against budgets before allocation, JSON depth limits, schema validation.
 */
export * from './limits';
export * from './paths';
export * from './budget';
export * from './json';
export * from './schema';
export * from './jobLimits';
export * from './output';
