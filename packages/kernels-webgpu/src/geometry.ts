/** Shapes and coverage shared by the GMRConv2D kernels. */
import type { GMRConvAttrs } from '@gmr-conv/core';

export const PADDING_MODE_CODE: Record<string, number> = { zeros: 0, reflect: 1, replicate: 2, circular: 3 };

/** Everything a program needs about one 2D GMR convolution (x layout given by attrs.dataFormat). */
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
}

/** Why this call is not covered by the fused kernels (null when it is). */
export function unsupportedReason(a: GMRConvAttrs): string | null {
  if (a.rank !== 2 || a.kernelSize.length !== 2) return `rank ${a.rank}`;
  if (a.transposed) return 'transposed';
  if (!(a.paddingMode in PADDING_MODE_CODE)) return `paddingMode ${a.paddingMode}`;
  return null;
}

export function geometry(a: GMRConvAttrs, xShape: number[], weightShape: number[], numRings: number, outHW?: [number, number]): Conv2DGeometry {
  const cf = a.dataFormat === 'channelsFirst';
  const [batch, d1, d2, d3] = xShape as [number, number, number, number];
  const inH = cf ? d2 : d1;
  const inW = cf ? d3 : d2;
  const cin = cf ? d1 : d3;
  const [kh, kw] = a.kernelSize as [number, number];
  const [sh, sw] = a.strides as [number, number];
  const [dh, dw] = a.dilations as [number, number];
  const [[padTop, padBottom], [padLeft, padRight]] = a.pads as [[number, number], [number, number]];
  const outH = outHW ? outHW[0] : Math.floor((inH + padTop + padBottom - dh * (kh - 1) - 1) / sh) + 1;
  const outW = outHW ? outHW[1] : Math.floor((inW + padLeft + padRight - dw * (kw - 1) - 1) / sw) + 1;
  const cout = weightShape[0]!;
  const cinG = weightShape[1]!;
  const groups = a.groups;
  return {
    batch, inH, inW, cin, outH, outW, cout, cinG, coutG: cout / groups, groups, numRings, kh, kw, sh, sw, dh, dw,
    padTop, padBottom, padLeft, padRight, channelsFirst: cf, paddingMode: PADDING_MODE_CODE[a.paddingMode]!,
  };
}

/** Uniform declarations for the geometry (all i32), in the order of geometryUniformData. */
export const GEOMETRY_UNIFORMS =
  'batch : i32, inH : i32, inW : i32, cin : i32, outH : i32, outW : i32, cout : i32, cinG : i32, coutG : i32, ' +
  'numRings : i32, kh : i32, kw : i32, sh : i32, sw : i32, dh : i32, dw : i32, padTop : i32, padBottom : i32, padLeft : i32, padRight : i32,';

export function geometryUniformData(g: Conv2DGeometry): Array<{ type: string; data: number[] }> {
  return [
    g.batch, g.inH, g.inW, g.cin, g.outH, g.outW, g.cout, g.cinG, g.coutG,
    g.numRings, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padBottom, g.padLeft, g.padRight,
  ].map((v) => ({ type: 'int32', data: [v] }));
}

/** WGSL: maps a padded coordinate p (may be < 0 or ≥ size) to the input coordinate it reads, or -1 (zero). */
export function mapCoordSnippet(paddingMode: number): string {
  const body = [
    // zeros
    `if (p < 0 || p >= size) { return -1; } return p;`,
    // reflect (no edge repeat, as torch)
    `var q = p; if (q < 0) { q = -q; } if (q >= size) { q = 2 * (size - 1) - q; } if (q < 0 || q >= size) { return -1; } return q;`,
    // replicate
    `return clamp(p, 0, size - 1);`,
    // circular
    `return ((p % size) + size) % size;`,
  ][paddingMode];
  return `fn mapCoord(p : i32, size : i32) -> i32 { ${body} }`;
}
