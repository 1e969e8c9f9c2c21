/**
 * The two-stage path (the paper's efficient form of a GMR conv) as one differentiable unit: stage 1 filters
 * every input channel with the same n ring filters, stage 2 mixes the Cin·n
 * ring responses with a 1×1 (grouped) product. Its backward pass keeps the
 * same two-stage shape instead of differentiating through the pieces:
 *   dΦ = zᵀ·dy (a product), dx = ring filtering of dy with the flipped filters
 *   followed by mixing with Φᵀ, and the filter gradient only when the filters
 *   are trainable (smoothed basis, or trainIndexMat).
 */
import * as tf from '@tensorflow/tfjs-core';
import { convNdFilterGrad, upsampleZeros, type ConvAttrs } from './conv_primitive.js';
import { matMulPlain } from './matmul_primitive.js';
import { padOrCropAxis } from './pad_ops.js';
import { ringFilter } from './ring_filter.js';

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** z [M, Cin·n] · Φ → [M, Cout]; Φ [Cout, Cin/g, n] (grouped as a batched product). */
function mix(z: tf.Tensor, phi: tf.Tensor, groups: number): tf.Tensor2D {
  const [cout, cinG, n] = phi.shape as [number, number, number];
  const m = z.shape[0];
  if (groups === 1) return tf.matMul(z as tf.Tensor2D, tf.transpose(tf.reshape(phi, [cout, cinG * n])) as tf.Tensor2D);
  const zg = tf.transpose(tf.reshape(z, [m, groups, cinG * n]), [1, 0, 2]) as tf.Tensor3D;
  const wg = tf.transpose(tf.reshape(phi, [groups, cout / groups, cinG * n]), [0, 2, 1]) as tf.Tensor3D;
  return tf.reshape(tf.transpose(tf.matMul(zg, wg), [1, 0, 2]), [m, cout]) as tf.Tensor2D;
}

/** dy [M, Cout] · Φᵀ arranged so that output channel ci·n + r … (for the filter gradient) → [M, Cin·n]. */
function unmixToRings(dy: tf.Tensor2D, phi: tf.Tensor, groups: number): tf.Tensor2D {
  const [cout, cinG, n] = phi.shape as [number, number, number];
  const m = dy.shape[0];
  if (groups === 1) return tf.matMul(dy, tf.reshape(phi, [cout, cinG * n]) as tf.Tensor2D);
  const dyg = tf.transpose(tf.reshape(dy, [m, groups, cout / groups]), [1, 0, 2]) as tf.Tensor3D;
  const wg = tf.reshape(phi, [groups, cout / groups, cinG * n]) as tf.Tensor3D;
  return tf.reshape(tf.transpose(tf.matMul(dyg, wg), [1, 0, 2]), [m, groups * cinG * n]) as tf.Tensor2D;
}

/** Ring responses of dy [M', Cout·n] (channel co·n + r) mixed back with Φ → [M', Cin]. */
function mixBack(zdy: tf.Tensor, phi: tf.Tensor, groups: number): tf.Tensor2D {
  const [cout, cinG, n] = phi.shape as [number, number, number];
  const coutG = cout / groups;
  const m = zdy.shape[0];
  const v = tf.transpose(tf.reshape(phi, [groups, coutG, cinG, n]), [0, 1, 3, 2]); // [g, CoutG, n, CinG]
  if (groups === 1) return tf.matMul(zdy as tf.Tensor2D, tf.reshape(v, [coutG * n, cinG]) as tf.Tensor2D);
  const zg = tf.transpose(tf.reshape(zdy, [m, groups, coutG * n]), [1, 0, 2]) as tf.Tensor3D;
  const out = tf.matMul(zg, tf.reshape(v, [groups, coutG * n, cinG]) as tf.Tensor3D); // [g, M', CinG]
  return tf.reshape(tf.transpose(out, [1, 0, 2]), [m, groups * cinG]) as tf.Tensor2D;
}

/** Reverses ring filters [n, prod(k)] along every spatial axis (a no-op for the symmetric rings of odd sizes). */
export function flipRingFilters(filters: tf.Tensor, kernelSize: number[]): tf.Tensor2D {
  const n = filters.shape[0];
  return tf.reshape(tf.reverse(tf.reshape(filters, [n, ...kernelSize]), range(1, kernelSize.length + 1)), [
    n,
    -1,
  ]) as tf.Tensor2D;
}

export interface TwoStageAttrs extends ConvAttrs {
  kernelSize: number[];
  groups: number;
  /** Compute the gradient of the ring filters (they depend on σ or on trainable masks). */
  filtersTrainable: boolean;
  /** The filters are even along every axis (allows the folded ring filtering). */
  symmetric: boolean;
}

/**
 * y = mix(ringFilter(x, filters), Φ) for channels-last x [B, ...S, Cin] (already padded
 * for non-zero padding modes), filters [n, K], Φ [Cout, Cin/g, n] → [B, ...So, Cout].
 */
export function twoStage(x: tf.Tensor, filters: tf.Tensor2D, phi: tf.Tensor, a: TwoStageAttrs): tf.Tensor {
  const rank = a.kernelSize.length;
  const op = tf.customGrad(((xIn: tf.Tensor, fIn: tf.Tensor, pIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const { z, outSpatial } = ringFilter(xIn, fIn as tf.Tensor2D, a.kernelSize, a, a.symmetric);
    save([xIn, fIn, pIn, z]);
    const b = xIn.shape[0];
    const value = tf.reshape(mix(z, pIn, a.groups), [b, ...outSpatial, pIn.shape[0]]);
    const gradFunc = (dyIn: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [xs, fs, ps, zs] = saved;
      const dy = dyIn as tf.Tensor;
      const cout = ps.shape[0];
      const dyM = tf.reshape(dy, [-1, cout]) as tf.Tensor2D;
      // dΦ = zᵀ·dy, arranged back to [Cout, Cin/g, n].
      const [, cinG, n] = ps.shape as [number, number, number];
      let dPhi: tf.Tensor;
      if (a.groups === 1) {
        // dΦᵀ = dyᵀ·z: transposing dy (Cout columns) is cheaper than transposing z (Cin·n columns).
        dPhi = tf.reshape(matMulPlain<tf.Tensor2D>(tf.transpose(dyM), zs), [cout, cinG, n]);
      } else {
        const m = zs.shape[0];
        const zg = tf.transpose(tf.reshape(zs, [m, a.groups, cinG * n]), [1, 0, 2]); // [g, M, CinG·n]
        const dyg = tf.transpose(tf.reshape(dyM, [m, a.groups, cout / a.groups]), [1, 2, 0]); // [g, CoutG, M]
        dPhi = tf.reshape(matMulPlain<tf.Tensor3D>(dyg, zg), [cout, cinG, n]);
      }
      // dx: the input gradient is again a ring filtering (of dy, with the flipped filters), then a mixing with Φᵀ.
      let g = upsampleZeros(dy, range(1, rank + 1), a.strides);
      const backPads = a.kernelSize.map((k, i) => [
        a.dilations[i] * (k - 1) - a.pads[i][0],
        xs.shape[1 + i] + a.pads[i][0] - (dy.shape[1 + i] - 1) * a.strides[i] - 1,
      ]);
      // Non-negative amounts go to the convolution's own padding (no padded copy of dy).
      const convPads = backPads.map(([b, e]) => [Math.max(b, 0), Math.max(e, 0)] as [number, number]);
      backPads.forEach(([b, e], i) => (g = padOrCropAxis(g, 1 + i, Math.min(b, 0), Math.min(e, 0))));
      const ones = a.kernelSize.map(() => 1);
      const back = ringFilter(
        g,
        flipRingFilters(fs, a.kernelSize),
        a.kernelSize,
        { strides: ones, dilations: a.dilations, pads: convPads },
        a.symmetric,
      );
      const dx = tf.reshape(mixBack(back.z, ps, a.groups), xs.shape);
      let dFilters: tf.Tensor;
      if (a.filtersTrainable) {
        const dz = unmixToRings(dyM, ps, a.groups); // [M, Cin·n]
        const bsz = xs.shape[0];
        const cin = xs.shape[rank + 1];
        const outSp = dy.shape.slice(1, rank + 1);
        const dzStacked = tf.reshape(
          tf.transpose(tf.reshape(dz, [bsz, ...outSp, cin, n]), [0, rank + 1, ...range(1, rank + 1), rank + 2]),
          [bsz * cin, ...outSp, n],
        );
        const xStacked = tf.reshape(tf.transpose(xs, [0, rank + 1, ...range(1, rank + 1)]), [
          bsz * cin,
          ...xs.shape.slice(1, rank + 1),
          1,
        ]);
        const gf = convNdFilterGrad(xStacked, dzStacked, [...a.kernelSize, 1, n], a); // [...k, 1, n]
        dFilters = tf.transpose(tf.reshape(gf, [-1, n]));
      } else {
        dFilters = tf.zerosLike(fs);
      }
      return [dx, dFilters, dPhi];
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, filters, phi) as tf.Tensor;
}
