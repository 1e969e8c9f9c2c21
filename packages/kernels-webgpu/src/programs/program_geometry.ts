/**
 * The geometry of one GMR convolution as the WGSL programs read it: core's computeGMRConvInfo (the one geometry of
 * the op and every kernel) laid out on three axes (depth, height, width) and passed as i32 uniforms, plus the WGSL
 * coordinate mapping of each padding mode (by core's PADDING_MODE_CODES).
 */
import { invalid } from '@gmr-conv/core';
import { PADDING_MODE_CODES, PADDING_MODES, type GMRConvInfo, type PaddingMode } from '@gmr-conv/core/kernel';

/**
 * Everything a program needs about one GMR convolution (x layout given by attrs.dataFormat). Spatial axes are
 * (depth, height, width); a 2D conv has depth 1 (inD = outD = kd = sd = dd = 1, no depth padding), a 1D conv also
 * height 1, so the 2D programs run 1D convs unchanged.
 */
export interface Conv2DGeometry {
  batch: number;
  inH: number;
  inW: number;
  cin: number;
  outH: number;
  outW: number;
  cout: number;
  cinG: number;
  coutG: number;
  groups: number;
  numRings: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  channelsFirst: boolean;
  paddingMode: number;
  /** Spatial rank of the op (1, 2 or 3). */
  rank: number;
  inD: number;
  outD: number;
  kd: number;
  sd: number;
  dd: number;
  padFront: number;
  padBack: number;
}

/** Left-pads a per-axis list to the three axes (depth, height, width). */
function toThree<T>(v: T[], fill: T): [T, T, T] {
  return [...new Array<T>(3 - v.length).fill(fill), ...v] as [T, T, T];
}

/** The program geometry of a call, from core's computeGMRConvInfo. */
export function programGeometry(info: GMRConvInfo): Conv2DGeometry {
  const [inD, inH, inW] = toThree(info.inSpatial, 1);
  const [outD, outH, outW] = toThree(info.outSpatial, 1);
  const [kd, kh, kw] = toThree(info.kernelSize, 1);
  const [sd, sh, sw] = toThree(info.strides, 1);
  const [dd, dh, dw] = toThree(info.dilations, 1);
  const [[padFront, padBack], [padTop, padBottom], [padLeft, padRight]] = toThree(info.pads, [0, 0] as [
    number,
    number,
  ]);
  return {
    batch: info.batch,
    inH,
    inW,
    cin: info.inChannels,
    outH,
    outW,
    cout: info.outChannels,
    cinG: info.inChannelsPerGroup,
    coutG: info.outChannelsPerGroup,
    groups: info.groups,
    numRings: info.numRings,
    kh,
    kw,
    sh,
    sw,
    dh,
    dw,
    padTop,
    padBottom,
    padLeft,
    padRight,
    channelsFirst: info.channelsFirst,
    paddingMode: info.paddingModeCode,
    rank: info.rank,
    inD,
    outD,
    kd,
    sd,
    dd,
    padFront,
    padBack,
  };
}

/**
 * The geometry seen by the programs that do not look at spatial neighbours (tap table, channel mixing, mixing
 * gradient): depth folded into height (inH·inD rows, kd·kh kernel rows). The same object for 1D and 2D.
 */
export function planar(g: Conv2DGeometry): Conv2DGeometry {
  if (g.rank < 3) return g;
  return {
    ...g,
    inH: g.inD * g.inH,
    outH: g.outD * g.outH,
    kh: g.kd * g.kh,
    inD: 1,
    outD: 1,
    kd: 1,
    sd: 1,
    dd: 1,
    padFront: 0,
    padBack: 0,
  };
}

/** Output positions per image (outD·outH·outW). */
export const positions = (g: Conv2DGeometry) => g.outD * g.outH * g.outW;

/** Uniform declarations for the geometry (all i32), in the order of geometryUniformData. */
export const GEOMETRY_UNIFORMS =
  'batch : i32, inH : i32, inW : i32, cin : i32, outH : i32, outW : i32, cout : i32, cinG : i32, coutG : i32, ' +
  'numRings : i32, kh : i32, kw : i32, sh : i32, sw : i32, dh : i32, dw : i32, padTop : i32, padBottom : i32, padLeft : i32, padRight : i32,';

export function geometryUniformData(g: Conv2DGeometry): Array<{ type: string; data: number[] }> {
  return [
    g.batch,
    g.inH,
    g.inW,
    g.cin,
    g.outH,
    g.outW,
    g.cout,
    g.cinG,
    g.coutG,
    g.numRings,
    g.kh,
    g.kw,
    g.sh,
    g.sw,
    g.dh,
    g.dw,
    g.padTop,
    g.padBottom,
    g.padLeft,
    g.padRight,
  ].map((v) => ({ type: 'int32', data: [v] }));
}

/** Uniforms of the 3D programs: the 2D ones, then the depth axis. */
export const GEOMETRY_3D_UNIFORMS =
  GEOMETRY_UNIFORMS + ' inD : i32, outD : i32, kd : i32, sd : i32, dd : i32, padFront : i32, padBack : i32,';

export function geometry3DUniformData(g: Conv2DGeometry): Array<{ type: string; data: number[] }> {
  return [
    ...geometryUniformData(g),
    ...[g.inD, g.outD, g.kd, g.sd, g.dd, g.padFront, g.padBack].map((v) => ({ type: 'int32', data: [v] })),
  ];
}

/** WGSL body of mapCoord for each padding mode. */
const MAP_COORD: Record<PaddingMode, string> = {
  zeros: `if (p < 0 || p >= size) { return -1; } return p;`,
  // no edge repeat, as torch
  reflect: `var q = p; if (q < 0) { q = -q; } if (q >= size) { q = 2 * (size - 1) - q; } if (q < 0 || q >= size) { return -1; } return q;`,
  replicate: `return clamp(p, 0, size - 1);`,
  circular: `return ((p % size) + size) % size;`,
};

/** WGSL: maps a padded coordinate p (may be < 0 or ≥ size) to the input coordinate it reads, or -1 (zero). */
export function mapCoordSnippet(paddingModeCode: number): string {
  const mode = PADDING_MODES.find((m) => PADDING_MODE_CODES[m] === paddingModeCode);
  if (mode === undefined)
    invalid(
      '@gmr-conv/kernels-webgpu mapCoordSnippet',
      'paddingModeCode',
      paddingModeCode,
      `one of ${Object.values(PADDING_MODE_CODES).join(', ')}`,
    );
  return `fn mapCoord(p : i32, size : i32) -> i32 { ${MAP_COORD[mode!]} }`;
}
