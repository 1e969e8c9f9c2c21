/**
 * 3D binary ring sums: R[b, oz, oy, ox, ci, l] = Σ_t M[l, t] · x(b, o·s − pad + t·d, ci) over the k_d·k_h·k_w taps,
 * read through the padding mode. One thread per (b, oz, oy, ox, ci) computes all n rings, reading each tap of x once
 * (tap → ring from TapTableProgram; taps in several rings loop over the masks). Output flat, layout
 * [B, Dout, Hout, Wout, Cin, n] (the ring matrix [B·positions, Cin·n] of the mixing).
 */
import { GEOMETRY_3D_UNIFORMS, type Conv2DGeometry } from './program_geometry.js';
import { FlatProgram } from './program_base.js';
import { TAP_RING } from './tap_table_webgpu.js';

/** WGSL index of x at (b, iz, iy, ix, c) in the layout of attrs (3D). */
export function xIndex3D(channelsFirst: boolean): string {
  return `fn xIndex3(b : i32, iz : i32, iy : i32, ix : i32, c : i32) -> i32 {
        ${
          channelsFirst
            ? 'return (((b * uniforms.cin + c) * uniforms.inD + iz) * uniforms.inH + iy) * uniforms.inW + ix;'
            : 'return (((b * uniforms.inD + iz) * uniforms.inH + iy) * uniforms.inW + ix) * uniforms.cin + c;'
        }
      }`;
}

export class RingSum3DProgram extends FlatProgram {
  variableNames = ['x', 'masks', 'table'];
  override uniforms = GEOMETRY_3D_UNIFORMS;

  constructor(g: Conv2DGeometry) {
    super(g, [g.batch * g.outD * g.outH * g.outW * g.cin * g.numRings], `ring_sum3d_n${g.numRings}`);
    const threads = g.batch * g.outD * g.outH * g.outW * g.cin;
    this.dispatch = [Math.ceil(threads / this.workgroupSize[0]), 1, 1];
  }

  getUserCode(): string {
    const n = this.g.numRings;
    return `
      ${this.helpers()}
      ${xIndex3D(this.g.channelsFirst)}
      ${'fn main(index : i32)'} {
        let n = ${n};
        if (index >= uniforms.size / n) { return; }
        var r = index;
        let ci = r % uniforms.cin; r = r / uniforms.cin;
        let ox = r % uniforms.outW; r = r / uniforms.outW;
        let oy = r % uniforms.outH; r = r / uniforms.outH;
        let oz = r % uniforms.outD;
        let b = r / uniforms.outD;
        let K = uniforms.kd * uniforms.kh * uniforms.kw;
        var acc : array<f32, ${n}>;
        for (var l = 0; l < n; l++) { acc[l] = 0.0; }
        for (var tz = 0; tz < uniforms.kd; tz++) {
          let iz = mapCoord(oz * uniforms.sd - uniforms.padFront + tz * uniforms.dd, uniforms.inD);
          if (iz < 0) { continue; }
          for (var ty = 0; ty < uniforms.kh; ty++) {
            let iy = mapCoord(oy * uniforms.sh - uniforms.padTop + ty * uniforms.dh, uniforms.inH);
            if (iy < 0) { continue; }
            for (var tx = 0; tx < uniforms.kw; tx++) {
              let t = (tz * uniforms.kh + ty) * uniforms.kw + tx;
              let ring = ${TAP_RING('t')};
              if (ring == -1) { continue; }
              let ix = mapCoord(ox * uniforms.sw - uniforms.padLeft + tx * uniforms.dw, uniforms.inW);
              if (ix < 0) { continue; }
              let v = x[xIndex3(b, iz, iy, ix, ci)];
              if (ring >= 0) {
                acc[ring] += table[2 * t + 1] * v;
              } else {
                for (var l = 0; l < n; l++) { acc[l] += masks[l * K + t] * v; }
              }
            }
          }
        }
        for (var l = 0; l < n; l++) { result[index * n + l] = acc[l]; }
      }
    `;
  }
}
