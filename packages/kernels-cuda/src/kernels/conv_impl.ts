/**
 * Plain 2D convolutions (NHWC) shared by Conv2D, FusedConv2D and their two gradients: the geometry the addon's conv
 * kernels read, the 1×1 stride-1 case that is one GEMM, and the forward pass of Conv2D / FusedConv2D.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { backend_util, type Conv2DAttrs, type Conv2DInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { allF32, size, type NativeKernelArgs } from './native_util.js';

/**
 * The addon's conv geometry (RingGeom order, groups 1, n 1, zero padding) from tfjs's Conv2DInfo: the plain convs,
 * DepthwiseConv2dNative and, from a Pool2DInfo (dilation 1), AvgPool and its gradient.
 */
export function convGeom(c: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    1,
    1,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
    0,
  ]);
}

/**
 * tfjs's Conv2DInfo (NHWC) of a call, and the GEMM sizes every conv kernel here works in: P output positions and
 * K = kh·kw·Cin values per im2col row.
 */
export function convGemmInfo(
  xShape: number[],
  filterShape: number[],
  strides: Conv2DAttrs['strides'],
  dilations: Conv2DAttrs['dilations'],
  pad: Conv2DAttrs['pad'],
  dimRoundingMode: Conv2DAttrs['dimRoundingMode'],
): { c: backend_util.Conv2DInfo; P: number; K: number } {
  const c = backend_util.computeConv2DInfo(
    xShape as never,
    filterShape as never,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  return { c, P: c.batchSize * c.outHeight * c.outWidth, K: c.filterHeight * c.filterWidth * c.inChannels };
}

/** A 1×1 stride-1 unpadded convolution: x [P, Cin] times the filter [Cin, Cout], one SGEMM with no im2col. */
export const isPointwise = (c: backend_util.Conv2DInfo) =>
  c.filterHeight === 1 &&
  c.filterWidth === 1 &&
  c.strideHeight === 1 &&
  c.strideWidth === 1 &&
  c.padInfo.top === 0 &&
  c.padInfo.left === 0 &&
  c.padInfo.bottom === 0 &&
  c.padInfo.right === 0 &&
  c.outHeight === c.inHeight &&
  c.outWidth === c.inWidth;

/**
 * y = conv(x, filter) (+ bias, ReLU) natively, or null when not covered (NCHW, another activation, PReLU weights,
 * another dtype): Conv2D calls it with no activation, FusedConv2D with its own attrs.
 */
export function convForwardImpl(
  args: NativeKernelArgs<
    Conv2DInputs & { bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo },
    Conv2DAttrs & { activation?: string }
  >,
  name: string,
): tf.TensorInfo | null {
  const { backend } = args;
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  const at = args.attrs;
  const act = at.activation === 'relu' ? 1 : at.activation == null || at.activation === 'linear' ? 0 : -1;
  if (act < 0 || preluActivationWeights || at.dataFormat === 'NCHW' || !allF32(x, filter, bias)) return null;
  const { c, P, K } = convGemmInfo(x!.shape, filter!.shape, at.strides, at.dilations ?? 1, at.pad, at.dimRoundingMode);
  if (bias && size(bias.shape) !== c.outChannels) return null;
  count(name);
  const out = backend.allocFloat32(P * c.outChannels);
  const xv = backend.f32(x!),
    wv = backend.f32(filter!);
  if (isPointwise(c)) {
    backend.addon.sgemm(false, false, P, c.outChannels, K, 1, xv, 0, K, wv, 0, c.outChannels, 0, out, 0, c.outChannels);
    if (bias || act) backend.addon.biasAct(out, bias ? backend.f32(bias) : null, P, c.outChannels, act as 0 | 1);
  } else {
    backend.addon.convForward(xv, wv, convGeom(c), c.outChannels, bias ? backend.f32(bias) : null, act as 0 | 1, out);
  }
  return backend.makeNativeOutput(out, [c.batchSize, c.outHeight, c.outWidth, c.outChannels]);
}
