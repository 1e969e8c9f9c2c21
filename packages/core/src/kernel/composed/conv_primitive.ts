/**
 * The one convolution primitive everything is built on: a channels-last 2D
 * convolution with explicit zero padding, stride and dilation, whose backward
 * pass uses forward convolutions only. That makes every GMR op trainable on
 * backends without conv backprop kernels (wasm), and fast on cpu, whose
 * Conv2DBackpropFilter is ~35× slower than the same gradient as a forward conv.
 * 1D is 2D with height 1; 3D is a sum of 2D convolutions over the depth taps.
 */
import * as tf from '@tensorflow/tfjs-core';
import { padOrCropAxis, sliceAxis } from './pad_ops.js';
import type { PadPairs } from '../conv_info.js';

export interface ConvAttrs {
  strides: number[];
  dilations: number[];
  /** Zero padding (before, after) per spatial axis. */
  pads: PadPairs;
}

/** Keeps every s-th element (from 0) along each axis, with reshapes and slices only. */
export function subsample(x: tf.Tensor, axes: number[], factors: number[]): tf.Tensor {
  let t = x;
  axes.forEach((axis, i) => {
    const s = factors[i];
    if (s === 1) return;
    const len = t.shape[axis];
    const out = Math.ceil(len / s);
    t = padOrCropAxis(t, axis, 0, out * s - len);
    const shape = t.shape.slice();
    shape.splice(axis, 1, out, s);
    t = tf.reshape(t, shape);
    t = sliceAxis(t, axis + 1, 0, 1);
    const back = t.shape.slice();
    back.splice(axis + 1, 1);
    t = tf.reshape(t, back);
  });
  return t;
}

/** Inserts s−1 zeros between neighbours along each axis: length L → (L−1)·s + 1. */
export function upsampleZeros(x: tf.Tensor, axes: number[], factors: number[]): tf.Tensor {
  let t = x;
  axes.forEach((axis, i) => {
    const s = factors[i];
    if (s === 1) return;
    const len = t.shape[axis];
    // [outer, L, 1, inner] padded to [outer, L, s, inner] (rank 4: webgpu's Pad breaks at rank ≥ 5).
    const outer = t.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const padded = tf.pad(tf.reshape(t, [outer, len, 1, inner]), [
      [0, 0],
      [0, 0],
      [0, s - 1],
      [0, 0],
    ]);
    const merged = t.shape.slice();
    merged[axis] = len * s;
    t = tf.reshape(padded, merged);
    t = sliceAxis(t, axis, 0, (len - 1) * s + 1);
  });
  return t;
}

/** tf.conv2d, lifting its "strides or dilations must be 1" restriction. */
export function rawConv2d(
  x: tf.Tensor4D,
  f: tf.Tensor4D,
  strides: number[],
  dilations: number[],
  pads: PadPairs,
): tf.Tensor4D {
  const explicit: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [pads[0][0], pads[0][1]],
    [pads[1][0], pads[1][1]],
    [0, 0],
  ];
  const noPad = pads.every(([a, b]) => a === 0 && b === 0);
  const padArg = noPad ? 'valid' : explicit;
  const strided = strides[0] > 1 || strides[1] > 1;
  const dilated = dilations[0] > 1 || dilations[1] > 1;
  if (strided && dilated) {
    const full = tf.conv2d(x, f, 1, padArg, 'NHWC', [dilations[0], dilations[1]]);
    return subsample(full, [1, 2], strides) as tf.Tensor4D;
  }
  return tf.conv2d(x, f, [strides[0], strides[1]], padArg, 'NHWC', [dilations[0], dilations[1]]);
}

/** dL/dx of a padded, strided, dilated conv: a full correlation of the zero-upsampled dy with the flipped filter. */
function conv2dInputGrad(dy: tf.Tensor4D, f: tf.Tensor4D, inShape: number[], attrs: ConvAttrs): tf.Tensor4D {
  const { strides, dilations, pads } = attrs;
  let g = upsampleZeros(dy, [1, 2], strides);
  for (let i = 0; i < 2; i++) {
    const k = f.shape[i];
    const before = dilations[i] * (k - 1) - pads[i][0];
    const after = inShape[1 + i] + pads[i][0] - (dy.shape[1 + i] - 1) * strides[i] - 1;
    g = padOrCropAxis(g, 1 + i, before, after);
  }
  const flipped = tf.transpose(tf.reverse(f, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  return rawConv2d(g as tf.Tensor4D, flipped, [1, 1], dilations, [
    [0, 0],
    [0, 0],
  ]);
}

/** dL/df as one forward conv: batch and channel axes swapped, strides and dilations swapped. */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, fShape: number[], attrs: ConvAttrs): tf.Tensor4D {
  const { strides, dilations, pads } = attrs;
  let xp: tf.Tensor = x;
  for (let i = 0; i < 2; i++) {
    const needed = (dy.shape[1 + i] - 1) * strides[i] + dilations[i] * (fShape[i] - 1) + 1;
    const after = needed - (x.shape[1 + i] + pads[i][0]);
    xp = padOrCropAxis(xp, 1 + i, pads[i][0], after);
  }
  const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [Ci, Hp, Wp, N]
  const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, N, Co]
  const out = rawConv2d(xt, dyt, dilations, strides, [
    [0, 0],
    [0, 0],
  ]); // [Ci, kh, kw, Co]
  return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
}

/**
 * The primitive is a kernel of its own (registered per backend on first use, its
 * forward composed from tf.conv2d) with a registered gradient, rather than a
 * tf.customGrad: tfjs 4.22's customGrad leaks one tensor per backward pass.
 */
export const CONV2D_FORWARD_ONLY = 'GMRConv2DForwardOnly';

tf.registerGradient({
  kernelName: CONV2D_FORWARD_ONLY,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as ConvAttrs;
    const d = dy as tf.Tensor4D;
    return { x: () => conv2dInputGrad(d, fs, xs.shape, a), filter: () => conv2dFilterGrad(xs, d, fs.shape, a) };
  },
});

function ensurePrimitive(backendName: string): void {
  if (tf.getKernel(CONV2D_FORWARD_ONLY, backendName)) return;
  tf.registerKernel({
    kernelName: CONV2D_FORWARD_ONLY,
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const { x, filter } = inputs as { x: tf.Tensor4D; filter: tf.Tensor4D };
      const a = attrs as unknown as ConvAttrs;
      return tf.tidy(() => rawConv2d(x, filter, a.strides, a.dilations, a.pads)) as unknown as tf.TensorInfo;
    },
  });
}

/** Channels-last 2D convolution with a backward pass made of forward convolutions. */
export function conv2dForwardOnly(x: tf.Tensor4D, f: tf.Tensor4D, attrs: ConvAttrs): tf.Tensor4D {
  ensurePrimitive(tf.getBackend());
  return tf
    .engine()
    .runKernel(CONV2D_FORWARD_ONLY, { x, filter: f }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * Channels-last N-d convolution (N = 1, 2, 3), groups = 1, zero padding.
 * x: [B, ...spatial, Ci]; filter: [...k, Ci, Co].
 */
export function convNd(x: tf.Tensor, filter: tf.Tensor, attrs: ConvAttrs): tf.Tensor {
  const rank = x.rank - 2;
  return tf.tidy(() => {
    if (rank === 2) return conv2dForwardOnly(x as tf.Tensor4D, filter as tf.Tensor4D, attrs);
    if (rank === 1) {
      const y = conv2dForwardOnly(tf.expandDims(x, 1) as tf.Tensor4D, tf.expandDims(filter, 0) as tf.Tensor4D, {
        strides: [1, attrs.strides[0]],
        dilations: [1, attrs.dilations[0]],
        pads: [[0, 0], attrs.pads[0]],
      });
      return tf.squeeze(y, [1]);
    }
    // 3D: sum over depth taps of 2D convs on (batch × output depth) stacked slices.
    const [kd] = filter.shape;
    const [sd, sh, sw] = attrs.strides;
    const [dd, dh, dw] = attrs.dilations;
    const xp = padOrCropAxis(x, 1, attrs.pads[0][0], attrs.pads[0][1]);
    const [b, depth, h, w, ci] = xp.shape;
    const outDepth = Math.floor((depth - dd * (kd - 1) - 1) / sd) + 1;
    const attrs2d: ConvAttrs = { strides: [sh, sw], dilations: [dh, dw], pads: [attrs.pads[1], attrs.pads[2]] };
    let acc: tf.Tensor | null = null;
    for (let a = 0; a < kd; a++) {
      let slab = sliceAxis(xp, 1, a * dd, (outDepth - 1) * sd + 1);
      slab = subsample(slab, [1], [sd]);
      const fa = tf.squeeze(sliceAxis(filter, 0, a, 1), [0]) as tf.Tensor4D;
      const y = conv2dForwardOnly(tf.reshape(slab, [b * outDepth, h, w, ci]) as tf.Tensor4D, fa, attrs2d);
      acc = acc === null ? y : tf.add(acc, y);
    }
    const [, ho, wo, co] = acc!.shape;
    return tf.reshape(acc!, [b, outDepth, ho, wo, co]);
  });
}

/**
 * dL/dfilter of convNd(x, filter, attrs) for a given dy, as forward convolutions
 * (1D through 2D, 3D as a sum over depth taps). filterShape: [...k, Ci, Co].
 */
export function convNdFilterGrad(x: tf.Tensor, dy: tf.Tensor, filterShape: number[], attrs: ConvAttrs): tf.Tensor {
  const rank = x.rank - 2;
  return tf.tidy(() => {
    if (rank === 2) return conv2dFilterGrad(x as tf.Tensor4D, dy as tf.Tensor4D, filterShape, attrs);
    if (rank === 1) {
      const g = conv2dFilterGrad(
        tf.expandDims(x, 1) as tf.Tensor4D,
        tf.expandDims(dy, 1) as tf.Tensor4D,
        [1, ...filterShape],
        {
          strides: [1, attrs.strides[0]],
          dilations: [1, attrs.dilations[0]],
          pads: [[0, 0], attrs.pads[0]],
        },
      );
      return tf.squeeze(g, [0]);
    }
    const [kd] = filterShape;
    const [sd, sh, sw] = attrs.strides;
    const [dd, dh, dw] = attrs.dilations;
    const xp = padOrCropAxis(x, 1, attrs.pads[0][0], attrs.pads[0][1]);
    const [b, , h, w, ci] = xp.shape;
    const [, outDepth, ho, wo, co] = dy.shape;
    const dy4 = tf.reshape(dy, [b * outDepth, ho, wo, co]) as tf.Tensor4D;
    const attrs2d: ConvAttrs = { strides: [sh, sw], dilations: [dh, dw], pads: [attrs.pads[1], attrs.pads[2]] };
    const taps: tf.Tensor[] = [];
    for (let a = 0; a < kd; a++) {
      let slab = sliceAxis(xp, 1, a * dd, (outDepth - 1) * sd + 1);
      slab = subsample(slab, [1], [sd]);
      taps.push(
        conv2dFilterGrad(tf.reshape(slab, [b * outDepth, h, w, ci]) as tf.Tensor4D, dy4, filterShape.slice(1), attrs2d),
      );
    }
    return tf.stack(taps, 0);
  });
}
