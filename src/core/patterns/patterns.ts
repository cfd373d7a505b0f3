/**
 * Fitted patterns bound to a pattern network: what the pattern methods receive from the
 * `MethodContext.patterns()` hook (methods never read pattern files themselves).
 */
import * as tf from '@tensorflow/tfjs-core';
import { PathLensError } from '../errors';
import type { EstimatorName } from './estimators';
import type { FittedLayer } from './fit';
import type { PatternNetwork } from './network';

/** The JSON header stored with every pattern file. */
export interface PatternHeader {
  format: 'pathlens-patterns';
  version: 1;
  /** SHA-256 of the model's topology and weights the patterns were fitted for. */
  modelHash: string;
  model: string;
  estimator: EstimatorName;
  samples: number;
  /** Files or folders the samples came from. */
  dataSource: string[];
  preprocessing: string | null;
  date: string;
  layers: {
    name: string;
    className: string;
    shape: number[];
    estimator: EstimatorName;
    foldedBatchNorm: string | null;
    offset: number;
    length: number;
  }[];
}

export type BackwardKind = 'pattern-net' | 'pattern-attribution' | 'gradient';

export interface Patterns {
  readonly header: PatternHeader;
  readonly network: PatternNetwork;
  /** Replacement kernels per kernel layer: A (PatternNet), W⊙A (PatternAttribution), W (gradient). */
  kernels(kind: BackwardKind): ReadonlyMap<string, tf.Tensor>;
  dispose(): void;
}

/** Binds fitted patterns to a network, checking that every kernel layer has a pattern of its shape. */
export function bindPatterns(
  network: PatternNetwork,
  header: PatternHeader,
  layers: Pick<FittedLayer, 'name' | 'pattern' | 'kernelShape'>[],
  source: string,
): Patterns {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const a = new Map<string, tf.Tensor>();
  const wa = new Map<string, tf.Tensor>();
  try {
    for (const op of network.kernelOps) {
      const layer = byName.get(op.name);
      if (!layer)
        throw new PathLensError('usage', `${source} has no pattern for layer '${op.name}'; re-fit the patterns (pathlens patterns fit)`);
      if (layer.kernelShape.join(',') !== op.kernel.shape.join(',')) {
        throw new PathLensError(
          'usage',
          `${source}: the pattern of layer '${op.name}' has shape [${layer.kernelShape}] but the kernel has [${op.kernel.shape}]; re-fit the patterns`,
        );
      }
      const pattern = tf.tensor(layer.pattern, op.kernel.shape);
      a.set(op.name, pattern);
      wa.set(op.name, tf.mul(op.kernel, pattern));
    }
  } catch (err) {
    tf.dispose([...a.values(), ...wa.values()]);
    throw err;
  }
  const own = new Map(network.kernelOps.map((op) => [op.name, op.kernel]));
  return {
    header,
    network,
    kernels: (kind) => (kind === 'pattern-net' ? a : kind === 'pattern-attribution' ? wa : own),
    dispose: () => {
      tf.dispose([...a.values(), ...wa.values()]);
      network.dispose();
    },
  };
}
