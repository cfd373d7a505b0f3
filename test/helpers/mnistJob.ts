import * as path from 'node:path';
import type { ExplainJob } from '../../src/shared/protocol';

/** The zoo's MNIST CNN (../shared/zoo/mnist-cnn beside the repository). */
export const MNIST_ZOO = path.resolve(__dirname, '..', '..', '..', 'shared', 'zoo', 'mnist-cnn');

/** A small IG job on the zoo's MNIST sample digit for `modelPath` (a copy of the zoo model, or the zoo's own). */
export function mnistDigitJob(modelPath = path.join(MNIST_ZOO, 'model.json')): ExplainJob {
  return {
    modelPath,
    inputs: [path.join(MNIST_ZOO, 'samples/sample_digit.png')],
    preprocess: 'raw255',
    methods: ['ig'],
    target: 'top',
    output: 'logit',
    options: { steps: 8, rule: 'riemann-middle' },
    memoryBudgetMB: 64,
  };
}
