/**
 * Independent references for the steerable tests: the dense tap-by-tap kernel of GMRSteerableConv2D built from
 * the formulas (atan2, complex arithmetic, P(σ) from gaussianMatrix), and the error measure they use.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fieldEntries, gaussianMatrix, ringMasks, type Fields, type GMRSteerableConv2D } from '../../src/index.js';

/** max|a − b| / max|b| (0 when both are 0). */
export function relMax(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  if (x.length !== y.length) throw new Error(`sizes differ: ${a.shape} vs ${b.shape}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i]! - y[i]!));
    m = Math.max(m, Math.abs(y[i]!));
  }
  return m === 0 ? d : d / m;
}

/** K[k, k, Cin, Cout] with K = Σ_j θ[o, i, j]·Σ_r P[j, r]·M_r·e^{inφ}, n = m_out − m_in, centre 0 for n ≠ 0. */
export function denseSteerableKernel(layer: GMRSteerableConv2D): tf.Tensor4D {
  const k = layer.kernelSize[0];
  const taps = k * k;
  const inputFields = layer.inputFields as Fields;
  const ins = fieldEntries(inputFields);
  const outs = fieldEntries(layer.fields);
  const weights = layer.getWeights();
  const theta = weights[0]!.arraySync() as number[][][];
  const geometry = ringMasks([k, k], { forceCircular: layer.forceCircular, numRings: layer.numRings });
  const n = geometry.numRings;
  const m = geometry.masks;
  const p = layer.gaussianMixtureRing
    ? (gaussianMatrix(weights[1]!, {
        clipSigma: layer.clipSigma,
        sigmaMin: layer.sigmaMin,
        sigmaMax: layer.sigmaMax,
      }).arraySync() as number[][])
    : null;
  // |n| = 2: cos 2φ and sin 2φ scaled per ring so that Σ r²cos²2φ and Σ r²sin²2φ over the ring agree (their
  // geometric mean), the layer's second-order balance, computed here from atan2 angles.
  const balance = Array.from({ length: n }, (_, r) => {
    let [mc, ms] = [0, 0];
    for (let t = 0; t < taps; t++) {
      if (!m[r * taps + t]) continue;
      const [dy, dx] = [Math.floor(t / k) - (k - 1) / 2, (t % k) - (k - 1) / 2];
      const phi = Math.atan2(dy, dx);
      mc += (dx * dx + dy * dy) * Math.cos(2 * phi) ** 2;
      ms += (dx * dx + dy * dy) * Math.sin(2 * phi) ** 2;
    }
    return mc > 0 && ms > 0 ? [Math.sqrt(ms / mc), Math.sqrt(mc / ms)] : [1, 1];
  });
  const cin = ins.reduce((s, f) => s + (f.order ? 2 : 1), 0);
  const cout = outs.reduce((s, f) => s + (f.order ? 2 : 1), 0);
  const w = new Float64Array(taps * cin * cout);
  for (let row = 0; row < k; row++)
    for (let col = 0; col < k; col++) {
      const t = row * k + col;
      const dy = row - (k - 1) / 2;
      const dx = col - (k - 1) / 2;
      const phi = Math.atan2(dy, dx);
      for (const o of outs)
        for (const i of ins) {
          const order = o.order - i.order;
          // e^{inφ} (the centre tap has no angle: only n = 0 keeps it); for |n| = 2 the balance of the tap's ring
          // applies inside the ring sum (the smoothing P mixes rings, each with its own balance).
          const [c, s] =
            dx === 0 && dy === 0 ? (order === 0 ? [1, 0] : [0, 0]) : [Math.cos(order * phi), Math.sin(order * phi)];
          let kc = 0;
          let ks = 0;
          for (let j = 0; j < n; j++) {
            const th = theta[o.index]![i.index]![j]!;
            for (let r = 0; r < n; r++) {
              const pm = (p ? p[j]![r]! : j === r ? 1 : 0) * m[r * taps + t]!;
              if (pm === 0) continue;
              const [bc, bs] = Math.abs(order) === 2 ? balance[r]! : [1, 1];
              kc += th * pm * c * bc;
              ks += th * pm * s * bs;
            }
          }
          // (a + ib)(C + iS) = (aC − bS) + i(aS + bC)
          const put = (ci: number, co: number, v: number) => {
            if (ci >= 0 && co >= 0) w[(t * cin + ci) * cout + co] += v;
          };
          put(i.re, o.re, kc);
          put(i.im, o.re, -ks);
          put(i.re, o.im, ks);
          put(i.im, o.im, kc);
        }
    }
  return tf.tensor4d(Float32Array.from(w), [k, k, cin, cout]);
}
