import * as tf from '@tensorflow/tfjs-core';
import type { Evaluator } from '../engine/evaluator';
import type { Patterns } from '../patterns/patterns';
import type { BaselineSpec, PreparedInput } from '../types';
import { baselineResolver } from './baselines';
import type { MethodContext } from './method';

/** What the caller (a worker job, a test) supplies to methods besides model and input: the I/O. */
export interface MethodResources {
  /** Builds a baseline in model space; file and image baselines need I/O, so the caller supplies this. */
  makeBaseline(spec: BaselineSpec, input: PreparedInput): { data: Float32Array; name: string };
  /** Loads a reference set (Expected Gradients) in model input space; the caller caches it per job. */
  referenceSet?(path: string): Promise<Float32Array[]>;
  /** Fitted patterns for the pattern methods; the caller loads them once per job. */
  patterns?(): Promise<Patterns>;
}

/**
 * The one place a method's context is built: F(x) through the evaluator, baselines resolved once per
 * spec (F at each evaluated once, however many methods ask), the caller's reference sets and patterns.
 */
export async function createMethodContext(evaluator: Evaluator, input: PreparedInput, resources: MethodResources): Promise<MethodContext> {
  const [inputValue] = await evaluator.values(1, () => tf.tensor(input.data, [1, ...evaluator.inputShape]), 'F(x)');
  const { referenceSet, patterns } = resources;
  return {
    evaluator,
    input,
    inputValue: inputValue!,
    baseline: baselineResolver(evaluator, (spec) => resources.makeBaseline(spec, input)),
    ...(referenceSet ? { referenceSet: (path: string) => referenceSet.call(resources, path) } : {}),
    ...(patterns ? { patterns: () => patterns.call(resources) } : {}),
  };
}
