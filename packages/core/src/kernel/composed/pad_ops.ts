/**
 * Padding and cropping with the four PyTorch padding modes, using only ops that have gradients on every tfjs
 * backend (slice, reverse, concat, pad): the composed implementation pads explicitly, the fast kernels map
 * coordinates instead (PADDING_MODE_CODES in kernel/conv_info.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { invalid } from '../../utils/errors.js';
import type { PaddingMode, PadPairs } from '../conv_info.js';

/** Slice of one axis through a rank-3 view [outer, axis, inner] (its gradient, a Pad, then stays rank 3 too). */
export function sliceAxis(x: tf.Tensor, axis: number, start: number, size: number): tf.Tensor {
  const shape = x.shape;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = shape.slice();
  out[axis] = size;
  return tf.reshape(tf.slice(tf.reshape(x, [outer, shape[axis], inner]), [0, start, 0], [outer, size, inner]), out);
}

/**
 * Reverse of one axis through the same rank-3 view: tfjs-webgpu 4.22's Reverse breaks on rank-5 tensors whose batch
 * is > 1, and a 3D convolution's 'reflect' padding reverses its 5D input.
 */
export function reverseAxis(x: tf.Tensor, axis: number): tf.Tensor {
  const shape = x.shape;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return tf.reshape(tf.reverse(tf.reshape(x, [outer, shape[axis], inner]), 1), shape);
}

/** Pads (positive) or crops (negative) one axis with zeros. */
export function padOrCropAxis(x: tf.Tensor, axis: number, before: number, after: number): tf.Tensor {
  let t = x;
  const cropBefore = Math.max(-before, 0);
  const cropAfter = Math.max(-after, 0);
  if (cropBefore > 0 || cropAfter > 0) {
    t = sliceAxis(t, axis, cropBefore, t.shape[axis] - cropBefore - cropAfter);
  }
  const padBefore = Math.max(before, 0);
  const padAfter = Math.max(after, 0);
  if (padBefore > 0 || padAfter > 0) {
    // Pad a rank-3 view [outer, axis, inner]: tfjs-webgpu's Pad shader breaks at rank ≥ 5.
    const shape = t.shape;
    const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const padded = tf.pad(tf.reshape(t, [outer, shape[axis], inner]), [
      [0, 0],
      [padBefore, padAfter],
      [0, 0],
    ]);
    const out = shape.slice();
    out[axis] = shape[axis] + padBefore + padAfter;
    t = tf.reshape(padded, out);
  }
  return t;
}

/** Pads the given axes with a PyTorch padding mode. */
export function padWithMode(x: tf.Tensor, axes: number[], pads: PadPairs, mode: PaddingMode, where = 'pad'): tf.Tensor {
  return tf.tidy(() => {
    if (mode === 'zeros') {
      let t = x;
      axes.forEach((a, i) => (t = padOrCropAxis(t, a, pads[i][0], pads[i][1])));
      return t;
    }
    let t = x;
    axes.forEach((axis, i) => {
      const [before, after] = pads[i];
      if (before === 0 && after === 0) return;
      const len = t.shape[axis];
      const parts: tf.Tensor[] = [];
      if (mode === 'reflect') {
        if (before >= len || after >= len) {
          invalid(
            where,
            'padding',
            pads[i],
            `smaller than the input size ${len} along that axis for paddingMode 'reflect'`,
          );
        }
        if (before > 0) parts.push(reverseAxis(sliceAxis(t, axis, 1, before), axis));
        parts.push(t);
        if (after > 0) parts.push(reverseAxis(sliceAxis(t, axis, len - 1 - after, after), axis));
      } else if (mode === 'replicate') {
        const first = sliceAxis(t, axis, 0, 1);
        const last = sliceAxis(t, axis, len - 1, 1);
        for (let j = 0; j < before; j++) parts.push(first);
        parts.push(t);
        for (let j = 0; j < after; j++) parts.push(last);
      } else {
        if (before > len || after > len) {
          invalid(
            where,
            'padding',
            pads[i],
            `at most the input size ${len} along that axis for paddingMode 'circular'`,
          );
        }
        if (before > 0) parts.push(sliceAxis(t, axis, len - before, before));
        parts.push(t);
        if (after > 0) parts.push(sliceAxis(t, axis, 0, after));
      }
      t = tf.concat(parts, axis);
    });
    return t;
  });
}
