/**
 * What the native steerable convolution kernels share (GMRSteerableConv.ts, GMRSteerableConvBackpropInput.ts,
 * GMRSteerableConvBackpropFilter.ts; native/steerable_ops.cc): the addon's geometry of a call (channelsLast, one
 * group, the mask rows as its "rings", zero padding), the taps of the masks and the plan's column count.
 */
import { gmrConvAxis, type SteerableConvAttrs } from '@gmr-conv/core/kernel';
import type * as tf from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../backend.js';
import { ringTaps } from './gmr_conv_impl.js';

export interface SteerGeometry {
  batch: number;
  outH: number;
  outW: number;
  cin: number;
  rows: number;
  /** Output positions B·Ho·Wo. */
  P: number;
  /** RingGeom order (native/gmr_common.h). */
  packed: Int32Array;
  plan: Int32Array;
  /** Columns of the plan's ring sums R' (native SteerPlan.kt). */
  kt: number;
}

export function steerGeometry(a: SteerableConvAttrs, xShape: number[], rows: number): SteerGeometry {
  const [batch, inH, inW, cin] = xShape as [number, number, number, number];
  const [kh, kw] = a.kernelSize;
  const [sh, sw] = a.strides;
  const ay = gmrConvAxis(inH, kh, sh, 1, a.padding);
  const ax = gmrConvAxis(inW, kw, sw, 1, a.padding);
  const packed = Int32Array.from([
    batch,
    inH,
    inW,
    cin,
    ay.outLength,
    ax.outLength,
    1,
    rows,
    kh,
    kw,
    sh,
    sw,
    1,
    1,
    ay.pads[0],
    ax.pads[0],
    0,
  ]);
  let kt = 0;
  const p = a.plan;
  for (let b = 0, at = 1; b < p[0]!; b++) {
    const segs = p[at + 2]!;
    at += 3;
    for (let s = 0; s < segs; s++, at += 4) kt += (p[at + 1]! - p[at]!) * (p[at + 3]! - p[at + 2]!);
  }
  const P = batch * ay.outLength * ax.outLength;
  return { batch, outH: ay.outLength, outW: ax.outLength, cin, rows, P, packed, plan: Int32Array.from(p), kt };
}

export const steerTaps = (backend: NativeBackend, indexMat: tf.TensorInfo, a: SteerableConvAttrs) =>
  ringTaps(backend.f32(indexMat), indexMat.shape[0]!, a.kernelSize[0], a.kernelSize[1]);

/** What the kept ring sums of x depend on besides x: the geometry, the masks and the plan. */
export const steerKey = (g: SteerGeometry, indexMat: tf.TensorInfo) =>
  `steerable|${g.packed.join(',')}|${(indexMat.dataId as { id?: number }).id ?? ''}|${g.plan.join(',')}`;
