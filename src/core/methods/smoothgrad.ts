import { smoothingMethod } from '../attribution/smoothing';

/** SmoothGrad (Smilkov et al. 2017): the wrapped attribution averaged over noisy copies of the input. */
export const smoothGrad = smoothingMethod({
  name: 'smoothgrad',
  title: 'SmoothGrad',
  description: 'Mean of the wrapped attribution over noisy copies of the input (σ relative to the input range).',
  aggregate: 'mean',
});
