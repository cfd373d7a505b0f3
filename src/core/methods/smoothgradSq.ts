import { smoothingMethod } from '../attribution/smoothing';

/** SmoothGrad² (PAIR's default "squared" SmoothGrad): mean of the squared wrapped attribution. */
export const smoothGradSquared = smoothingMethod({
  name: 'smoothgrad-sq',
  title: 'SmoothGrad²',
  description: 'Mean of the squared wrapped attribution over noisy copies (magnitude only; σ relative to the input range).',
  aggregate: 'mean-square',
});
