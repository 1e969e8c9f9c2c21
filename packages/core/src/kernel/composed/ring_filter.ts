/**
 * Stage 1 of the two-stage path: every input channel filtered by the same n ring
 * filters. Runs inside the two-stage unit's own gradient, so it needs no autodiff.
 *
 * For odd square 2D kernels the ring filters are even along both axes
 * (G[u, v] = G[|u|, |v|]), so a filter splits into vertical folds and one
 * horizontal convolution: V_a(y) = x(y + a) + x(y − a) (a 0/1 vertical conv), then
 * Z_r = Σ_a V_a ⋆ row_a(G_r). That is (c+1)·k taps per output instead of k², on
 * c+1 input channels instead of one, which XNNPACK (wasm) runs ~2–3× faster.
 */
import * as tf from '@tensorflow/tfjs-core';
import { convNd, rawConv2d } from './conv_primitive.js';
import type { PadPairs } from '../conv_info.js';

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

export interface RingConv {
  strides: number[];
  dilations: number[];
  pads: PadPairs;
}

/** True when the folded form applies to symmetric rings: 2D, odd, square kernel. */
export function canFoldRings(kernelSize: number[]): boolean {
  return kernelSize.length === 2 && kernelSize[0] === kernelSize[1] && kernelSize[0] % 2 === 1 && kernelSize[0] > 1;
}

/** [N, H, W, 1] filtered by n even-symmetric k×k filters [n, k·k] → [N, Ho, Wo, n]. */
function foldedRingConv2d(x: tf.Tensor4D, filters: tf.Tensor2D, k: number, conv: RingConv): tf.Tensor4D {
  const c = (k - 1) / 2;
  const n = filters.shape[0];
  // Vertical folds as one 0/1 convolution [k, 1, 1, c+1] (tfjs-wasm's slice and concat are far slower).
  const fold = new Float32Array(k * (c + 1));
  for (let a = 0; a <= c; a++) {
    fold[(c + a) * (c + 1) + a] = 1;
    fold[(c - a) * (c + 1) + a] = 1;
  }
  const fv = tf.tensor4d(fold, [k, 1, 1, c + 1]);
  const v = rawConv2d(x, fv, [conv.strides[0], 1], [conv.dilations[0], 1], [conv.pads[0], [0, 0]]); // [N, Ho, W, c+1]
  // Horizontal filter [1, k, c+1, n]: entry (v, a, r) = G_r[row c + a, column v].
  const rowsOfG = tf.slice(tf.reshape(filters, [n, k, k]), [0, c, 0], [n, c + 1, k]);
  const hf = tf.reshape(tf.transpose(rowsOfG, [2, 1, 0]), [1, k, c + 1, n]) as tf.Tensor4D;
  return rawConv2d(v, hf, [1, conv.strides[1]], [1, conv.dilations[1]], [[0, 0], conv.pads[1]]);
}

/** Stage 1 → [B·prod(So), Cin·n] (channel c·n + i) and the output spatial size. */
export function ringFilter(
  x: tf.Tensor,
  filters: tf.Tensor2D,
  kernelSize: number[],
  conv: RingConv,
  symmetric = false,
) {
  const rank = kernelSize.length;
  const [b] = x.shape;
  const cin = x.shape[rank + 1];
  const spatial = x.shape.slice(1, rank + 1);
  const n = filters.shape[0];
  const perChannel = cin === 1 ? x : tf.transpose(x, [0, rank + 1, ...range(1, rank + 1)]);
  const stacked = tf.reshape(perChannel, [b * cin, ...spatial, 1]);
  const z =
    symmetric && canFoldRings(kernelSize)
      ? foldedRingConv2d(stacked as tf.Tensor4D, filters, kernelSize[0], conv)
      : convNd(stacked, tf.reshape(tf.transpose(filters), [...kernelSize, 1, n]), conv); // [B·Cin, ...So, n]
  const outSpatial = z.shape.slice(1, rank + 1);
  const z5 = tf.reshape(z, [b, cin, ...outSpatial, n]);
  const zl = cin === 1 ? z5 : tf.transpose(z5, [0, ...range(2, rank + 2), 1, rank + 2]);
  const rowsOut = b * outSpatial.reduce((p, q) => p * q, 1);
  return { z: tf.reshape(zl, [rowsOut, cin * n]), outSpatial };
}
