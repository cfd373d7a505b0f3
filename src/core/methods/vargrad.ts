import { smoothingMethod } from '../attribution/smoothing';

/** VarGrad (Adebayo et al. 2018): variance of the wrapped attribution over noisy copies of the input. */
export const varGrad = smoothingMethod({
  name: 'vargrad',
  title: 'VarGrad',
  description: 'Variance of the wrapped attribution over noisy copies of the input (σ relative to the input range).',
  aggregate: 'variance',
});
