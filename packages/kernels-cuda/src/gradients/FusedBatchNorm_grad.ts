/**
 * FusedBatchNorm's gradient as one kernel (NativeBatchNormGrad). tfjs-layers normalises a training batch with
 * tf.moments and tf.batchNorm; tfjs-core's registered gradient builds every result from full-size element-wise ops
 * (about ten passes over the activations: x − mean, dy·scale, a tiled 1/√var, a product and a sum per parameter).
 */
import * as tf from '@tensorflow/tfjs-core';
import { FusedBatchNorm } from '@tensorflow/tfjs-core';
import { NativeBatchNormGrad } from '../kernel_names.js';
import type { NativeGradConfig } from './gradient_impl.js';

type Saved = (tf.Tensor | undefined)[];

/** The native kernel covers float32 x with rank-1 mean, variance (and scale) of x's last dimension. */
function covered(
  x: tf.Tensor,
  dy: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  scale: tf.Tensor | undefined,
): boolean {
  const C = x.shape[x.rank - 1];
  const perChannel = (t: tf.Tensor) => t.rank === 1 && t.shape[0] === C && t.dtype === 'float32';
  return (
    x.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    x.rank >= 1 &&
    perChannel(mean) &&
    perChannel(variance) &&
    (scale == null || perChannel(scale))
  );
}

export const fusedBatchNormGradConfig: NativeGradConfig = {
  kernelName: FusedBatchNorm,
  gradFunc: (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as Saved;
    if (!covered(x!, dy, mean!, variance!, scale)) return null;
    const inputs: tf.NamedTensorMap = { x: x!, dy, mean: mean!, variance: variance! };
    if (scale) inputs.scale = scale;
    const [dx, dmean, dvar, dscale, doffset] = tf.engine().runKernel(NativeBatchNormGrad, inputs, {
      varianceEpsilon: (attrs as { varianceEpsilon: number }).varianceEpsilon,
    }) as tf.Tensor[];
    return { x: () => dx!, mean: () => dmean!, variance: () => dvar!, scale: () => dscale!, offset: () => doffset! };
  },
};
