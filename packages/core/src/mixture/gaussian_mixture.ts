/**
 * Gaussian mixture smoothing, the "GM" of GMR-Conv: each ring's weight is diffused onto its
 * neighbouring rings by an (un-normalised) Gaussian in ring-index space,
 * P[j, i] = exp(-½((i - j)/σ_j)²) / (σ_j · 2.5066), and the smoothed basis is G = P·M.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GMRValueError } from '../utils/errors.js';

/** The reference's literal for √(2π); kept so numbers match it bit for bit. */
export const REFERENCE_SQRT_2PI = 2.5066;
/** FWHM factor 2√(2 ln 2): σ⁰ = band width / 2.355. */
export const DEFAULT_SIGMA_SCALE = 2.355;

/** σ⁰ = k / (2(n−1)) / sigmaScale, in ring-index units (as the reference does). */
export function initialSigma(kernelSize0: number, numRings: number, sigmaScale = DEFAULT_SIGMA_SCALE): number {
  if (numRings < 2) {
    throw new GMRValueError(
      `initialSigma: \`numRings\` must be at least 2 for Gaussian mixture rings (σ⁰ divides by numRings − 1), got ${numRings}; use gaussianMixtureRing: false.`,
    );
  }
  if (!(sigmaScale > 0) || !Number.isFinite(sigmaScale)) {
    throw new GMRValueError(`initialSigma: \`sigmaScale\` must be a finite positive number, got ${sigmaScale}.`);
  }
  return kernelSize0 / (2 * (numRings - 1)) / sigmaScale;
}

export function initialLogSigmas(
  kernelSize0: number,
  numRings: number,
  sigmaScale = DEFAULT_SIGMA_SCALE,
): Float32Array {
  return new Float32Array(numRings).fill(Math.log(initialSigma(kernelSize0, numRings, sigmaScale)));
}

export interface SigmaClip {
  /** Clamp σ to [min, max] (reference default true, range [1e-2, 2·numRings]). */
  clipSigma?: boolean;
  sigmaMin?: number;
  sigmaMax?: number;
}

/** P (n × n), row j = the Gaussian centred on ring j with width σ_j. Differentiable in logSigmas. */
export function gaussianMatrix(logSigmas: tf.Tensor, clip: SigmaClip = {}): tf.Tensor2D {
  return tf.tidy(() => {
    const n = logSigmas.shape[0];
    let sigmas = tf.exp(tf.reshape(logSigmas, [n, 1]));
    if (clip.clipSigma ?? true) {
      sigmas = tf.clipByValue(sigmas, clip.sigmaMin ?? 1e-2, clip.sigmaMax ?? 2 * n);
    }
    const offsets = new Float32Array(n * n);
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) offsets[j * n + i] = i - j;
    const z = tf.div(tf.tensor2d(offsets, [n, n], logSigmas.dtype as 'float32'), sigmas);
    const density = tf.exp(tf.mul(-0.5, tf.square(z)));
    return tf.div(density, tf.mul(sigmas, REFERENCE_SQRT_2PI)) as tf.Tensor2D;
  });
}

/** The smoothed ring basis G = P·M, shape [n, K]. Without logSigmas (binary rings) G = M. */
export function smoothedBasis(
  masks: tf.Tensor2D,
  logSigmas: tf.Tensor | null | undefined,
  clip: SigmaClip = {},
): tf.Tensor2D {
  if (logSigmas == null) return masks;
  return tf.tidy(() => tf.matMul(gaussianMatrix(logSigmas, clip), masks));
}
