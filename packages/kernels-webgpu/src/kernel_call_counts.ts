/** Helpers shared by the kernels: mixing weights, flat views, call counters. */
import * as tf from '@tensorflow/tfjs-core';
import { gaussianMatrix, type GMRConvAttrs } from '@gmr-conv/core';

/** How often each kernel ran (and how often the forward fell back to core's composed path). */
export interface KernelCallCounts {
  forward: number;
  backpropInput: number;
  backpropFilter: number;
  fallback: number;
}

const counts: KernelCallCounts = { forward: 0, backpropInput: 0, backpropFilter: 0, fallback: 0 };

export function countCall(what: keyof KernelCallCounts): void {
  counts[what]++;
}

/** A copy of the call counters of this package's kernels (since load or the last reset). */
export function kernelCallCounts(): KernelCallCounts {
  return { ...counts };
}

export function resetKernelCallCounts(): void {
  counts.forward = counts.backpropInput = counts.backpropFilter = counts.fallback = 0;
}

/**
 * Mixing weights of the binary-ring form, Φ = θ·P ([Cout, Cin/g, n]); θ itself for binary rings.
 * P is core's gaussianMatrix (clipping and the reference's 2.5066), so the numbers are core's.
 * Returns {phi, owned}: owned = true when phi is a new tensor the caller must dispose.
 */
export function mixingWeights(weight: tf.Tensor, logSigmas: tf.Tensor | null, a: GMRConvAttrs): { phi: tf.Tensor; owned: boolean } {
  if (!logSigmas) return { phi: weight, owned: false };
  const phi = tf.tidy(() => {
    const [cout, cinG, n] = weight.shape as [number, number, number];
    return tf.reshape(tf.matMul(tf.reshape(weight, [cout * cinG, n]), gaussianMatrix(logSigmas, a)), [cout, cinG, n]);
  });
  return { phi, owned: true };
}

/** A rank-1 view of a tensor for a program input (tfjs-webgpu's generated accessors break at rank ≥ 5). */
export function flat(t: tf.TensorInfo): tf.TensorInfo {
  return { dataId: t.dataId, shape: [t.shape.reduce((p, q) => p * q, 1)], dtype: t.dtype };
}

/** A tensor owning the data of a program output, viewed with `shape` (dispose it to free the data). */
export function adopt(info: tf.TensorInfo, shape: number[]): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo({ dataId: info.dataId, shape, dtype: info.dtype });
}
