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

/** K[k, k, Cin, Cout] with K = Σ_j θ[o, i, j]·G_j(r)·e^{inφ}, n = m_out − m_in, centre 0 for n ≠ 0. */
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
  // G = P·M, P from the layer's log σ (binary rings: G = M).
  const g: number[][] = [];
  const p = layer.gaussianMixtureRing ? (gaussianMatrix(weights[1]!, { clipSigma: layer.clipSigma, sigmaMin: layer.sigmaMin, sigmaMax: layer.sigmaMax }).arraySync() as number[][]) : null;
  for (let j = 0; j < n; j++) {
    g.push(Array.from({ length: taps }, (_, t) => (p ? p[j]!.reduce((s, pj, r) => s + pj * m[r * taps + t]!, 0) : m[j * taps + t]!)));
  }
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
          const radial = theta[o.index]![i.index]!.reduce((s, th, j) => s + th * g[j]![t]!, 0);
          // e^{inφ} (the centre tap has no angle: only n = 0 keeps it).
          const [c, s] = dx === 0 && dy === 0 ? (order === 0 ? [1, 0] : [0, 0]) : [Math.cos(order * phi), Math.sin(order * phi)];
          const kc = radial * c;
          const ks = radial * s;
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
