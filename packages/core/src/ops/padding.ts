/**
 * Padding: resolving 'same' / 'valid' / numbers / explicit pairs to per-axis
 * (before, after) amounts, and padding with the four PyTorch modes using only
 * ops that have gradients on every tfjs backend (slice, reverse, concat, pad).
 */
import * as tf from '@tensorflow/tfjs-core';
import { invalid } from '../utils/errors.js';

export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';
export const PADDING_MODES: readonly PaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];
/** 'same', 'valid', one number for every side, one number per axis, or [before, after] per axis. */
export type PaddingSpec = 'same' | 'valid' | number | number[] | Array<[number, number]>;
export type PadPairs = Array<[number, number]>;

/** Output length of a convolution along one axis. */
export function convOutLength(len: number, k: number, s: number, d: number, before: number, after: number): number {
  return Math.floor((len + before + after - d * (k - 1) - 1) / s) + 1;
}

/** tfjs semantics for 'same' (output ceil(L/s), extra padding after); equals PyTorch's for stride 1. */
export function samePads(len: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(len / s);
  const total = Math.max((out - 1) * s + d * (k - 1) + 1 - len, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** Validates a padding spec without knowing the input size (used by layers at construction). */
export function checkPaddingSpec(where: string, padding: unknown, rank: number): PaddingSpec {
  const allowed = `'same', 'valid', a non-negative integer, an array of ${rank} of them, or ${rank} [before, after] pairs`;
  if (padding === 'same' || padding === 'valid') return padding;
  if (isNonNegInt(padding)) return padding;
  if (Array.isArray(padding) && padding.length === rank) {
    if (padding.every(isNonNegInt)) return padding as number[];
    if (padding.every((p) => Array.isArray(p) && p.length === 2 && p.every(isNonNegInt))) {
      return padding as Array<[number, number]>;
    }
  }
  return invalid(where, 'padding', padding, allowed);
}

export function resolvePads(
  where: string,
  padding: unknown,
  spatial: number[],
  kernelSize: number[],
  strides: number[],
  dilations: number[],
): PadPairs {
  const rank = spatial.length;
  const spec = checkPaddingSpec(where, padding, rank);
  if (spec === 'valid') return spatial.map(() => [0, 0]);
  if (spec === 'same') return spatial.map((len, i) => samePads(len, kernelSize[i], strides[i], dilations[i]));
  if (typeof spec === 'number') return spatial.map(() => [spec, spec]);
  return (spec as Array<number | [number, number]>).map((p) => (typeof p === 'number' ? [p, p] : [p[0], p[1]]));
}

export function checkPaddingMode(where: string, mode: unknown): PaddingMode {
  if (typeof mode === 'string' && (PADDING_MODES as readonly string[]).includes(mode)) return mode as PaddingMode;
  return invalid(where, 'paddingMode', mode, `one of ${PADDING_MODES.map((m) => `'${m}'`).join(', ')}`);
}

/** Slice of one axis through a rank-3 view [outer, axis, inner] (its gradient, a Pad, then stays rank 3 too). */
function sliceAxis(x: tf.Tensor, axis: number, start: number, size: number): tf.Tensor {
  const shape = x.shape;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = shape.slice();
  out[axis] = size;
  return tf.reshape(tf.slice(tf.reshape(x, [outer, shape[axis], inner]), [0, start, 0], [outer, size, inner]), out);
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
    const padded = tf.pad(tf.reshape(t, [outer, shape[axis], inner]), [[0, 0], [padBefore, padAfter], [0, 0]]);
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
          invalid(where, 'padding', pads[i], `smaller than the input size ${len} along that axis for paddingMode 'reflect'`);
        }
        if (before > 0) parts.push(tf.reverse(sliceAxis(t, axis, 1, before), axis));
        parts.push(t);
        if (after > 0) parts.push(tf.reverse(sliceAxis(t, axis, len - 1 - after, after), axis));
      } else if (mode === 'replicate') {
        const first = sliceAxis(t, axis, 0, 1);
        const last = sliceAxis(t, axis, len - 1, 1);
        for (let j = 0; j < before; j++) parts.push(first);
        parts.push(t);
        for (let j = 0; j < after; j++) parts.push(last);
      } else {
        if (before > len || after > len) {
          invalid(where, 'padding', pads[i], `at most the input size ${len} along that axis for paddingMode 'circular'`);
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

export { sliceAxis };
