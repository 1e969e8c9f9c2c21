/**
 * The steerable convolution as one kernel on backends that register it (kernels-cuda does, for `native`).
 *
 * In the binary-ring form (steerable_basis.ts) the layer is y = R·Wᵀ with R the ring sums of x over the angle-weighted
 * masks [rows, taps] (rows = the rings of each angular component 1, cos φ, sin φ, cos 2φ, sin 2φ) and W the mixing
 * weights [Cout, Cin, rows]. But each (input channel, output channel) pair uses one component only, so about 4/5 of W
 * is zero, and the zeros come in blocks: the channels of a layout block ([order 0 | Re 1 | Im 1 | Re 2 | Im 2])
 * share their components, so the pair (output block b, input block a) reads the rows of one component, a contiguous
 * run of rows. The kernel runs the ring sums of each input block once and one product per non-zero block pair,
 * i.e. rings·Cin·Cout multiply-adds per position instead of rows·Cin·Cout (4–5× fewer), forward and backward.
 *
 *   inputs  x [B, H, W, Cin], weight [Cout, Cin, rows] (the layer's mixingWeights), masks [rows, kh·kw]
 *   attrs   SteerableConvAttrs; output y [B, Ho, Wo, Cout] (no bias: the layer adds it)
 *   BackpropInput  inputs { dy, weight, masks } → dx;  BackpropFilter  inputs { x, dy, masks } → dW [Cout, Cin, rows]
 *   (zero outside the links, as W's own zeros: the gradient reaches θ through mixingWeights, as for 'rings').
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SteerableBasis } from './steerable_basis.js';
import type { Fields } from './fields.js';

export const GMR_STEERABLE_CONV_2D = 'GMRSteerableConv2D';
export const GMR_STEERABLE_CONV_2D_BACKPROP_INPUT = 'GMRSteerableConv2DBackpropInput';
export const GMR_STEERABLE_CONV_2D_BACKPROP_FILTER = 'GMRSteerableConv2DBackpropFilter';

export interface SteerableConvAttrs {
  kernelSize: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
  /** Channel count of each input / output layout block, in channel order (empty blocks left out). */
  inBlocks: number[];
  outBlocks: number[];
  /** The non-zero block pairs, flattened quadruples (output block, input block, first row, row count). */
  links: number[];
  /** x's shape (BackpropInput's output shape). */
  inputShape: number[];
}

/** Sizes of the non-empty layout blocks [n0 | n1 | n1 | n2 | n2] of `fields`. */
export const layoutBlocks = (fields: Fields): number[] => [fields[0], fields[1], fields[1], fields[2], fields[2]].filter((n) => n > 0);

/**
 * The non-zero block pairs of a basis, as (output block, input block, first row, row count): read off its sign table,
 * and checked — every pair of channels of the two blocks uses exactly those rows (else the blocks are not the
 * layer's structure and the kernel would be wrong, so this throws).
 */
export function steerableBlockLinks(basis: SteerableBasis, inFields: Fields, outFields: Fields): number[] {
  const { cin, rows, sign } = basis;
  const starts = (sizes: number[]) => sizes.map((_, i) => sizes.slice(0, i).reduce((s, n) => s + n, 0));
  const inB = layoutBlocks(inFields);
  const outB = layoutBlocks(outFields);
  const [inS, outS] = [starts(inB), starts(outB)];
  const links: number[] = [];
  for (let b = 0; b < outB.length; b++) {
    for (let a = 0; a < inB.length; a++) {
      const used = (o: number, i: number) => Array.from({ length: rows }, (_, r) => sign[(o * cin + i) * rows + r] !== 0);
      const first = used(outS[b]!, inS[a]!);
      const r0 = first.indexOf(true);
      if (r0 < 0) continue;
      const count = first.lastIndexOf(true) - r0 + 1;
      for (let o = outS[b]!; o < outS[b]! + outB[b]!; o++) {
        for (let i = inS[a]!; i < inS[a]! + inB[a]!; i++) {
          const u = used(o, i);
          if (u.some((v, r) => v !== (r >= r0 && r < r0 + count))) throw new Error(`steerableBlockLinks: channels ${o} ← ${i} do not use the rows ${r0}..${r0 + count - 1} of their blocks`);
        }
      }
      links.push(b, a, r0, count);
    }
  }
  return links;
}

/** Whether the current backend registers the fused kernel and both of its gradients (for float32 x). */
export function steerableKernelHere(x: tf.Tensor): boolean {
  const b = tf.getBackend();
  return x.dtype === 'float32' && [GMR_STEERABLE_CONV_2D, GMR_STEERABLE_CONV_2D_BACKPROP_INPUT, GMR_STEERABLE_CONV_2D_BACKPROP_FILTER].every((k) => tf.getKernel(k, b) != null);
}

/** y = the steerable conv of x with mixing weights `weight` on `masks` through the fused kernel (no bias). */
export function steerableConv2d(x: tf.Tensor4D, weight: tf.Tensor3D, masks: tf.Tensor2D, attrs: Omit<SteerableConvAttrs, 'inputShape'>): tf.Tensor4D {
  const full: SteerableConvAttrs = { ...attrs, inputShape: x.shape.slice() };
  return tf.engine().runKernel(GMR_STEERABLE_CONV_2D, { x, weight, masks }, full as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

// Gradients through the two backward kernels (registered once, globally; they only run where steerableKernelHere
// chose the fused forward, i.e. where all three are registered). The masks are constants: a zero gradient.
tf.registerGradient({
  kernelName: GMR_STEERABLE_CONV_2D,
  inputsToSave: ['x', 'weight', 'masks'],
  gradFunc: (dy, saved, attrs) => {
    const [x, weight, masks] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    const d = dy as tf.Tensor;
    return {
      x: () => tf.engine().runKernel(GMR_STEERABLE_CONV_2D_BACKPROP_INPUT, { dy: d, weight, masks }, attrs) as tf.Tensor,
      weight: () => tf.engine().runKernel(GMR_STEERABLE_CONV_2D_BACKPROP_FILTER, { x, dy: d, masks }, attrs) as tf.Tensor,
      masks: () => tf.zerosLike(masks),
    };
  },
});
