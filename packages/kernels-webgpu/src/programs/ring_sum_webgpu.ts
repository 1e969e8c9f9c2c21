/**
 * Binary ring sums: R[b, oy, ox, ci, l] = Σ_t M[l, t] · x(b, oy·s − pad + t·d, ci), read through the padding mode.
 * One thread per (b, oy, ox, ci) computes all n rings, reading each tap of x once (tap → ring from TapTableProgram;
 * taps in several rings fall back to a loop over the masks). With symmetric rings (attrs.symmetricRings, odd
 * kernel) the four taps (±i, ±j) are folded: one table lookup and one multiply per four reads. Output flat,
 * layout [B, Hout, Wout, Cin, n].
 */
import type { Conv2DGeometry } from './program_geometry.js';
import { FlatProgram } from './program_base.js';
import { TAP_RING } from './tap_table_webgpu.js';

const GENERAL = `        for (var ty = 0; ty < uniforms.kh; ty++) {
          let iy = mapCoord(oy * uniforms.sh - uniforms.padTop + ty * uniforms.dh, uniforms.inH);
          if (iy < 0) { continue; }
          for (var tx = 0; tx < uniforms.kw; tx++) {
            let t = ty * uniforms.kw + tx;
            let ring = ${TAP_RING('t')};
            if (ring == -1) { continue; }
            let ix = mapCoord(ox * uniforms.sw - uniforms.padLeft + tx * uniforms.dw, uniforms.inW);
            if (ix < 0) { continue; }
            let v = x[xIndex(b, iy, ix, ci)];
            if (ring >= 0) {
              acc[ring] += table[2 * t + 1] * v;
            } else {
              for (var l = 0; l < n; l++) { acc[l] += masks[l * K + t] * v; }
            }
          }
        }
`;
const SYM = `        // Folded: the four taps (±ty, ±tx) about the centre share a ring and a mask value.
        for (var ty = 0; ty <= (uniforms.kh - 1) / 2; ty++) {
          let ty2 = uniforms.kh - 1 - ty;
          let iy1 = mapCoord(oy * uniforms.sh - uniforms.padTop + ty * uniforms.dh, uniforms.inH);
          var iy2 = -1;
          if (ty2 != ty) { iy2 = mapCoord(oy * uniforms.sh - uniforms.padTop + ty2 * uniforms.dh, uniforms.inH); }
          if (iy1 < 0 && iy2 < 0) { continue; }
          for (var tx = 0; tx <= (uniforms.kw - 1) / 2; tx++) {
            let t = ty * uniforms.kw + tx;
            let ring = ${TAP_RING('t')};
            if (ring == -1) { continue; }
            let tx2 = uniforms.kw - 1 - tx;
            let ix1 = mapCoord(ox * uniforms.sw - uniforms.padLeft + tx * uniforms.dw, uniforms.inW);
            var ix2 = -1;
            if (tx2 != tx) { ix2 = mapCoord(ox * uniforms.sw - uniforms.padLeft + tx2 * uniforms.dw, uniforms.inW); }
            var v = 0.0;
            if (iy1 >= 0) {
              if (ix1 >= 0) { v += x[xIndex(b, iy1, ix1, ci)]; }
              if (ix2 >= 0) { v += x[xIndex(b, iy1, ix2, ci)]; }
            }
            if (iy2 >= 0) {
              if (ix1 >= 0) { v += x[xIndex(b, iy2, ix1, ci)]; }
              if (ix2 >= 0) { v += x[xIndex(b, iy2, ix2, ci)]; }
            }
            if (ring >= 0) {
              acc[ring] += table[2 * t + 1] * v;
            } else {
              for (var l = 0; l < n; l++) { acc[l] += masks[l * K + t] * v; }
            }
          }
        }
`;

export class RingSumProgram extends FlatProgram {
  variableNames = ['x', 'masks', 'table'];

  /** symmetric: masks even along both axes, odd kernel (attrs.symmetricRings): the taps are folded by four. */
  constructor(
    g: Conv2DGeometry,
    private symmetric = false,
  ) {
    super(g, [g.batch * g.outH * g.outW * g.cin * g.numRings], `ring_sum_n${g.numRings}_${symmetric ? 'sym' : 'gen'}`);
    const threads = g.batch * g.outH * g.outW * g.cin;
    this.dispatch = [Math.ceil(threads / this.workgroupSize[0]), 1, 1];
  }

  getUserCode(): string {
    const n = this.g.numRings;
    return `
      ${this.helpers()}
      ${'fn main(index : i32)'} {
        let n = ${n};
        if (index >= uniforms.size / n) { return; }
        var r = index;
        let ci = r % uniforms.cin; r = r / uniforms.cin;
        let ox = r % uniforms.outW; r = r / uniforms.outW;
        let oy = r % uniforms.outH;
        let b = r / uniforms.outH;
        let K = uniforms.kh * uniforms.kw;
        var acc : array<f32, ${n}>;
        for (var l = 0; l < n; l++) { acc[l] = 0.0; }
${this.symmetric ? SYM : GENERAL}
        for (var l = 0; l < n; l++) { result[index * n + l] = acc[l]; }
      }
    `;
  }
}
