/**
 * The public GMR ops: gmrConv1d, gmrConv2d, gmrConv3d, gmrConvTranspose2d.
 * They check their arguments (errors name the parameter, the value and what is
 * allowed), resolve padding and the computation path, and run the kernel
 * registered under core's op name.
 *
 * The guarantee of every GMR op: with an odd kernel size and core's ring masks (not trained), the kernel θ·G is
 * symmetric under the grid's rotations and reflections, so the op commutes exactly (to float rounding) with the 8
 * elements of D4 in 2D, the 48 cube symmetries in 3D and the flip in 1D, provided the windows sit symmetrically on the
 * input (stride 1 with 'same' or symmetric padding always does; checkExactEquivariance tells for other settings).
 * Rotations by other angles are approximate: the rings are circular, the pixel grid is not (the oracle's 45° files
 * measure how far). An even kernel size works like the reference but is not exact.
 * The op runs under core's kernel name for its rank (@gmr-conv/core/kernel): a kernel package's kernel where one is
 * registered for the backend, core's composed implementation otherwise, both with gradients for x, θ, log σ and bias.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ringMasks } from '../rings/ring_masks.js';
import { isSymmetricRings, markSymmetricRings } from '../rings/symmetry.js';
import { checkPositiveInt, GMRValueError, invalid, toTuple, warnOnce, checkNonNegativeInt } from '../utils/errors.js';
import type { ComputePath, DataFormat } from './attrs.js';
import { checkPaddingMode, checkPaddingSpec, type PaddingMode, type PaddingSpec } from './padding.js';
import { computeGMRConvInfo } from '../kernel/conv_info.js';
import { pathCost } from './path_choice.js';
import { canFoldRings } from '../kernel/composed/ring_filter.js';
import {
  GMR_CONV_1D,
  GMR_CONV_2D,
  GMR_CONV_3D,
  GMR_CONV_2D_TRANSPOSE,
  GMR_ACTIVATIONS,
  type GMRActivation,
  type GMRConvAttrs,
  type GMRForwardKernelName,
} from '../kernel/kernel_names.js';
import { runGMRKernel } from '../kernel/kernel_registry.js';
import { recordingGradients } from '../kernel/engine_internals.js';

export interface GMRConvWeights {
  /** Ring weights θ: [Cout, Cin/groups, n] ([Cin, Cout/groups, n] for the transposed op). */
  weight: tf.Tensor;
  /** log σ per ring [n]; null/undefined gives binary (SRE) rings. */
  logSigmas?: tf.Tensor | null;
  /** Ring masks [n, prod(kernelSize)]; built from the geometry options when absent. */
  indexMat?: tf.Tensor | null;
  bias?: tf.Tensor | null;
}

export interface GMRConvOptions {
  kernelSize: number | number[];
  strides?: number | number[];
  padding?: PaddingSpec;
  paddingMode?: PaddingMode;
  dilations?: number | number[];
  groups?: number;
  /** 'channelsLast' (default, tfjs) or 'channelsFirst' (PyTorch); 'NHWC'-style names are accepted too. */
  dataFormat?: DataFormat | string;
  forceCircular?: boolean;
  numRings?: number | null;
  clipSigma?: boolean;
  sigmaMin?: number;
  sigmaMax?: number;
  /** 'auto' (default) picks the cheaper path for this shape and backend. */
  path?: 'auto' | ComputePath;
  twoStageBasis?: 'smoothed' | 'binary';
  trainIndexMat?: boolean;
  /** Transposed conv only: extra size added to one side of the output. */
  outputPadding?: number | number[];
  /** Check θ, log σ and bias for NaN/Infinity (reads them back; default: on for cpu and wasm only). */
  checkFinite?: boolean;
  /**
   * Applied after the bias: 'linear' (default) or 'relu', as tf.fused.conv2d's `activation`. Outside a gradient tape
   * the kernel fuses it (the native kernels in their output pass); under one it is tf.relu after the convolution.
   */
  activation?: GMRActivation;
}

const OP_NAMES: Record<string, string> = { 1: 'gmrConv1d', 2: 'gmrConv2d', 3: 'gmrConv3d' };
const LAYOUT_NAMES: Record<number, [string, string]> = {
  1: ['[batch, length, channels]', '[batch, channels, length]'],
  2: ['[batch, height, width, channels]', '[batch, channels, height, width]'],
  3: ['[batch, depth, height, width, channels]', '[batch, channels, depth, height, width]'],
};

export function normalizeDataFormat(where: string, value: unknown): DataFormat {
  if (value == null || value === 'channelsLast' || value === 'NWC' || value === 'NHWC' || value === 'NDHWC')
    return 'channelsLast';
  if (value === 'channelsFirst' || value === 'NCW' || value === 'NCHW' || value === 'NCDHW') return 'channelsFirst';
  return invalid(where, 'dataFormat', value, "'channelsLast' or 'channelsFirst'");
}

function checkTensor(where: string, param: string, v: unknown): tf.Tensor {
  if (!(v instanceof tf.Tensor)) invalid(where, param, v, 'a tf.Tensor');
  return v as tf.Tensor;
}

function checkFiniteValues(where: string, param: string, t: tf.Tensor): void {
  const data = t.dataSync();
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new GMRValueError(
        `${where}: \`${param}\` must hold finite numbers, got ${data[i]} at flat index ${i} (shape [${t.shape.join(', ')}]).`,
      );
    }
  }
}

const indexMatCache = new Map<string, tf.Tensor2D>();
/** Ring masks as a kept tensor, shared by every call with the same geometry. */
export function indexMatFor(
  kernelSize: number[],
  forceCircular: boolean,
  numRings: number | null | undefined,
): tf.Tensor2D {
  const key = `${kernelSize.join('x')}|${forceCircular}|${numRings ?? ''}|${tf.getBackend()}`;
  let t = indexMatCache.get(key);
  if (!t || t.isDisposed) {
    const g = ringMasks(kernelSize, { forceCircular, numRings });
    t = markSymmetricRings(tf.keep(tf.tensor2d(g.masks, [g.numRings, g.masks.length / g.numRings])));
    indexMatCache.set(key, t);
  }
  return t;
}

interface Prepared {
  tensors: {
    x: tf.Tensor;
    weight: tf.Tensor;
    logSigmas: tf.Tensor | null;
    indexMat: tf.Tensor;
    bias: tf.Tensor | null;
  };
  attrs: GMRConvAttrs;
}

/** Checks every argument and resolves the attributes for this input. */
export function prepareGMRConv(
  rank: number,
  transposed: boolean,
  x: unknown,
  w: GMRConvWeights,
  o: GMRConvOptions,
): Prepared {
  const where = transposed ? 'gmrConvTranspose2d' : OP_NAMES[rank];
  if (o == null || typeof o !== 'object') invalid(where, 'options', o, 'an options object with at least kernelSize');
  if (w == null || typeof w !== 'object')
    invalid(where, 'weights', w, 'an object {weight, logSigmas?, indexMat?, bias?}');
  const dataFormat = normalizeDataFormat(where, o.dataFormat);
  const xt = checkTensor(where, 'x', x);
  if (xt.rank !== rank + 2) {
    invalid(
      where,
      'x',
      xt,
      `a rank-${rank + 2} tensor ${LAYOUT_NAMES[rank][dataFormat === 'channelsLast' ? 0 : 1]} (${dataFormat})`,
    );
  }
  if (xt.dtype !== 'float32') invalid(where, 'x.dtype', xt.dtype, "'float32'");
  const kernelSize = toTuple(where, 'kernelSize', o.kernelSize, rank);
  const strides = toTuple(where, 'strides', o.strides ?? 1, rank);
  const dilations = toTuple(where, 'dilations', o.dilations ?? 1, rank);
  const groups = checkPositiveInt(where, 'groups', o.groups ?? 1);
  const paddingMode = checkPaddingMode(where, o.paddingMode ?? 'zeros');
  const padding = checkPaddingSpec(where, o.padding ?? 'valid', rank);
  if (transposed && paddingMode !== 'zeros')
    invalid(where, 'paddingMode', paddingMode, "'zeros' for a transposed convolution");
  if (kernelSize.some((k) => k % 2 === 0)) {
    warnOnce(
      `${where}: even kernelSize [${kernelSize.join(', ')}] works like the reference (rings centred on tap k/2) but loses exact 90°/flip equivariance; use an odd size for an equivariant layer.`,
    );
  }
  const spatial = dataFormat === 'channelsLast' ? xt.shape.slice(1, rank + 1) : xt.shape.slice(2);
  const cin = (dataFormat === 'channelsLast' ? xt.shape[rank + 1] : xt.shape[1]) as number;

  const weight = checkTensor(where, 'weights.weight', w.weight);
  if (weight.rank !== 3)
    invalid(
      where,
      'weights.weight',
      weight,
      transposed
        ? 'a rank-3 tensor [inChannels, outChannels/groups, numRings]'
        : 'a rank-3 tensor [outChannels, inChannels/groups, numRings]',
    );
  const n = weight.shape[2] as number;
  const cout = transposed ? (weight.shape[1] as number) * groups : (weight.shape[0] as number);
  const cinExpected = transposed ? (weight.shape[0] as number) : (weight.shape[1] as number) * groups;
  if (cin % groups !== 0) invalid(where, 'groups', groups, `a divisor of the input channels (${cin})`);
  if (cin !== cinExpected) {
    invalid(
      where,
      'x',
      xt,
      `${cinExpected} input channels (weights.weight has shape [${weight.shape.join(', ')}] with groups=${groups}) on the channel axis of ${dataFormat} data, but it has ${cin}`,
    );
  }
  if (cout % groups !== 0) invalid(where, 'groups', groups, `a divisor of the output channels (${cout})`);

  // sizes first: a kernel larger than its (padded) input is refused before the ring masks (O(k²·rings)) are made
  const outputPaddingIn = transposed
    ? toTuple(where, 'outputPadding', o.outputPadding ?? 0, rank, checkNonNegativeInt)
    : kernelSize.map(() => 0);
  if (transposed) {
    outputPaddingIn.forEach((p, i) => {
      if (p >= Math.max(strides[i], dilations[i]))
        invalid(where, 'outputPadding', o.outputPadding, 'smaller than the stride or the dilation on each axis');
    });
  }
  const info = computeGMRConvInfo(xt.shape, weight.shape, {
    kernelSize,
    strides,
    dilations,
    padding,
    paddingMode,
    dataFormat,
    groups,
    transposed,
    outputPadding: outputPaddingIn,
  });
  const { pads, outputPadding, outSpatial } = info;
  if (paddingMode === 'reflect' || paddingMode === 'circular') {
    pads.forEach(([b, e], i) => {
      const limit = paddingMode === 'reflect' ? spatial[i] - 1 : spatial[i];
      if (b > limit || e > limit) {
        invalid(
          where,
          'padding',
          o.padding,
          `at most ${limit} on spatial axis ${i} (size ${spatial[i]}) with paddingMode '${paddingMode}', which resolves to [${b}, ${e}]`,
        );
      }
    });
  }
  if (outSpatial.some((s) => s < 1)) {
    invalid(
      where,
      'x',
      xt,
      `a spatial size large enough for kernelSize [${kernelSize}] with dilations [${dilations}] and padding ${JSON.stringify(pads)} (the output would be [${outSpatial.join(', ')}])`,
    );
  }
  let indexMat: tf.Tensor;
  if (w.indexMat != null) {
    indexMat = checkTensor(where, 'weights.indexMat', w.indexMat);
  } else {
    indexMat = indexMatFor(kernelSize, o.forceCircular ?? true, o.numRings ?? (n !== undefined ? n : null));
  }
  const taps = kernelSize.reduce((a, b) => a * b, 1);
  if (indexMat.rank !== 2 || indexMat.shape[0] !== n || indexMat.shape[1] !== taps) {
    invalid(
      where,
      'weights.indexMat',
      indexMat,
      `shape [${n}, ${taps}] (numRings from weights.weight, prod(kernelSize))`,
    );
  }
  const logSigmas = w.logSigmas == null ? null : checkTensor(where, 'weights.logSigmas', w.logSigmas);
  if (logSigmas && (logSigmas.rank !== 1 || logSigmas.shape[0] !== n))
    invalid(where, 'weights.logSigmas', logSigmas, `shape [${n}]`);
  const bias = w.bias == null ? null : checkTensor(where, 'weights.bias', w.bias);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== cout)) invalid(where, 'weights.bias', bias, `shape [${cout}]`);

  const backendName = tf.getBackend();
  if (o.checkFinite ?? (backendName === 'cpu' || backendName === 'wasm')) {
    checkFiniteValues(where, 'weights.weight', weight);
    if (logSigmas) checkFiniteValues(where, 'weights.logSigmas', logSigmas);
    if (bias) checkFiniteValues(where, 'weights.bias', bias);
  }

  const trainIndexMat = o.trainIndexMat ?? false;
  const symmetricRings =
    !trainIndexMat && kernelSize.every((k) => k % 2 === 1) && isSymmetricRings(indexMat, kernelSize);
  let path: ComputePath;
  const requested = o.path ?? 'auto';
  if (requested === 'auto') {
    const positions = xt.shape[0] * outSpatial.reduce((a, b) => a * b, 1);
    path = pathCost(
      backendName,
      kernelSize,
      n,
      cin,
      cout,
      groups,
      positions,
      symmetricRings && canFoldRings(kernelSize),
    ).path;
  } else if (requested === 'dense' || requested === 'two-stage') {
    path = requested;
  } else {
    return invalid(where, 'path', requested, "'auto', 'two-stage' or 'dense'");
  }
  const twoStageBasis = o.twoStageBasis ?? 'binary';
  if (twoStageBasis !== 'smoothed' && twoStageBasis !== 'binary')
    invalid(where, 'twoStageBasis', twoStageBasis, "'smoothed' or 'binary'");
  const clipSigma = o.clipSigma ?? true;
  const attrs: GMRConvAttrs = {
    rank,
    kernelSize,
    strides,
    dilations,
    pads,
    paddingMode,
    groups,
    dataFormat,
    clipSigma,
    sigmaMin: o.sigmaMin ?? 1e-2,
    sigmaMax: o.sigmaMax ?? 2 * n,
    path,
    twoStageBasis,
    transposed,
    outputPadding,
    hasBias: bias != null,
    hasLogSigmas: logSigmas != null,
    trainIndexMat,
    inputShape: xt.shape.slice(),
    symmetricRings,
  };
  const activation = o.activation ?? 'linear';
  if (!GMR_ACTIVATIONS.includes(activation)) invalid(where, 'activation', activation, "'linear' or 'relu'");
  if (activation !== 'linear') attrs.activation = activation;
  return { tensors: { x: xt, weight, logSigmas, indexMat, bias }, attrs };
}

function run(
  name: GMRForwardKernelName,
  rank: number,
  transposed: boolean,
  x: tf.Tensor,
  w: GMRConvWeights,
  o: GMRConvOptions,
): tf.Tensor {
  const { tensors, attrs } = prepareGMRConv(rank, transposed, x, w, o);
  // Under a tape the activation stays out of the kernel (the registered gradient knows none): tf.relu after it.
  if (attrs.activation === 'relu' && recordingGradients()) {
    const { activation: _relu, ...linear } = attrs;
    return tf.tidy(() => tf.relu(runGMRKernel(name, tensors, linear)));
  }
  return runGMRKernel(name, tensors, attrs);
}

/**
 * 1D GMR convolution. x: [batch, length, channels] (or channelsFirst), θ [outChannels, inChannels/groups, numRings].
 * Exact under the flip of the axis for odd kernel sizes (see the file comment).
 */
export function gmrConv1d(x: tf.Tensor, weights: GMRConvWeights, options: GMRConvOptions): tf.Tensor3D {
  return run(GMR_CONV_1D, 1, false, x, weights, options) as tf.Tensor3D;
}
/**
 * 2D GMR convolution. x: [batch, height, width, channels] (or channelsFirst), θ [outChannels, inChannels/groups,
 * numRings]. Exact for the 8 rotations/flips of D4 at odd kernel sizes, approximate at other angles (see the file comment).
 */
export function gmrConv2d(x: tf.Tensor, weights: GMRConvWeights, options: GMRConvOptions): tf.Tensor4D {
  return run(GMR_CONV_2D, 2, false, x, weights, options) as tf.Tensor4D;
}
/**
 * 3D GMR convolution. x: [batch, depth, height, width, channels] (or channelsFirst), θ [outChannels,
 * inChannels/groups, numRings]. Exact for the 48 symmetries of the cube at odd kernel sizes (see the file comment).
 */
export function gmrConv3d(x: tf.Tensor, weights: GMRConvWeights, options: GMRConvOptions): tf.Tensor5D {
  return run(GMR_CONV_3D, 3, false, x, weights, options) as tf.Tensor5D;
}
/**
 * 2D transposed GMR convolution (PyTorch ConvTranspose2d semantics; θ [inChannels, outChannels/groups, numRings];
 * 'same' gives input size × stride, as tfjs). Exact for D4 at odd kernel sizes when the crop of the full output is
 * symmetric (checkExactEquivariance reports an asymmetric one), approximate at other angles.
 */
export function gmrConvTranspose2d(x: tf.Tensor, weights: GMRConvWeights, options: GMRConvOptions): tf.Tensor4D {
  return run(GMR_CONV_2D_TRANSPOSE, 2, true, x, weights, options) as tf.Tensor4D;
}
