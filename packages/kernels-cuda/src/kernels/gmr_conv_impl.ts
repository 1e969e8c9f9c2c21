/**
 * What the native GMRConv2D kernels share (GMRConv2D.ts, GMRConv2DBackpropInput.ts, GMRConv2DBackpropFilter.ts), in
 * the binary-ring form (G = P·M):
 *   forward:         R = ring sums of x with the masks M (additions only, native ringSum), y = R·Φᵀ (+ bias), Φ = θ·P
 *   BackpropInput:   D = dy·Φ (native SGEMM), dx = ring sums of D scattered back through the padding mode (ringScatter)
 *   BackpropFilter:  dΦ = dyᵀ·R (native SGEMM); core turns dΦ into dθ and d(log σ) through P.
 * R is laid out [B·Ho·Wo, groups, n, Cin/groups] so that both ring sums and the per-group GEMMs run on
 * contiguous channel rows. channelsFirst inputs are transposed to channels-last around the native calls.
 * Shapes come from core's computeGMRConvInfo and Φ from core's mixingWeights (@gmr-conv/core/kernel), so the numbers
 * the addon receives are the op's. Calls outside 2D non-transposed convolutions go to core's composed path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { computeGMRConvInfo, mixingWeights, PADDING_MODE_CODES, type GMRConvAttrs } from '@gmr-conv/core/kernel';
import type { NativeBackend } from '../backend.js';

/** Keys of the GMR kernels' call counters (kernelCallCounts()), read by tests to see which path served a call. */
export const GMR_COUNTERS = {
  forward: 'gmrForward',
  forwardFused: 'gmrForwardFused',
  fallback: 'gmrFallback',
  backpropInput: 'gmrBackpropInput',
  backpropFilter: 'gmrBackpropFilter',
  ringSumsReused: 'gmrRingSumsReused',
} as const;

export interface Geometry {
  batch: number;
  inH: number;
  inW: number;
  cin: number;
  outH: number;
  outW: number;
  cout: number;
  groups: number;
  n: number;
  kh: number;
  kw: number;
  /** The Int32Array handed to the addon (RingGeom order in native/gmr_common.h). */
  packed: Int32Array;
}

/** Why the native kernels do not cover this call (null when they do). */
export function unsupportedReason(a: GMRConvAttrs): string | null {
  if (a.rank !== 2 || a.kernelSize.length !== 2) return `rank ${a.rank}`;
  if (a.transposed) return 'transposed convolution';
  if (!(a.paddingMode in PADDING_MODE_CODES)) return `padding mode ${a.paddingMode}`;
  return null;
}

/** The addon's geometry of a call, from core's computeGMRConvInfo (x's shape in the layout of attrs). */
export function geometry(a: GMRConvAttrs, xShape: number[], weightShape: number[]): Geometry {
  const info = computeGMRConvInfo(xShape, weightShape, a);
  const [inH, inW] = info.inSpatial as [number, number];
  const [outH, outW] = info.outSpatial as [number, number];
  const [kh, kw] = info.kernelSize as [number, number];
  const [sh, sw] = info.strides as [number, number];
  const [dh, dw] = info.dilations as [number, number];
  const [[pt], [pl]] = info.pads;
  const { batch, inChannels: cin, outChannels: cout, groups, numRings: n } = info;
  const packed = Int32Array.from([
    batch,
    inH,
    inW,
    cin,
    outH,
    outW,
    groups,
    n,
    kh,
    kw,
    sh,
    sw,
    dh,
    dw,
    pt!,
    pl!,
    info.paddingModeCode,
  ]);
  return { batch, inH, inW, cin, outH, outW, cout, groups, n, kh, kw, packed };
}

/** The non-zero entries of M [n, kh·kw] as (ty, tx, ring, weight) quadruples. */
export function ringTaps(mask: Float32Array, n: number, kh: number, kw: number): Float32Array {
  const out: number[] = [];
  for (let t = 0; t < kh * kw; t++)
    for (let i = 0; i < n; i++) {
      const w = mask[i * kh * kw + t]!;
      if (w !== 0) out.push(Math.floor(t / kw), t % kw, i, w);
    }
  return Float32Array.from(out);
}

/** Φ = θ·P (core's mixingWeights) rearranged to [Cout, n, Cin/g] (the GEMM operand) in native scratch memory (free it with freeScratch). */
export function mixingOperand(
  backend: NativeBackend,
  weight: tf.Tensor,
  logSigmas: tf.Tensor | null,
  a: GMRConvAttrs,
): Float32Array {
  const [cout, cinG, n] = weight.shape as [number, number, number];
  const phi = mixingWeights(weight, logSigmas, a);
  const out = backend.allocFloat32(cout * n * cinG);
  backend.addon.transpose(backend.f32(phi), Int32Array.from([cout, cinG, n]), Int32Array.from([0, 2, 1]), out);
  if (phi !== weight) phi.dispose();
  return out;
}

export const toNHWC = (t: tf.Tensor, a: GMRConvAttrs) =>
  a.dataFormat === 'channelsFirst' ? tf.transpose(t, [0, 2, 3, 1]) : t;

/** Wraps a native output as a tensor in x's layout (NCHW: transposed back, the NHWC one disposed). */
export function finish(
  backend: NativeBackend,
  values: Float32Array,
  nhwcShape: number[],
  a: GMRConvAttrs,
): tf.TensorInfo {
  const info = backend.makeNativeOutput(values, nhwcShape);
  if (a.dataFormat !== 'channelsFirst') return info;
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const y = tf.transpose(t, [0, 3, 1, 2]);
  t.dispose();
  return y;
}

/** What the ring sums of x depend on besides x: the geometry and the masks. */
export const ringKey = (g: Geometry, indexMat: tf.TensorInfo) =>
  `${g.packed.join(',')}|${(indexMat.dataId as { id?: number }).id ?? ''}`;

/** Ring sums of x (NHWC tensor) into a scratch native array [P, Cin·n]. */
export function ringSums(backend: NativeBackend, xl: tf.Tensor, indexMat: tf.TensorInfo, g: Geometry): Float32Array {
  const taps = ringTaps(backend.f32(indexMat), g.n, g.kh, g.kw);
  const r = backend.allocFloat32(g.batch * g.outH * g.outW * g.cin * g.n);
  backend.addon.ringSum(backend.f32(xl), taps, g.packed, r);
  return r;
}
