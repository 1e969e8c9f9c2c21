/**
 * Symmetries of a box grid as signed permutations of its spatial axes.
 *
 * Every element of D4 (2D) and of the cube group (3D) is "reverse some spatial
 * axes, then permute the spatial axes". Representing both groups this way
 * lets one small piece of code apply them with tf.reverse/tf.transpose only
 * (which exist, with gradients, on every backend) and compose/invert them
 * exactly with integer matrices instead of hand-written tables.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataFormat } from '../ops/attrs.js';
import { normalizeDataFormat } from '../ops/gmr_conv_ops.js';
import { invalid } from '../utils/errors.js';

/**
 * `flips`: spatial axes (0-based among the spatial axes) reversed first;
 * `perm`: then output spatial axis j = spatial axis perm[j] (tf.transpose semantics).
 */
export interface SpatialSymmetry {
  readonly perm: readonly number[];
  readonly flips: readonly number[];
}

/**
 * The action in centred coordinates: out[p] = in[A·p]. With that convention
 * composition is a matrix product and the inverse is the transpose.
 */
export function symmetryMatrix(s: SpatialSymmetry): number[][] {
  const n = s.perm.length;
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  // Reversal S then transpose P: q = P p with q[perm[j]] = p[j], and A = S·P.
  s.perm.forEach((k, j) => {
    a[k][j] = s.flips.includes(k) ? -1 : 1;
  });
  return a;
}

export function symmetryFromMatrix(a: number[][]): SpatialSymmetry {
  const n = a.length;
  const perm: number[] = [];
  const flips: number[] = [];
  for (let j = 0; j < n; j++) {
    const k = a.findIndex((row) => row[j] !== 0);
    perm.push(k);
    if (a[k][j] < 0) flips.push(k);
  }
  return { perm, flips: flips.sort((x, y) => x - y) };
}

function matMul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((acc, v, k) => acc + v * b[k][j], 0)));
}

/** `second ∘ first`: apply `first`, then `second` (A = A_first · A_second). */
export function composeSymmetries(second: SpatialSymmetry, first: SpatialSymmetry): SpatialSymmetry {
  return symmetryFromMatrix(matMul(symmetryMatrix(first), symmetryMatrix(second)));
}

/** The inverse (orthogonal matrix: the transpose). */
export function invertSymmetry(s: SpatialSymmetry): SpatialSymmetry {
  const a = symmetryMatrix(s);
  return symmetryFromMatrix(a.map((row, i) => row.map((_, j) => a[j][i])));
}

export function sameSymmetry(a: SpatialSymmetry, b: SpatialSymmetry): boolean {
  const ma = symmetryMatrix(a);
  const mb = symmetryMatrix(b);
  return ma.length === mb.length && ma.every((row, i) => row.every((v, j) => v === mb[i][j]));
}

/** Determinant of a signed permutation: +1 for proper rotations, −1 for reflections. */
export function symmetryDeterminant(s: SpatialSymmetry): number {
  let sign = s.flips.length % 2 === 0 ? 1 : -1;
  const p = s.perm.slice();
  for (let i = 0; i < p.length; i++) {
    while (p[i] !== i) {
      const t = p[i];
      [p[i], p[t]] = [p[t], p[i]];
      sign = -sign;
    }
  }
  return sign;
}

/** Tensor axes holding the spatial dimensions for this layout. */
export function spatialAxes(rank: number, dataFormat: DataFormat): number[] {
  const first = dataFormat === 'channelsLast' ? 1 : 2;
  return Array.from({ length: rank - 2 }, (_, i) => first + i);
}

/**
 * Applies `s` to the spatial axes of x ([B, ...spatial, C] or [B, C, ...spatial]).
 * Batch and channel axes are untouched.
 */
export function applySpatialSymmetry(
  x: tf.Tensor,
  s: SpatialSymmetry,
  dataFormat: DataFormat | string | undefined,
  where: string,
): tf.Tensor {
  const fmt = normalizeDataFormat(where, dataFormat);
  const nSpatial = s.perm.length;
  if (!(x instanceof tf.Tensor)) invalid(where, 'x', x, 'a tf.Tensor');
  if (x.rank !== nSpatial + 2) {
    invalid(where, 'x', x, `a rank-${nSpatial + 2} tensor with ${nSpatial} spatial axes (${fmt})`);
  }
  const axes = spatialAxes(x.rank, fmt);
  return tf.tidy(() => {
    let y = x;
    if (s.flips.length > 0)
      y = tf.reverse(
        y,
        s.flips.map((k) => axes[k]),
      );
    if (s.perm.some((k, j) => k !== j)) {
      const full = Array.from({ length: x.rank }, (_, i) => i);
      s.perm.forEach((k, j) => {
        full[axes[j]] = axes[k];
      });
      y = tf.transpose(y, full);
    }
    // Always hand back a new tensor, so callers may dispose input and output independently.
    return y === x ? tf.clone(x) : y;
  });
}
