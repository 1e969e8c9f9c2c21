/**
 * What the native steerable conv kernels share (GMRSteerableConv2D.ts and its BackpropInput / BackpropFilter): the
 * block plan of core's steerable_op.ts on the addon's ring sums and SGEMM.
 *   ring sums   R_a = ringSum(x_a) [P, rows, Cin_a] per input block a (x_a: its channels, copied contiguous);
 *   forward     y[:, b] = Σ_links R_a[:, rows of the link] · W_baᵀ       (W_ba [Cout_b, count·Cin_a], ring-major)
 *   input grad  D_a[:, rows of the link] += dy[:, b] · W_ba, then dx_a = ringScatter(D_a)
 *   filter grad dW_ba = dy[:, b]ᵀ · R_a[:, rows of the link], placed back into dW [Cout, Cin, rows]
 * Each product reads only a link's rows (one angular component), so the zero blocks of W are never multiplied.
 */
import { convOutLength, samePads } from '@gmr-conv/core/kernel';
import type { SteerableConvAttrs } from '@gmr-conv/core';
import type { NativeBackend } from '../backend.js';
import { ringTaps } from './gmr_conv_impl.js';

export interface SteerablePlan {
  batch: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  cin: number;
  cout: number;
  rows: number;
  /** P = batch·Ho·Wo output positions. */
  positions: number;
  inStart: number[];
  outStart: number[];
  links: { b: number; a: number; row: number; count: number }[];
  /** The addon's geometry of block a (RingGeom order in native/gmr_common.h, Cin = the block's channels). */
  geom: Int32Array[];
  taps: Float32Array;
}

const starts = (sizes: number[]) => sizes.map((_, i) => sizes.slice(0, i).reduce((s, n) => s + n, 0));

export function steerablePlan(a: SteerableConvAttrs, masks: Float32Array): SteerablePlan {
  const [batch, inH, inW] = a.inputShape as [number, number, number, number];
  const [kh, kw] = a.kernelSize;
  const [sh, sw] = a.strides;
  const [pt, pb] = a.padding === 'same' ? samePads(inH, kh, sh, 1) : [0, 0];
  const [pl, pr] = a.padding === 'same' ? samePads(inW, kw, sw, 1) : [0, 0];
  const outH = convOutLength(inH, kh, sh, 1, pt, pb);
  const outW = convOutLength(inW, kw, sw, 1, pl, pr);
  const rows = masks.length / (kh * kw);
  const links = [];
  for (let i = 0; i < a.links.length; i += 4) links.push({ b: a.links[i]!, a: a.links[i + 1]!, row: a.links[i + 2]!, count: a.links[i + 3]! });
  const sum = (v: number[]) => v.reduce((s, n) => s + n, 0);
  return {
    batch, inH, inW, outH, outW, rows, links,
    cin: sum(a.inBlocks),
    cout: sum(a.outBlocks),
    positions: batch * outH * outW,
    inStart: starts(a.inBlocks),
    outStart: starts(a.outBlocks),
    geom: a.inBlocks.map((c) => Int32Array.from([batch, inH, inW, c, outH, outW, 1, rows, kh, kw, sh, sw, 1, 1, pt, pl, 0])),
    taps: ringTaps(masks, rows, kh, kw),
  };
}

/** Channels [start, start + size) of x [rows, C] as a contiguous [rows, size] array (scratch: free with freeScratch). */
export function takeBlock(backend: NativeBackend, x: Float32Array, channels: number, start: number, size: number): Float32Array {
  const n = x.length / channels;
  const out = backend.allocFloat32(n * size);
  for (let r = 0; r < n; r++) for (let c = 0; c < size; c++) out[r * size + c] = x[r * channels + start + c]!;
  return out;
}

/** Writes the block [rows, size] into channels [start, start + size) of out [rows, C]. */
export function putBlock(block: Float32Array, size: number, out: Float32Array, channels: number, start: number): void {
  const n = block.length / size;
  for (let r = 0; r < n; r++) for (let c = 0; c < size; c++) out[r * channels + start + c] = block[r * size + c]!;
}

/** Ring sums of every input block: R_a [P, rows, Cin_a] (scratch arrays: free each with freeScratch). */
export function blockRingSums(backend: NativeBackend, plan: SteerablePlan, x: Float32Array, inBlocks: number[]): Float32Array[] {
  return inBlocks.map((size, a) => {
    const xa = inBlocks.length === 1 ? x : takeBlock(backend, x, plan.cin, plan.inStart[a]!, size);
    const r = backend.allocFloat32(plan.positions * plan.rows * size);
    backend.addon.ringSum(xa, plan.taps, plan.geom[a]!, r);
    if (xa !== x) backend.freeScratch(xa);
    return r;
  });
}

/** W_ba [Cout_b, count·Cin_a] (ring-major: k = (row − first)·Cin_a + channel) from weight [Cout, Cin, rows]. */
export function linkWeights(w: Float32Array, plan: SteerablePlan, link: SteerablePlan['links'][number], outSize: number, inSize: number): Float32Array {
  const { cin, rows } = plan;
  const k = link.count * inSize;
  const out = new Float32Array(outSize * k);
  for (let o = 0; o < outSize; o++) {
    const wo = (plan.outStart[link.b]! + o) * cin;
    for (let r = 0; r < link.count; r++) for (let i = 0; i < inSize; i++) out[o * k + r * inSize + i] = w[(wo + plan.inStart[link.a]! + i) * rows + link.row + r]!;
  }
  return out;
}

/** The inverse of linkWeights: dW_ba [Cout_b, count·Cin_a] into dW [Cout, Cin, rows]. */
export function putLinkWeights(d: Float32Array, plan: SteerablePlan, link: SteerablePlan['links'][number], outSize: number, inSize: number, dw: Float32Array): void {
  const { cin, rows } = plan;
  const k = link.count * inSize;
  for (let o = 0; o < outSize; o++) {
    const wo = (plan.outStart[link.b]! + o) * cin;
    for (let r = 0; r < link.count; r++) for (let i = 0; i < inSize; i++) dw[(wo + plan.inStart[link.a]! + i) * rows + link.row + r] = d[o * k + r * inSize + i]!;
  }
}
