/**
 * 3D input gradient as a ring-sum gather (no atomics), in the layout of x:
 * dx[b, i, ci] = Σ_{p : map(p) = i} Σ_{t, l} M[l, t] · D[b, (p + pad − t·d) / s, ci, l], over the padded positions p
 * (per axis: p = i, plus the padding positions that the padding mode maps to i) and the taps t whose output position
 * o = (p + pad − t·d) / s is whole and inside the output. D: [B, Dout, Hout, Wout, Cin, n]. Any masks.
 */
import { PADDING_MODE_CODES } from '@gmr-conv/core/kernel';
import { GEOMETRY_3D_UNIFORMS, type Conv2DGeometry } from './program_geometry.js';
import { FlatProgram } from './program_base.js';
import { TAP_RING } from './tap_table_webgpu.js';

export class RingScatter3DProgram extends FlatProgram {
  variableNames = ['d', 'masks', 'table'];
  override uniforms = GEOMETRY_3D_UNIFORMS;

  constructor(g: Conv2DGeometry, xShape: number[]) {
    super(g, xShape, 'ring_scatter3d');
  }

  getUserCode(): string {
    const cf = this.g.channelsFirst;
    const zeros = this.g.paddingMode === PADDING_MODE_CODES.zeros;
    return `
      ${this.helpers()}
      /** Padded coordinate of candidate c (c = -1: p = i itself; else the c-th padding position), or a sentinel. */
      fn candidate(c : i32, i : i32, padBefore : i32, size : i32) -> i32 {
        if (c < 0) { return i; }
        var p = 0;
        if (c < padBefore) { p = c - padBefore; } else { p = size + (c - padBefore); }
        if (mapCoord(p, size) != i) { return -2147483647; }
        return p;
      }
      /** Output coordinate that reads padded coordinate p through tap t (−1 if none). */
      fn outAt(p : i32, pad : i32, t : i32, dil : i32, s : i32, size : i32) -> i32 {
        let q = p + pad - t * dil;
        if (q < 0 || q % s != 0) { return -1; }
        let o = q / s;
        if (o >= size) { return -1; }
        return o;
      }
      /** Sum over taps and rings of D for the padded position (pz, py, px). */
      fn gatherAt(b : i32, pz : i32, py : i32, px : i32, ci : i32) -> f32 {
        let n = uniforms.numRings;
        let K = uniforms.kd * uniforms.kh * uniforms.kw;
        var acc = 0.0;
        for (var tz = 0; tz < uniforms.kd; tz++) {
          let oz = outAt(pz, uniforms.padFront, tz, uniforms.dd, uniforms.sd, uniforms.outD);
          if (oz < 0) { continue; }
          for (var ty = 0; ty < uniforms.kh; ty++) {
            let oy = outAt(py, uniforms.padTop, ty, uniforms.dh, uniforms.sh, uniforms.outH);
            if (oy < 0) { continue; }
            for (var tx = 0; tx < uniforms.kw; tx++) {
              let ox = outAt(px, uniforms.padLeft, tx, uniforms.dw, uniforms.sw, uniforms.outW);
              if (ox < 0) { continue; }
              let t = (tz * uniforms.kh + ty) * uniforms.kw + tx;
              let ring = ${TAP_RING('t')};
              let dOff = ((((b * uniforms.outD + oz) * uniforms.outH + oy) * uniforms.outW + ox) * uniforms.cin + ci) * n;
              if (ring >= 0) {
                acc += table[2 * t + 1] * d[dOff + ring];
              } else if (ring == -2) {
                for (var l = 0; l < n; l++) { acc += masks[l * K + t] * d[dOff + l]; }
              }
            }
          }
        }
        return acc;
      }
      ${'fn main(index : i32)'} {
        if (index >= uniforms.size) { return; }
        ${
          cf
            ? `let col = index % uniforms.inW;
        let row = (index / uniforms.inW) % uniforms.inH;
        let dep = (index / (uniforms.inW * uniforms.inH)) % uniforms.inD;
        let chan = (index / (uniforms.inW * uniforms.inH * uniforms.inD)) % uniforms.cin;
        let b = index / (uniforms.inW * uniforms.inH * uniforms.inD * uniforms.cin);`
            : `let chan = index % uniforms.cin;
        let col = (index / uniforms.cin) % uniforms.inW;
        let row = (index / (uniforms.cin * uniforms.inW)) % uniforms.inH;
        let dep = (index / (uniforms.cin * uniforms.inW * uniforms.inH)) % uniforms.inD;
        let b = index / (uniforms.cin * uniforms.inW * uniforms.inH * uniforms.inD);`
        }
        let nz = ${zeros ? '0' : 'uniforms.padFront + uniforms.padBack'};
        let ny = ${zeros ? '0' : 'uniforms.padTop + uniforms.padBottom'};
        let nx = ${zeros ? '0' : 'uniforms.padLeft + uniforms.padRight'};
        var acc = 0.0;
        for (var cz = -1; cz < nz; cz++) {
          let pz = candidate(cz, dep, uniforms.padFront, uniforms.inD);
          if (pz == -2147483647) { continue; }
          for (var cy = -1; cy < ny; cy++) {
            let py = candidate(cy, row, uniforms.padTop, uniforms.inH);
            if (py == -2147483647) { continue; }
            for (var cx = -1; cx < nx; cx++) {
              let px = candidate(cx, col, uniforms.padLeft, uniforms.inW);
              if (px == -2147483647) { continue; }
              acc += gatherAt(b, pz, py, px, chan);
            }
          }
        }
        setOutputAtIndex(index, acc);
      }
    `;
  }
}
