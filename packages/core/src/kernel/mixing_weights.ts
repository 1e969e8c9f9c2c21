/**
 * The mixing weights Φ = θ·P of the binary-ring form. Since the smoothed rings are G = P·M, a convolution with
 * θ·G equals the ring sums with the binary masks M followed by a 1×1 mixing with Φ; every fast kernel (composed
 * two-stage, WGSL, native) runs that form, and the BackpropFilter kernels return dΦ.
 *
 * Where a backend registers them (the native backends do), Φ and its gradient are two kernels:
 *   GMRMixingWeights      inputs { weight θ [..., n], logSigmas [n] }, attrs MixingWeightsAttrs → Φ (θ's shape)
 *   GMRMixingWeightsGrad  inputs { weight, logSigmas, dPhi (θ's shape) }, same attrs → [dθ (θ's shape), d(log σ) [n]]
 * with dθ = dΦ·Pᵀ and d(log σ)_j = Σ_i (θᵀdΦ)_ji·P_ji·((i − j)²/σ_j² − 1) where σ_j is inside the clip range (0 where
 * it was clipped). Composed, P alone is about a dozen small kernels forward and twice that backward, per GMR layer
 * and call, each recorded on the tape with its saved inputs: in a small network they cost more than the ring sums.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gaussianMatrix, type SigmaClip } from '../mixture/gaussian_mixture.js';

export const GMR_MIXING_WEIGHTS = 'GMRMixingWeights';
export const GMR_MIXING_WEIGHTS_GRAD = 'GMRMixingWeightsGrad';

/** P's σ clipping, resolved (the defaults of gaussianMatrix filled in). */
export interface MixingWeightsAttrs {
  clipSigma: boolean;
  sigmaMin: number;
  sigmaMax: number;
}

/** gaussianMatrix's clipping with its defaults filled in, for n rings. */
export function mixingWeightsAttrs(clip: SigmaClip, n: number): MixingWeightsAttrs {
  return { clipSigma: clip.clipSigma ?? true, sigmaMin: clip.sigmaMin ?? 1e-2, sigmaMax: clip.sigmaMax ?? 2 * n };
}

/** Whether the current backend registers both mixing-weight kernels. */
function kernelsHere(): boolean {
  const b = tf.getBackend();
  return tf.getKernel(GMR_MIXING_WEIGHTS, b) != null && tf.getKernel(GMR_MIXING_WEIGHTS_GRAD, b) != null;
}

/** Φ through the two kernels, differentiable in θ and log σ (a custom gradient running the gradient kernel). */
function mixingWeightsKernel(weight: tf.Tensor, logSigmas: tf.Tensor, attrs: MixingWeightsAttrs): tf.Tensor {
  const a = attrs as unknown as tf.NamedAttrMap;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [w, s, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const phi = tf.engine().runKernel(GMR_MIXING_WEIGHTS, { weight: w, logSigmas: s }, a) as tf.Tensor;
    save([w, s]);
    return {
      value: phi,
      gradFunc: (dPhi: tf.Tensor, saved: tf.Tensor[]) =>
        tf
          .engine()
          .runKernel(GMR_MIXING_WEIGHTS_GRAD, { weight: saved[0]!, logSigmas: saved[1]!, dPhi }, a) as tf.Tensor[],
    };
  });
  return op(weight, logSigmas);
}

/**
 * Φ = θ·P, [Cout, Cin/groups, n] from θ [Cout, Cin/groups, n] and log σ [n] (P is gaussianMatrix, with its
 * clipping and the reference's constants). Without logSigmas (binary rings) Φ is θ itself — the same tensor, so a
 * caller that disposes Φ checks `phi !== weight` first. Differentiable in θ and log σ.
 */
export function mixingWeights(weight: tf.Tensor, logSigmas: tf.Tensor | null | undefined, clip: SigmaClip): tf.Tensor {
  if (!logSigmas) return weight;
  const n = logSigmas.shape[0]!;
  if (
    weight.dtype === 'float32' &&
    logSigmas.dtype === 'float32' &&
    weight.shape[weight.rank - 1] === n &&
    kernelsHere()
  )
    return mixingWeightsKernel(weight, logSigmas, mixingWeightsAttrs(clip, n));
  return tf.tidy(() => {
    const [cout, cinG] = weight.shape;
    return tf.reshape(tf.matMul(tf.reshape(weight, [cout! * cinG!, n]), gaussianMatrix(logSigmas, clip)), [
      cout!,
      cinG!,
      n,
    ]);
  });
}
