/**
 * The GMR kernels as tfjs sees them: one name per kernel (forward and backward, as constants so they can be found
 * by search), the tensors each one takes and the attributes they all share. This plays the part of tfjs-core's
 * kernel_names.ts (Conv2D / Conv2DInputs / Conv2DAttrs) for core's ops and the kernel packages.
 *
 * Contract:
 *  - GMRConv{1D,2D,3D}, GMRConv2DTranspose: GMRConvInputs → y. logSigmas and bias are always passed (so the
 *    registered gradient can save them by name); when absent they are empty tensors and attrs.hasLogSigmas /
 *    attrs.hasBias are false.
 *  - GMRConv{1D,2D,3D}BackpropInput: GMRConvBackpropInputInputs → dx (layout and shape of x, attrs.inputShape).
 *  - GMRConv{1D,2D,3D}BackpropFilter: GMRConvBackpropFilterInputs → dΦ [Cout, Cin/groups, n], the gradient of the
 *    mixing weights Φ = θ·P (kernel/mixing_weights.ts) of the binary-ring form; core turns dΦ into dθ and
 *    d(log σ) through P and computes d(bias) itself. Core uses the backward kernels only when a backend registers
 *    both, and never for transposed convolutions or trainable masks.
 *  - attrs.activation ('relu', absent or 'linear' for none) is applied by the forward kernels after the bias. Core's
 *    op passes 'relu' only outside a gradient tape (as tfjs's fused ops): under a tape it runs the kernel linear and
 *    tf.relu after it, so no gradient kernel ever sees an activation.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ComputePath, DataFormat } from '../ops/attrs.js';
import type { PaddingMode, PadPairs } from './conv_info.js';

export const GMR_CONV_1D = 'GMRConv1D';
export const GMR_CONV_2D = 'GMRConv2D';
export const GMR_CONV_3D = 'GMRConv3D';
export const GMR_CONV_2D_TRANSPOSE = 'GMRConv2DTranspose';
export const GMR_CONV_1D_BACKPROP_INPUT = 'GMRConv1DBackpropInput';
export const GMR_CONV_2D_BACKPROP_INPUT = 'GMRConv2DBackpropInput';
export const GMR_CONV_3D_BACKPROP_INPUT = 'GMRConv3DBackpropInput';
export const GMR_CONV_1D_BACKPROP_FILTER = 'GMRConv1DBackpropFilter';
export const GMR_CONV_2D_BACKPROP_FILTER = 'GMRConv2DBackpropFilter';
export const GMR_CONV_3D_BACKPROP_FILTER = 'GMRConv3DBackpropFilter';

/** Forward kernel names, and the backward pair of each name that has one (the transposed op has none). */
export const GMR_KERNEL_NAMES = [GMR_CONV_1D, GMR_CONV_2D, GMR_CONV_3D, GMR_CONV_2D_TRANSPOSE] as const;
export type GMRForwardKernelName = (typeof GMR_KERNEL_NAMES)[number];
export const GMR_BACKPROP_KERNEL_NAMES: Readonly<Record<string, { input: string; filter: string }>> = {
  [GMR_CONV_1D]: { input: GMR_CONV_1D_BACKPROP_INPUT, filter: GMR_CONV_1D_BACKPROP_FILTER },
  [GMR_CONV_2D]: { input: GMR_CONV_2D_BACKPROP_INPUT, filter: GMR_CONV_2D_BACKPROP_FILTER },
  [GMR_CONV_3D]: { input: GMR_CONV_3D_BACKPROP_INPUT, filter: GMR_CONV_3D_BACKPROP_FILTER },
};

/**
 * Inputs of a forward GMR kernel. The engine hands a kernel the op's own tensors, so they are typed as tensors
 * (the kernels run tfjs ops on them).
 */
export interface GMRConvInputs {
  /** [B, ...spatial, Cin] (channelsLast) or [B, Cin, ...spatial]. */
  x: tf.Tensor;
  /** Ring weights θ: [Cout, Cin/groups, n] (transposed conv: [Cin, Cout/groups, n], as the reference). */
  weight: tf.Tensor;
  /** log σ per ring [n]; an empty tensor for binary rings (attrs.hasLogSigmas false). */
  logSigmas: tf.Tensor;
  /** Ring masks M [n, prod(kernelSize)]. */
  indexMat: tf.Tensor;
  /** [Cout]; an empty tensor without bias (attrs.hasBias false). */
  bias: tf.Tensor;
}
export type GMRConv1DInputs = GMRConvInputs;
export type GMRConv2DInputs = GMRConvInputs;
export type GMRConv3DInputs = GMRConvInputs;
export type GMRConv2DTransposeInputs = GMRConvInputs;

/** Inputs of GMRConv{1D,2D,3D}BackpropInput. */
export interface GMRConvBackpropInputInputs {
  dy: tf.Tensor;
  weight: tf.Tensor;
  /** Present when attrs.hasLogSigmas. */
  logSigmas?: tf.Tensor;
  indexMat: tf.Tensor;
}
export type GMRConv1DBackpropInputInputs = GMRConvBackpropInputInputs;
export type GMRConv2DBackpropInputInputs = GMRConvBackpropInputInputs;
export type GMRConv3DBackpropInputInputs = GMRConvBackpropInputInputs;

/** Inputs of GMRConv{1D,2D,3D}BackpropFilter. */
export interface GMRConvBackpropFilterInputs {
  x: tf.Tensor;
  dy: tf.Tensor;
  indexMat: tf.Tensor;
}
export type GMRConv1DBackpropFilterInputs = GMRConvBackpropFilterInputs;
export type GMRConv2DBackpropFilterInputs = GMRConvBackpropFilterInputs;
export type GMRConv3DBackpropFilterInputs = GMRConvBackpropFilterInputs;

/** Fully resolved attributes, shared by every GMR kernel (every default applied, padding resolved for x). */
export interface GMRConvAttrs {
  rank: number;
  kernelSize: number[];
  strides: number[];
  dilations: number[];
  /** Forward conv: zero/mode padding per spatial axis. Transposed conv: the amounts cropped from the full output. */
  pads: PadPairs;
  paddingMode: PaddingMode;
  groups: number;
  dataFormat: DataFormat;
  clipSigma: boolean;
  sigmaMin: number;
  sigmaMax: number;
  path: ComputePath;
  /** Two-stage variant: filter with the smoothed rings G = P·M, or with the binary rings M and mix with θ·P. */
  twoStageBasis: 'smoothed' | 'binary';
  transposed: boolean;
  outputPadding: number[];
  hasBias: boolean;
  hasLogSigmas: boolean;
  trainIndexMat: boolean;
  /** The ring masks are even along every axis (geometry masks are; trained or user masks may not be). */
  symmetricRings: boolean;
  /** Shape of x (so backward kernels know the input size, ambiguous from dy when stride > 1). */
  inputShape: number[];
  /** Applied after the bias by the forward kernels; absent means 'linear' (see the contract above). */
  activation?: GMRActivation;
}

/** The activations a GMR forward kernel fuses. */
export type GMRActivation = 'linear' | 'relu';
export const GMR_ACTIVATIONS: readonly GMRActivation[] = ['linear', 'relu'];
export type GMRConv1DAttrs = GMRConvAttrs;
export type GMRConv2DAttrs = GMRConvAttrs;
export type GMRConv3DAttrs = GMRConvAttrs;
export type GMRConv2DTransposeAttrs = GMRConvAttrs;

/** The inputs of each kernel name. */
export interface GMRKernelInputMap {
  GMRConv1D: GMRConv1DInputs;
  GMRConv2D: GMRConv2DInputs;
  GMRConv3D: GMRConv3DInputs;
  GMRConv2DTranspose: GMRConv2DTransposeInputs;
  GMRConv1DBackpropInput: GMRConv1DBackpropInputInputs;
  GMRConv2DBackpropInput: GMRConv2DBackpropInputInputs;
  GMRConv3DBackpropInput: GMRConv3DBackpropInputInputs;
  GMRConv1DBackpropFilter: GMRConv1DBackpropFilterInputs;
  GMRConv2DBackpropFilter: GMRConv2DBackpropFilterInputs;
  GMRConv3DBackpropFilter: GMRConv3DBackpropFilterInputs;
}
export type GMRKernelName = keyof GMRKernelInputMap;

/** What a GMR kernel function receives, typed for its name. */
export interface GMRKernelArgs<N extends GMRKernelName, B = unknown> {
  inputs: GMRKernelInputMap[N];
  backend: B;
  attrs: GMRConvAttrs;
}

/**
 * A tfjs KernelConfig for a GMR kernel: the kernel is written against its typed inputs and attrs, and the one cast
 * from tfjs's untyped maps happens here.
 */
export function gmrKernelConfig<N extends GMRKernelName, B = unknown>(
  kernelName: N,
  backendName: string,
  kernelFunc: (args: GMRKernelArgs<N, B>) => tf.TensorInfo,
): tf.KernelConfig {
  return { kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/** The tensors of a forward kernel call, absent ones (empty placeholders) as null. */
export interface GMRConvTensors {
  x: tf.Tensor;
  weight: tf.Tensor;
  logSigmas?: tf.Tensor | null;
  indexMat: tf.Tensor;
  bias?: tf.Tensor | null;
}

/** Forward kernel inputs → tensors, with the absent logSigmas / bias as null (attrs.hasLogSigmas / hasBias). */
export function forwardTensors(inputs: GMRConvInputs, attrs: GMRConvAttrs): GMRConvTensors {
  return {
    x: inputs.x,
    weight: inputs.weight,
    logSigmas: attrs.hasLogSigmas ? inputs.logSigmas : null,
    indexMat: inputs.indexMat,
    bias: attrs.hasBias ? inputs.bias : null,
  };
}
