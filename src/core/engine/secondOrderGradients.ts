/**
 * Gradients of three backward-pass kernels, so TF.js can differentiate an input gradient once more
 * (double backward). Neuron conductance needs dh/dα = J_h·d, a Jacobian-vector product; TF.js has no
 * forward mode, and J·d = ∇_v (d · Jᵀv) is exact where a central difference is not (5 % L1 error on
 * MobileNetV2's ReLU6 layers at a step of 1e-3). All three kernels are linear in `dy`, and only that
 * derivative is ever asked for here (filters and pooled inputs are constants of the inner backward).
 */
import * as tf from '@tensorflow/tfjs-core';
import { MASK_GRAD_KERNEL } from './wasmSimd';

let registered = false;

type Attrs = Record<string, unknown>;

export function registerSecondOrderGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    inputsToSave: ['dy', 'filter'],
    gradFunc: (g, saved, attrs: Attrs) => {
      const [, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      return {
        // d(Jᵀ dy)/d(dy) applied to g is the forward depthwise convolution of g.
        dy: () =>
          tf.depthwiseConv2d(
            g as tf.Tensor4D,
            filter,
            attrs.strides as [number, number],
            attrs.pad as 'valid' | 'same',
            'NHWC',
            attrs.dilations as [number, number],
            attrs.dimRoundingMode as 'round' | undefined,
          ),
        filter: () => tf.zerosLike(filter),
      };
    },
  });
  tf.registerGradient({
    // PathLens' own SIMD Relu/Relu6/Clip gradient on wasm: dx = mask(x)·dy, linear in dy.
    kernelName: MASK_GRAD_KERNEL,
    inputsToSave: ['x', 'dy'],
    gradFunc: (g, saved, attrs: Attrs) => {
      const [x] = saved as [tf.Tensor];
      return {
        dy: () => tf.engine().runKernel(MASK_GRAD_KERNEL, { x, dy: g as tf.Tensor }, attrs as never) as tf.Tensor,
        x: () => tf.zerosLike(x),
      };
    },
  });
  tf.registerGradient({
    kernelName: 'MaxPoolGrad',
    inputsToSave: ['dy', 'input', 'output'],
    gradFunc: (g, saved, attrs: Attrs) => {
      const [dy, input, output] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      return {
        // MaxPoolGrad routes dy to each window's maximum; its derivative reads g at that maximum.
        dy: () => {
          const { indexes } = tf.maxPoolWithArgmax(
            input,
            attrs.filterSize as [number, number],
            attrs.strides as [number, number],
            attrs.pad as 'valid' | 'same',
            true, // flat indices over the whole batch
          );
          const picked = tf.gather(tf.reshape(g as tf.Tensor, [-1]), tf.reshape(tf.cast(indexes, 'int32'), [-1]));
          return tf.reshape(picked, dy.shape);
        },
        input: () => tf.zerosLike(input),
        output: () => tf.zerosLike(output),
      };
    },
  });
}
