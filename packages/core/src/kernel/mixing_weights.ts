/**
 * The mixing weights Φ = θ·P of the binary-ring form. Since the smoothed rings are G = P·M, a convolution with
 * θ·G equals the ring sums with the binary masks M followed by a 1×1 mixing with Φ; every fast kernel (composed
 * two-stage, WGSL, native) runs that form, and the BackpropFilter kernels return dΦ.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gaussianMatrix, type SigmaClip } from '../mixture/gaussian_mixture.js';

/**
 * Φ = θ·P, [Cout, Cin/groups, n] from θ [Cout, Cin/groups, n] and log σ [n] (P is gaussianMatrix, with its
 * clipping and the reference's constants). Without logSigmas (binary rings) Φ is θ itself — the same tensor, so a
 * caller that disposes Φ checks `phi !== weight` first. Differentiable in θ and log σ.
 */
export function mixingWeights(weight: tf.Tensor, logSigmas: tf.Tensor | null | undefined, clip: SigmaClip): tf.Tensor {
  if (!logSigmas) return weight;
  return tf.tidy(() => {
    const [cout, cinG, n] = weight.shape;
    return tf.reshape(tf.matMul(tf.reshape(weight, [cout * cinG, n]), gaussianMatrix(logSigmas, clip)), [
      cout,
      cinG,
      n,
    ]);
  });
}
