/** The op contract shared by core's composed implementation and kernel packages. */
import type { PadPairs, PaddingMode } from './padding.js';

export type ComputePath = 'two-stage' | 'dense';
export type DataFormat = 'channelsLast' | 'channelsFirst';

/** Tensor inputs of every GMR kernel (names as registered with tfjs). */
export interface GMRConvInputs {
  /** Input, [B, ...spatial, C] (channelsLast) or [B, C, ...spatial]. */
  x: unknown;
  /** Ring weights θ: [Cout, Cin/groups, n] (transposed conv: [Cin, Cout/groups, n], as the reference). */
  weight: unknown;
  /** log σ per ring, [n]; absent for binary (SRE) rings. */
  logSigmas?: unknown;
  /** Ring masks M, [n, prod(kernelSize)]. */
  indexMat: unknown;
  /** [Cout]; absent without bias. */
  bias?: unknown;
}

/** Fully resolved attributes (every default applied, padding resolved for the input size). */
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
}
