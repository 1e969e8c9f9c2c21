/**
 * P, the n × n Gaussian mixing of the rings (core's gaussianMatrix: row j the Gaussian centred on ring j with width
 * σ_j = clip(exp(log σ_j)), divided by σ_j·2.5066, the reference's √(2π)), computed in double and rounded once. n is
 * a handful of rings, so P is built here in JS; the products with θ (rows × n) run in the addon's sgemm.
 */
import { REFERENCE_SQRT_2PI } from '@gmr-conv/core';
import type { MixingWeightsAttrs } from '@gmr-conv/core/kernel';

export interface GaussianMixing {
  /** P [n, n] row-major. */
  p: Float32Array;
  /** σ_j after clipping. */
  sigmas: Float64Array;
  /** Whether σ_j lies inside the clip range (tf.clipByValue passes the gradient there, limits included). */
  inside: boolean[];
}

export function gaussianMixing(logSigmas: Float32Array, a: MixingWeightsAttrs): GaussianMixing {
  const n = logSigmas.length;
  const p = new Float32Array(n * n);
  const sigmas = new Float64Array(n);
  const inside: boolean[] = [];
  for (let j = 0; j < n; j++) {
    // σ as float32, as the composed form holds it (exp, then the clip limits as float32)
    const raw = Math.fround(Math.exp(logSigmas[j]!));
    const lo = Math.fround(a.sigmaMin),
      hi = Math.fround(a.sigmaMax);
    const s = a.clipSigma ? Math.min(Math.max(raw, lo), hi) : raw;
    sigmas[j] = s;
    inside.push(!a.clipSigma || (raw >= lo && raw <= hi));
    for (let i = 0; i < n; i++) {
      const z = (i - j) / s;
      p[j * n + i] = Math.exp(-0.5 * z * z) / (s * REFERENCE_SQRT_2PI);
    }
  }
  return { p, sigmas, inside };
}
