/**
 * Kernel synthesis: the dense kernel of a GMR conv, W[o, c, p] = Σ_i θ[o, c, i] · G[i, p], with G = P·M the
 * Gaussian-smoothed ring basis (one row per ring, one column per kernel tap).
 */
import * as tf from '@tensorflow/tfjs-core';

/** θ [A, B, n] · G [n, K] → [A, B, K] (the reference's OI(D)HW kernel, flattened spatially). */
export function synthesizeKernelOI(theta: tf.Tensor, basis: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [a, b, n] = theta.shape;
    return tf.reshape(tf.matMul(tf.reshape(theta, [a * b, n]), basis), [a, b, basis.shape[1]]) as tf.Tensor3D;
  });
}

/** Same kernel in tfjs filter layout [...kernelSize, inPerGroup, out] (from θ [out, inPerGroup, n]). */
export function synthesizeKernel(theta: tf.Tensor, basis: tf.Tensor2D, kernelSize: number[]): tf.Tensor {
  return tf.tidy(() => {
    const [out, inPerGroup] = theta.shape;
    const oi = synthesizeKernelOI(theta, basis); // [out, in, K]
    return tf.reshape(tf.transpose(oi, [2, 1, 0]), [...kernelSize, inPerGroup, out]);
  });
}
