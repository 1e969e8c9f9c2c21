/**
 * The geometry of a GMR convolution, computed in one place for the op, the layers, the exactness checker and
 * every kernel package (tfjs's backend_util.computeConv2DInfo plays this part for tf.conv2d): output size, the
 * padding resolved per axis, the crop of a transposed convolution, and the padding-mode codes that the native
 * (kernels-cuda native/gmr_common.h, enum PadMode) and WGSL (kernels-webgpu mapCoord) code switch on.
 */
import type { DataFormat } from '../ops/attrs.js';

export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';
export const PADDING_MODES: readonly PaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];
/**
 * Integer code of each padding mode in compiled kernels. The native header's PadMode enum must agree (a core test
 * parses gmr_common.h), because the attrs cross the language boundary as these numbers.
 */
export const PADDING_MODE_CODES: Readonly<Record<PaddingMode, number>> = {
  zeros: 0,
  reflect: 1,
  replicate: 2,
  circular: 3,
};
/** 'same', 'valid', one number for every side, one number per axis, or [before, after] per axis. */
export type PaddingSpec = 'same' | 'valid' | number | number[] | Array<[number, number]>;
export type PadPairs = Array<[number, number]>;

/** Output length of a (forward) convolution along one axis. */
export function convOutLength(len: number, k: number, s: number, d: number, before: number, after: number): number {
  return Math.floor((len + before + after - d * (k - 1) - 1) / s) + 1;
}

/** tfjs semantics for 'same' (output ceil(L/s), the odd unit of padding after); equals PyTorch's for stride 1. */
export function samePads(len: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(len / s);
  const total = Math.max((out - 1) * s + d * (k - 1) + 1 - len, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** The (before, after) amounts a padding spec gives on axis `axis` (the spec must already be valid). */
export function specPads(padding: PaddingSpec, axis: number): [number, number] {
  if (padding === 'same' || padding === 'valid') return [0, 0];
  if (typeof padding === 'number') return [padding, padding];
  const e = (padding as Array<number | [number, number]>)[axis];
  return typeof e === 'number' ? [e, e] : [e[0], e[1]];
}

/** One spatial axis of a GMR convolution. */
export interface GMRConvAxis {
  /** Input length. */
  inLength: number;
  /** Output length (may be < 1: the caller decides how to refuse it). */
  outLength: number;
  /**
   * Forward conv: padding before and after (zeros or the padding mode). Transposed conv: the amounts cropped from
   * the start and the end of its full output (L−1)·s + d·(k−1) + 1, before outputPadding is added at the end.
   */
  pads: [number, number];
  /** Transposed conv only: extra length at the end of the output (0 for a forward conv). */
  outputPadding: number;
}

/**
 * Geometry of one axis. `padding` is a resolved (before, after) pair, or 'same' / 'valid' resolved here for this
 * length (tfjs semantics: a forward 'same' keeps ceil(L/s); a transposed 'same' gives L·s).
 */
export function gmrConvAxis(
  len: number,
  k: number,
  s: number,
  d: number,
  padding: 'same' | 'valid' | [number, number],
  transposed = false,
  outputPadding = 0,
): GMRConvAxis {
  const extent = d * (k - 1) + 1;
  if (!transposed) {
    const pads =
      padding === 'same' ? samePads(len, k, s, d) : padding === 'valid' ? ([0, 0] as [number, number]) : padding;
    return { inLength: len, outLength: convOutLength(len, k, s, d, pads[0], pads[1]), pads, outputPadding: 0 };
  }
  const full = (len - 1) * s + extent;
  let pads: [number, number];
  let extra = outputPadding;
  if (padding === 'same') {
    // Output L·s: crop the excess, split floor/ceil; when the full output is shorter, grow it at the end.
    const crop = full - len * s;
    const before = Math.max(Math.floor(crop / 2), 0);
    pads = crop < 0 ? [0, 0] : [before, crop - before];
    extra = Math.max(len * s - (full - pads[0] - pads[1]), 0);
  } else {
    pads = padding === 'valid' ? [0, 0] : padding;
  }
  return { inLength: len, outLength: full - pads[0] - pads[1] + extra, pads, outputPadding: extra };
}

/** What computeGMRConvInfo needs besides the shapes; GMRConvAttrs (resolved pads) and the op's options both fit. */
export interface GMRConvGeometryArgs {
  kernelSize: number[];
  strides: number[];
  dilations: number[];
  /** Resolved pads per axis (attrs); when absent, `padding` is resolved for the input size. */
  pads?: PadPairs;
  padding?: PaddingSpec;
  paddingMode?: PaddingMode;
  dataFormat: DataFormat;
  groups: number;
  transposed?: boolean;
  outputPadding?: number[];
}

/** Everything a kernel needs to know about the shapes of one GMR convolution. */
export interface GMRConvInfo {
  /** Spatial rank (1, 2 or 3). */
  rank: number;
  batch: number;
  inChannels: number;
  outChannels: number;
  groups: number;
  inChannelsPerGroup: number;
  outChannelsPerGroup: number;
  numRings: number;
  /** Spatial sizes of x and y. */
  inSpatial: number[];
  outSpatial: number[];
  kernelSize: number[];
  strides: number[];
  dilations: number[];
  /** Per axis (before, after): padding for a forward conv, crop of the full output for a transposed one. */
  pads: PadPairs;
  paddingMode: PaddingMode;
  /** PADDING_MODE_CODES[paddingMode]: the number native and WGSL kernels switch on. */
  paddingModeCode: number;
  /** Transposed conv: extra output length per axis (zeros for a forward conv). */
  outputPadding: number[];
  transposed: boolean;
  dataFormat: DataFormat;
  channelsFirst: boolean;
  /** Full shape of y in x's layout. */
  outShape: number[];
}

/** Spatial sizes of a [batch, …, channels] or [batch, channels, …] shape. */
export function spatialOf(shape: readonly number[], dataFormat: DataFormat): number[] {
  return dataFormat === 'channelsFirst' ? shape.slice(2) : shape.slice(1, shape.length - 1);
}

/** Channels of a [batch, …, channels] or [batch, channels, …] shape. */
export function channelsOf(shape: readonly number[], dataFormat: DataFormat): number {
  return (dataFormat === 'channelsFirst' ? shape[1] : shape[shape.length - 1]) as number;
}

/**
 * The geometry of a GMR convolution of x (shape `xShape`, layout `g.dataFormat`) with ring weights of shape
 * `weightShape` ([Cout, Cin/groups, n]; transposed: [Cin, Cout/groups, n]). Sizes are not checked here: the op
 * checks its arguments (and refuses an output smaller than 1) before any kernel runs.
 */
export function computeGMRConvInfo(
  xShape: readonly number[],
  weightShape: readonly number[],
  g: GMRConvGeometryArgs,
): GMRConvInfo {
  const rank = g.kernelSize.length;
  const transposed = g.transposed ?? false;
  const inSpatial = spatialOf(xShape, g.dataFormat);
  const inChannels = channelsOf(xShape, g.dataFormat);
  const axes = inSpatial.map((len, i) => {
    const padding = g.pads
      ? g.pads[i]
      : g.padding === 'same' || g.padding === 'valid' || g.padding == null
        ? (g.padding ?? 'valid')
        : specPads(g.padding, i);
    // With resolved pads a transposed conv keeps the outputPadding it resolved to ('same' included).
    return gmrConvAxis(
      len,
      g.kernelSize[i],
      g.strides[i],
      g.dilations[i],
      padding,
      transposed,
      g.outputPadding?.[i] ?? 0,
    );
  });
  const outChannels = transposed ? weightShape[1] * g.groups : weightShape[0];
  const outSpatial = axes.map((a) => a.outLength);
  const channelsFirst = g.dataFormat === 'channelsFirst';
  const batch = xShape[0];
  const paddingMode = g.paddingMode ?? 'zeros';
  return {
    rank,
    batch,
    inChannels,
    outChannels,
    groups: g.groups,
    inChannelsPerGroup: inChannels / g.groups,
    outChannelsPerGroup: outChannels / g.groups,
    numRings: weightShape[2],
    inSpatial,
    outSpatial,
    kernelSize: g.kernelSize.slice(),
    strides: g.strides.slice(),
    dilations: g.dilations.slice(),
    pads: axes.map((a) => a.pads),
    paddingMode,
    paddingModeCode: PADDING_MODE_CODES[paddingMode],
    outputPadding: axes.map((a) => a.outputPadding),
    transposed,
    dataFormat: g.dataFormat,
    channelsFirst,
    outShape: channelsFirst ? [batch, outChannels, ...outSpatial] : [batch, ...outSpatial, outChannels],
  };
}
