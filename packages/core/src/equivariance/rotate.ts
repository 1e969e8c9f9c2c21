/**
 * Rotation by an arbitrary angle with bilinear interpolation about the grid
 * centre, zero outside the image: the same formula as the official PyTorch
 * code's `rotate_bilinear`, which produced the oracle vectors, so equivariance
 * errors measured here are comparable with the reference numbers.
 *
 * For output pixel (i, j), centres cy = (H−1)/2, cx = (W−1)/2, θ in radians:
 *   r = cy + cosθ·(i−cy) + sinθ·(j−cx)
 *   s = cx − sinθ·(i−cy) + cosθ·(j−cx)
 *   out[i, j] = Σ over the 4 neighbours floor(r)+{0,1}, floor(s)+{0,1} of
 *               (1−fr or fr)·(1−fs or fs)·img[neighbour], neighbours outside the image count 0.
 * θ = +90° on a square image equals numpy.rot90(img, 1, axes=(-2,-1)) (= applyD4 'rot90').
 *
 * The sampling plan (indices and weights) is computed in JS with float64 math
 * and applied with tf.gather on the flattened spatial axis, with one appended
 * zero row standing for "outside": gather, mul, sum and reshape exist (with
 * gradients) on cpu, wasm, webgl and webgpu, unlike the image-transform ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataFormat } from '../ops/attrs.js';
import { normalizeDataFormat } from '../ops/gmr_conv_ops.js';
import { invalid } from '../utils/errors.js';

export interface RotationPlan {
  height: number;
  width: number;
  angleDegrees: number;
  /** [4, H·W] flat source index per corner and output pixel; H·W = the zero row. */
  indices: Int32Array;
  /** [4, H·W] bilinear weight per corner (0 for corners outside the image). */
  weights: Float64Array;
}

const PLAN_CACHE_SIZE = 32;
const planCache = new Map<string, RotationPlan>();

/**
 * Where each output pixel (i, j) samples the input under a rotation by angleDegrees about the grid centre
 * (the oracle's formula, float64): r = c_y + cosθ·(i − c_y) + sinθ·(j − c_x), s = c_x − sinθ·(i − c_y) + cosθ·(j − c_x).
 */
export function sourceCoordinates(
  height: number,
  width: number,
  angleDegrees: number,
): { r: Float64Array; s: Float64Array } {
  // Multiply by the constant π/180 as numpy.deg2rad / math.radians do (same last bit).
  const t = angleDegrees * (Math.PI / 180);
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const cy = (height - 1) / 2;
  const cx = (width - 1) / 2;
  const r = new Float64Array(height * width);
  const s = new Float64Array(height * width);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      r[i * width + j] = cy + cos * (i - cy) + sin * (j - cx);
      s[i * width + j] = cx - sin * (i - cy) + cos * (j - cx);
    }
  }
  return { r, s };
}

/** The sampling plan of rotateBilinear for an H×W grid (cached; pure JS, float64). */
export function rotationPlan(height: number, width: number, angleDegrees: number): RotationPlan {
  const key = `${height}x${width}@${angleDegrees}`;
  const cached = planCache.get(key);
  if (cached) return cached;
  const hw = height * width;
  const indices = new Int32Array(4 * hw);
  const weights = new Float64Array(4 * hw);
  const src = sourceCoordinates(height, width, angleDegrees);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const r = src.r[i * width + j];
      const s = src.s[i * width + j];
      const r0 = Math.floor(r);
      const s0 = Math.floor(s);
      const fr = r - r0;
      const fs = s - s0;
      const p = i * width + j;
      const corners: Array<[number, number, number]> = [
        [r0, s0, (1 - fr) * (1 - fs)],
        [r0, s0 + 1, (1 - fr) * fs],
        [r0 + 1, s0, fr * (1 - fs)],
        [r0 + 1, s0 + 1, fr * fs],
      ];
      corners.forEach(([rr, ss, w], c) => {
        const inside = rr >= 0 && rr < height && ss >= 0 && ss < width;
        indices[c * hw + p] = inside ? rr * width + ss : hw;
        weights[c * hw + p] = inside ? w : 0;
      });
    }
  }
  const plan: RotationPlan = { height, width, angleDegrees, indices, weights };
  if (planCache.size >= PLAN_CACHE_SIZE) planCache.delete(planCache.keys().next().value as string);
  planCache.set(key, plan);
  return plan;
}

/**
 * Rotates every channel of x ([B, H, W, C] channelsLast, or [B, C, H, W]) by
 * `angleDegrees` (counter-clockwise in the numpy.rot90 sense) about the grid
 * centre; the output keeps the H×W grid. Differentiable with respect to x.
 */
export function rotateBilinear(
  x: tf.Tensor,
  angleDegrees: number,
  dataFormat: DataFormat | string = 'channelsLast',
): tf.Tensor4D {
  const where = 'rotateBilinear';
  const fmt = normalizeDataFormat(where, dataFormat);
  if (!(x instanceof tf.Tensor) || x.rank !== 4) {
    invalid(
      where,
      'x',
      x,
      `a rank-4 tensor (${fmt === 'channelsLast' ? '[batch, height, width, channels]' : '[batch, channels, height, width]'})`,
    );
  }
  if (typeof angleDegrees !== 'number' || !Number.isFinite(angleDegrees))
    invalid(where, 'angleDegrees', angleDegrees, 'a finite number of degrees');
  if (x.dtype !== 'float32') invalid(where, 'x.dtype', x.dtype, "'float32'");
  const shape = x.shape as number[];
  const [b, h, w, c] = fmt === 'channelsLast' ? shape : [shape[0], shape[2], shape[3], shape[1]];
  const plan = rotationPlan(h, w, angleDegrees);
  const hw = h * w;
  return tf.tidy(() => {
    const xl = fmt === 'channelsLast' ? x : tf.transpose(x, [0, 2, 3, 1]);
    const flat = tf.reshape(xl, [b, hw, c]);
    const padded = tf.pad(flat, [
      [0, 0],
      [0, 1],
      [0, 0],
    ]);
    const picked = tf.gather(padded, tf.tensor1d(plan.indices, 'int32'), 1); // [B, 4·HW, C]
    const weights = tf.tensor4d(Float32Array.from(plan.weights), [1, 4, hw, 1]);
    const out = tf.sum(tf.mul(tf.reshape(picked, [b, 4, hw, c]), weights), 1);
    const y = tf.reshape(out, [b, h, w, c]);
    return (fmt === 'channelsLast' ? y : tf.transpose(y, [0, 3, 1, 2])) as tf.Tensor4D;
  });
}
