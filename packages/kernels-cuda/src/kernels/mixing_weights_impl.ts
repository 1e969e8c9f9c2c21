/**
 * P, the n × n Gaussian mixing of the rings (core's gaussianMatrix: row j the Gaussian centred on ring j with width
 * σ_j = clip(exp(log σ_j)), divided by σ_j·2.5066, the reference's √(2π)), computed in double and rounded once. n is
 * a handful of rings, so P is built here in JS; the products with θ (rows × n) run in the addon's sgemm.
 */
import { REFERENCE_SQRT_2PI } from '@gmr-conv/core';
import type { MixingWeightsAttrs } from '@gmr-conv/core/kernel';
import type { NativeBackend } from '../backend.js';

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

/**
 * The gradient of Φ = θ·P (θ [rows, n]) from dΦ: dθ = dΦ·Pᵀ written into `dTheta`, and d(log σ) [n] from
 * D = θᵀ·dΦ [n, n]: d(log σ)_j = Σ_i D_ji·P_ji·((i − j)²/σ_j² − 1) (∂P_ji/∂σ_j times σ_j = ∂σ_j/∂log σ_j), 0 where σ_j
 * was clipped; both products in the addon's sgemm. Returns d(log σ) in a native buffer.
 */
export function mixingGradients(
  backend: NativeBackend,
  theta: Float32Array,
  dPhi: Float32Array,
  rows: number,
  m: GaussianMixing,
  dTheta: Float32Array,
): Float32Array {
  const n = m.sigmas.length;
  backend.addon.sgemm(false, true, rows, n, n, 1, dPhi, 0, n, m.p, 0, n, 0, dTheta, 0, n);
  const d = new Float32Array(n * n);
  backend.addon.sgemm(true, false, n, n, rows, 1, theta, 0, n, dPhi, 0, n, 0, d, 0, n);
  const dLogSigmas = backend.allocFloat32(n).fill(0); // a reused buffer: clipped σ get 0
  for (let j = 0; j < n; j++) {
    if (!m.inside[j]) continue;
    let acc = 0;
    const s2 = m.sigmas[j]! * m.sigmas[j]!;
    for (let i = 0; i < n; i++) acc += d[j * n + i]! * m.p[j * n + i]! * (((i - j) * (i - j)) / s2 - 1);
    dLogSigmas[j] = acc;
  }
  return dLogSigmas;
}
