/**
 * The composed GMR convolution: tfjs ops only, so it runs (and trains) on any
 * backend. It is the default kernel for every GMR op name and the reference
 * every kernel package is tested against.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gaussianMatrix } from '../../mixture/gaussian_mixture.js';
import { synthesizeKernel } from '../synthesis.js';
import type { GMRConvAttrs, GMRConvTensors } from '../kernel_names.js';
import type { PadPairs } from '../conv_info.js';
import { mixingWeights } from '../mixing_weights.js';
import { convNd, upsampleZeros } from './conv_primitive.js';
import { flipRingFilters, twoStage } from './two_stage.js';
import { padOrCropAxis, padWithMode, sliceAxis } from './pad_ops.js';

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

export function toChannelsLast(x: tf.Tensor, dataFormat: string): tf.Tensor {
  if (dataFormat !== 'channelsFirst') return x;
  return tf.transpose(x, [0, ...range(2, x.rank), 1]);
}

export function fromChannelsLast(y: tf.Tensor, dataFormat: string): tf.Tensor {
  if (dataFormat !== 'channelsFirst') return y;
  return tf.transpose(y, [0, y.rank - 1, ...range(1, y.rank - 1)]);
}

/** Dense path: synthesise the k^d kernel, one convolution per group. */
function densePath(
  x: tf.Tensor,
  theta: tf.Tensor,
  basis: tf.Tensor2D,
  a: GMRConvAttrs,
  conv: { strides: number[]; dilations: number[]; pads: PadPairs },
) {
  const kernel = synthesizeKernel(theta, basis, a.kernelSize); // [...k, Cin/g, Cout]
  if (a.groups === 1) return convNd(x, kernel, conv);
  const rank = a.kernelSize.length;
  const cinG = theta.shape[1] as number;
  const coutG = theta.shape[0] / a.groups;
  const outs: tf.Tensor[] = [];
  for (let g = 0; g < a.groups; g++) {
    const xg = sliceAxis(x, rank + 1, g * cinG, cinG);
    const kg = sliceAxis(kernel, rank + 1, g * coutG, coutG);
    outs.push(convNd(xg, kg, conv));
  }
  return tf.concat(outs, rank + 1);
}

/** θ of a transposed conv [Cin, Cout/g, n] → θ of the equivalent forward conv [Cout, Cin/g, n]. */
export function transposedToForwardWeight(weight: tf.Tensor, groups: number): tf.Tensor {
  const [cin, coutG, n] = weight.shape;
  const regrouped = tf.transpose(tf.reshape(weight, [groups, cin / groups, coutG, n]), [0, 2, 1, 3]);
  return tf.reshape(regrouped, [groups * coutG, cin / groups, n]);
}

const asConstantOp = tf.customGrad(((m: tf.Tensor) => ({
  value: tf.clone(m),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);
/** Identity whose gradient is zero (tfjs has no stopGradient op). */
function asConstant(m: tf.Tensor): tf.Tensor {
  return asConstantOp(m) as tf.Tensor;
}

/**
 * Core's composed GMR convolution of one kernel call (tensors as the kernel received them, attrs resolved):
 * the default kernel of every GMR name, and what a kernel package falls back to for calls its own kernels do
 * not cover.
 */
export function gmrConvComposed(t: GMRConvTensors, a: GMRConvAttrs): tf.Tensor {
  return tf.tidy(() => {
    const rank = a.kernelSize.length;
    const axes = range(1, rank + 1);
    const ones = a.kernelSize.map(() => 1);
    let x = toChannelsLast(t.x, a.dataFormat);
    let theta = t.weight;
    // Masks are constants unless trainIndexMat: both paths then give them a zero gradient.
    let masks = (a.trainIndexMat ? t.indexMat : asConstant(t.indexMat)) as tf.Tensor2D;
    let conv = { strides: a.strides, dilations: a.dilations, pads: a.pads };

    if (a.transposed) {
      // A transposed conv is a conv of the zero-upsampled input with the flipped kernel.
      x = upsampleZeros(x, axes, a.strides);
      a.kernelSize.forEach((k, i) => {
        const full = a.dilations[i] * (k - 1);
        x = padOrCropAxis(x, 1 + i, full - a.pads[i][0], full - a.pads[i][1] + a.outputPadding[i]);
      });
      theta = transposedToForwardWeight(theta, a.groups);
      masks = flipRingFilters(masks, a.kernelSize);
      conv = { strides: ones, dilations: a.dilations, pads: a.pads.map(() => [0, 0]) };
    } else if (a.paddingMode !== 'zeros') {
      x = padWithMode(x, axes, a.pads, a.paddingMode);
      conv = { ...conv, pads: a.pads.map(() => [0, 0]) };
    }

    const P = t.logSigmas ? gaussianMatrix(t.logSigmas, a) : null;
    let y: tf.Tensor;
    if (a.path === 'dense') {
      const basis = P ? (tf.matMul(P, masks) as tf.Tensor2D) : masks;
      y = densePath(x, theta, basis, a, conv);
    } else {
      // Default: binary ring sums, then mixing with Φ = θ·P (masks constant: no filter gradient needed).
      let filters: tf.Tensor2D = masks;
      let mix = theta;
      if (P && a.twoStageBasis === 'smoothed') {
        filters = tf.matMul(P, masks) as tf.Tensor2D;
      } else if (P) {
        // G = P·M, so x⋆G_i = Σ_l P[i,l]·(x⋆M_l): ring sums, then mixing with Φ = θ·P.
        mix = mixingWeights(theta, t.logSigmas, a);
      }
      const filtersTrainable = a.trainIndexMat || (P != null && a.twoStageBasis === 'smoothed');
      y = twoStage(x, filters, mix, {
        ...conv,
        kernelSize: a.kernelSize,
        groups: a.groups,
        filtersTrainable,
        symmetric: a.symmetricRings,
      });
    }
    // Bias on a rank-2 view: tfjs-webgpu's broadcasting binary ops break at rank ≥ 5.
    if (t.bias) y = tf.reshape(tf.add(tf.reshape(y, [-1, y.shape[y.rank - 1]]), t.bias), y.shape);
    if (a.activation === 'relu') y = tf.relu(y);
    return fromChannelsLast(y, a.dataFormat);
  });
}
