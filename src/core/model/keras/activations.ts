/**
 * Keras activation names → TF.js activation names. Most are the same function under another name;
 * Keras 3's `hard_sigmoid` is NOT Keras 2's (relu6(x + 3) / 6 versus clip(0.2x + 0.5)), and
 * `hard_silu` / `leaky_relu` have no TF.js activation, so PathLens registers its own for those.
 * A name not listed here is refused rather than silently replaced.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PathLensError } from '../../errors';

/** A TF.js activation class (looked up by class name from layer configs) computing `fn`. */
function activationClass(className: string, fn: (x: tf.Tensor) => tf.Tensor) {
  return class extends tf.serialization.Serializable {
    static readonly className: string = className;
    override getClassName(): string {
      return className;
    }
    apply(x: tf.Tensor): tf.Tensor {
      return tf.tidy(() => fn(x));
    }
    override getConfig(): tf.serialization.ConfigDict {
      return {};
    }
  };
}

/** clip(x / 6 + 0.5, 0, 1): Keras 3's hard_sigmoid (= relu6(x + 3) / 6). */
const hardSigmoidKeras3 = (x: tf.Tensor) => tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1);
const HardSigmoidKeras3 = activationClass('pathlensHardSigmoidKeras3', hardSigmoidKeras3);
/** x · hard_sigmoid(x) (Keras 3's hard_silu, alias hard_swish). */
const HardSiluKeras3 = activationClass('pathlensHardSilu', (x) => tf.mul(x, hardSigmoidKeras3(x)));
/** Keras 3's leaky_relu activation (negative slope 0.2). */
const LeakyReluKeras3 = activationClass('pathlensLeakyRelu', (x) => tf.leakyRelu(x, 0.2));

let registered = false;
function registerActivations(): void {
  if (registered) return;
  for (const cls of [HardSigmoidKeras3, HardSiluKeras3, LeakyReluKeras3]) tf.serialization.registerClass(cls);
  registered = true;
}

const SAME_IN_TFJS: Record<string, string> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  elu: 'elu',
  selu: 'selu',
  sigmoid: 'sigmoid',
  softmax: 'softmax',
  softplus: 'softplus',
  softsign: 'softsign',
  tanh: 'tanh',
  swish: 'swish',
  silu: 'swish',
  gelu: 'gelu', // exact (erf) in Keras' activation and in TF.js
  mish: 'mish',
  log_softmax: 'logSoftmax',
};

/**
 * The TF.js activation for a Keras activation name. `kerasMajor` decides what `hard_sigmoid` means.
 * `where` names the layer for the error.
 */
export function tfjsActivation(name: string, kerasMajor: number, where: string): string {
  if (name in SAME_IN_TFJS) return SAME_IN_TFJS[name]!;
  registerActivations();
  if (name === 'hard_sigmoid') return kerasMajor >= 3 ? HardSigmoidKeras3.className : 'hardSigmoid';
  if (name === 'hard_silu' || name === 'hard_swish') return HardSiluKeras3.className;
  if (name === 'leaky_relu') return LeakyReluKeras3.className;
  throw new PathLensError(
    'model-unsupported',
    `${where} uses the activation '${name}', which PathLens cannot run in TF.js (supported: ${[...Object.keys(SAME_IN_TFJS), 'hard_sigmoid', 'hard_silu', 'leaky_relu'].join(', ')})`,
  );
}
