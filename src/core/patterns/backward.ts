/**
 * The pattern backward pass as the pattern methods use it: forward the points through the pattern
 * network, seed the explained output, and propagate back with A (PatternNet), W⊙A (PatternAttribution)
 * or W (the ordinary gradient, for checks).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MethodContext } from '../attribution/method';
import type { Evaluator, PointSpec } from '../engine/evaluator';
import { PathLensError } from '../errors';
import type { OutputKind } from '../types';
import type { PatternNetwork } from './network';
import type { BackwardKind, Patterns } from './patterns';

/**
 * The seed at the logits, [B, K], and F per point. `byValue`: relevance starts at the explained
 * value (PatternNet / PatternAttribution: one-hot × logit; for probabilities p_t·∂p_t/∂logits as the
 * reference's "backprop probability"); otherwise the plain derivative ∂F/∂logits (PGIG, as IG).
 */
export function outputSeed(
  network: PatternNetwork,
  logits: tf.Tensor2D,
  target: number,
  output: OutputKind,
  byValue: boolean,
): { seed: tf.Tensor2D; value: tf.Tensor1D } {
  const classes = logits.shape[1];
  const mask = new Float32Array(classes);
  mask[target] = 1;
  const onehot = tf.tensor2d(mask, [1, classes]);
  let value: tf.Tensor1D;
  let derivative: tf.Tensor2D;
  if (output === 'logit') {
    value = tf.sum(tf.mul(logits, onehot), 1) as tf.Tensor1D;
    derivative = tf.mul(tf.onesLike(logits), onehot) as tf.Tensor2D;
  } else {
    const squash = network.finalSquash ?? (classes === 1 ? 'sigmoid' : 'softmax');
    const probability = (l: tf.Tensor) => tf.sum(tf.mul(squash === 'softmax' ? tf.softmax(l) : tf.sigmoid(l), onehot), 1);
    value = probability(logits) as tf.Tensor1D;
    derivative = tf.grad((l: tf.Tensor) => probability(l))(logits) as tf.Tensor2D;
  }
  const seed = byValue ? (tf.mul(derivative, tf.reshape(value, [-1, 1])) as tf.Tensor2D) : derivative;
  return { seed, value };
}

/** Per point: the backward pass ([B, ...input]) and F at the point. Call inside tf.tidy. */
export function patternBackward(
  patterns: Patterns,
  kind: BackwardKind,
  points: tf.Tensor,
  target: number,
  output: OutputKind,
  byValue: boolean,
): { relevance: tf.Tensor; value: tf.Tensor1D } {
  const network = patterns.network;
  const cache = network.forward(points);
  const { seed, value } = outputSeed(network, cache.output, target, output, byValue);
  const relevance = network.backward(cache, seed, patterns.kernels(kind));
  return { relevance: tf.reshape(relevance, points.shape), value };
}

/** The context's patterns, or a clear error where no file access exists. */
export async function requirePatterns(context: MethodContext, method: string): Promise<Patterns> {
  if (!context.patterns) throw new PathLensError('usage', `${method} needs fitted patterns, which this caller does not provide`);
  return context.patterns();
}

/**
 * The twin must reproduce F: a model whose layers the pattern network mirrors incorrectly would give
 * explanations of some other function, so it fails clearly instead.
 */
export function checkTwinValue(twin: number, model: number, method: string): void {
  if (Math.abs(twin - model) > 1e-3 * Math.max(1, Math.abs(model))) {
    throw new PathLensError(
      'model-unsupported',
      `${method}: the pattern network computes F = ${twin} where the model gives ${model}; this model uses layer semantics the pattern methods cannot mirror`,
    );
  }
}

const BACKWARD_NAMES: Record<BackwardKind, string> = {
  'pattern-net': 'PatternNet backward pass',
  'pattern-attribution': 'PatternAttribution backward pass',
  gradient: 'pattern network gradient',
};

/** The pattern backward pass as the evaluator's backward (in place of ∇F) for the explained scalar. */
export function patternBackwardPass(evaluator: Evaluator, patterns: Patterns, kind: BackwardKind, byValue = false): PointSpec['backward'] {
  const { target, output } = evaluator.fn;
  return {
    name: BACKWARD_NAMES[kind],
    run: (points) => {
      const { relevance, value } = patternBackward(patterns, kind, points, target, output, byValue);
      return { value, grad: relevance };
    },
  };
}

/** The pattern backward pass and F at one point, through the evaluator. */
export async function patternBackwardAt(
  evaluator: Evaluator,
  patterns: Patterns,
  kind: BackwardKind,
  point: Float32Array,
  stage: string,
  byValue = false,
): Promise<{ value: number; relevance: Float32Array }> {
  let out: { value: number; relevance: Float32Array } | undefined;
  await evaluator.evaluatePoints(
    {
      count: 1,
      build: () => Float32Array.from(point),
      keepGradients: true,
      backward: patternBackwardPass(evaluator, patterns, kind, byValue),
    },
    (_start, r) => {
      out = { value: r.value[0]!, relevance: r.gradients! };
    },
    stage,
  );
  return out!;
}
