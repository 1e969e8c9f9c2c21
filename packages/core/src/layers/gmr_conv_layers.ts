/**
 * The four GMR convolution layer classes, registered for tfjs serialization. They share one implementation,
 * GMRConvBase (gmr_conv_layer.ts); each fixes the number of spatial axes and whether the conv is transposed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GMRConvBase, type GMRConvLayerArgs } from './gmr_conv_layer.js';

/**
 * A 1D GMR convolution on [batch, length, channels]: each kernel is a mixture of Gaussian-smoothed "rings", which in
 * one dimension are the pairs of taps at the same distance from the centre, so every kernel is mirror-symmetric.
 * Exactly equivariant to reversing the sequence when the kernel size is odd and the window grid is symmetric (see
 * GMRConv2D for what breaks that). Options, inference cache and errors as GMRConv2D.
 */
export class GMRConv1D extends GMRConvBase {
  static className = 'GMRConv1D';
  constructor(args: GMRConvLayerArgs) {
    super(1, false, args);
  }
}

/**
 * A 2D GMR convolution (Gaussian Mixture Ring convolution): a drop-in replacement for `tf.layers.conv2d` whose
 * kernels cannot see orientation. Each k×k kernel is built from `numRings` concentric rings of pixels around the
 * kernel's centre, one learned weight θ per (output channel, input channel, ring), and each ring's weight is spread
 * onto its neighbouring rings by a Gaussian of learned width σ (the "mixture"), which smooths the radial profile so
 * that a rotation by an angle the pixel grid does not have changes the output little. The kernel is
 * W = θ·G with G = P(σ)·M (M: the binary ring masks, P: the Gaussian mixing), shape `[filters, in/groups, numRings]`
 * for θ: a k = 9 conv has 5 weights per channel pair where a plain conv has 81.
 *
 * What is guaranteed:
 * - Exact equivariance to the 8 symmetries of the square pixel grid (D4: rotations by 0°, 90°, 180°, 270° and the
 *   4 mirrors about the image centre): layer(g·x) = g·layer(x) to float rounding, because a ring kernel of odd size
 *   maps onto itself under each of them. This needs an odd kernel size (an even kernel's rings are centred on tap
 *   k/2, not on the kernel's centre), the same kernel size, stride, dilation and padding on both axes, a square input
 *   for the 90° rotations, and a window grid that is symmetric on each axis: stride 1 with 'same' or symmetric
 *   numeric padding always is; with stride s the padded length minus the kernel's extent must be a multiple of s
 *   (so 'same' with stride 2 needs an odd input size: on an even size tfjs pads (0, 1), which shifts the grid).
 *   All four padding modes ('zeros', 'reflect', 'replicate', 'circular') are symmetric and keep exactness.
 *   `trainIndexMat: true` (learned ring masks) gives that up. `checkExactEquivariance(model, inputSize)` walks a
 *   whole model and names every layer that breaks it, and why.
 * - At other angles the equivariance is approximate: the rings are sampled on the pixel grid and the input must be
 *   resampled to be rotated at all. For a 9×9 layer the relative L2 error at 45° on a smooth 33×33 input is about
 *   5 % (4.8e-2; the package README's table gives the command that measures it).
 *
 * Inference cache (`inferenceCache`, default true): outside training and gradient recording, on core's composed
 * kernels (cpu, wasm, webgl) the layer keeps G = P·M between calls instead of recomputing it. The cache is keyed
 * on the identity of the σ (and trainable mask) variables' data, which every assign (optimizer step, setWeights,
 * loading) replaces, so it never serves stale weights; `dispose()` / `disposeCaches()` free it. A kernel package's
 * kernels (native, webgpu) take the binary masks and σ instead, which their tap lists run faster than a dense G,
 * so there the cache is not used.
 *
 * Options are those of `tf.layers.conv2d` (filters, kernelSize, strides, padding — also PyTorch-style numbers or
 * [before, after] pairs —, dilationRate, dataFormat, groups, useBias, activation, initializers, regularizers,
 * constraints) plus the ring options of the official PyTorch code (numRings, forceCircular, gaussianMixtureRing,
 * trainGaussianSigma, sigmaScale, clipSigma, sigmaMin, sigmaMax) and `paddingMode`. Bad options are refused with
 * a GMRValueError naming the option, the value and what is allowed.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { GMRConv2D, applyD4 } from '@gmr-conv/core';
 *
 * const conv = new GMRConv2D({ filters: 16, kernelSize: 9, padding: 'same', activation: 'relu' });
 * const x = tf.randomNormal([1, 28, 28, 1]);
 * const y = conv.apply(x) as tf.Tensor; // [1, 28, 28, 16]
 * // rotating the input by 90° rotates the output by 90°, exactly:
 * const diff = tf.sub(conv.apply(applyD4(x, 'rot90')) as tf.Tensor, applyD4(y, 'rot90')).abs().max(); // ~1e-7
 * ```
 */
export class GMRConv2D extends GMRConvBase {
  static className = 'GMRConv2D';
  constructor(args: GMRConvLayerArgs) {
    super(2, false, args);
  }
}

/**
 * A 3D GMR convolution on [batch, depth, height, width, channels]: the rings become spherical shells around the
 * kernel's centre. Exactly equivariant to the 48 symmetries of the cube grid (90° rotations about each axis and
 * mirrors) under the conditions GMRConv2D lists, on all three axes (odd size, the same settings on every axis, a
 * cubic input for the rotations, a symmetric window grid); approximate at other angles. Options, inference cache and
 * errors as GMRConv2D.
 */
export class GMRConv3D extends GMRConvBase {
  static className = 'GMRConv3D';
  constructor(args: GMRConvLayerArgs) {
    super(3, false, args);
  }
}

/**
 * A transposed 2D GMR convolution (PyTorch ConvTranspose2d semantics: `padding` crops the full output, and
 * `outputPadding` adds rows and columns on one side; θ has shape [in, filters/groups, numRings]). Exactly
 * D4-equivariant under GMRConv2D's conditions plus a symmetric crop: a crop that removes more on one side than the
 * other (an `outputPadding` > 0, or 'same' when the kernel's extent d(k−1)+1 minus the stride is odd) shifts the
 * grid and breaks it.
 * Only 'zeros' padding mode. Inference cache and errors as GMRConv2D.
 */
export class GMRConv2DTranspose extends GMRConvBase {
  static className = 'GMRConv2DTranspose';
  constructor(args: GMRConvLayerArgs) {
    super(2, true, args);
  }
}

for (const cls of [GMRConv1D, GMRConv2D, GMRConv3D, GMRConv2DTranspose]) tf.serialization.registerClass(cls);

/** Factories in the style of tf.layers.conv2d. */
export const gmrConv1dLayer = (args: GMRConvLayerArgs) => new GMRConv1D(args);
export const gmrConv2dLayer = (args: GMRConvLayerArgs) => new GMRConv2D(args);
export const gmrConv3dLayer = (args: GMRConvLayerArgs) => new GMRConv3D(args);
export const gmrConv2dTransposeLayer = (args: GMRConvLayerArgs) => new GMRConv2DTranspose(args);
