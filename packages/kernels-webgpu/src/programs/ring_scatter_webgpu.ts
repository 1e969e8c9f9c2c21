/**
 * Input gradient as a ring sum: dx[b, i, ci] = Σ_{p : map(p) = i} Σ_{t, l} M[l, t] · D[b, (p + pad − t·d) / s, ci, l]
 * over the padded positions p that read input position i (p = i, plus the padding positions that the padding mode
 * maps to i), and the output positions o with o·s − pad + t·d = p. A gather (no atomics), in the layout of x.
 * Works for any masks (no symmetry assumed).
 */
import { PADDING_MODE_CODES } from '@gmr-conv/core/kernel';
import type { Conv2DGeometry } from './program_geometry.js';
import { FlatProgram } from './program_base.js';
import { TAP_RING } from './tap_table_webgpu.js';

const GENERAL_GATHER = `      /** Sum over taps and rings of D for padded position (py, px). */
      fn gatherAt(b : i32, py : i32, px : i32, ci : i32) -> f32 {
        let n = uniforms.numRings;
        let K = uniforms.kh * uniforms.kw;
        var acc = 0.0;
        for (var ty = 0; ty < uniforms.kh; ty++) {
          let ny = py + uniforms.padTop - ty * uniforms.dh;
          if (ny < 0 || ny % uniforms.sh != 0) { continue; }
          let oy = ny / uniforms.sh;
          if (oy >= uniforms.outH) { continue; }
          for (var tx = 0; tx < uniforms.kw; tx++) {
            let nx = px + uniforms.padLeft - tx * uniforms.dw;
            if (nx < 0 || nx % uniforms.sw != 0) { continue; }
            let ox = nx / uniforms.sw;
            if (ox >= uniforms.outW) { continue; }
            let dOff = (((b * uniforms.outH + oy) * uniforms.outW + ox) * uniforms.cin + ci) * n;
            let t = ty * uniforms.kw + tx;
            let ring = ${TAP_RING('t')};
            if (ring >= 0) {
              acc += table[2 * t + 1] * d[dOff + ring];
            } else if (ring == -2) {
              for (var l = 0; l < n; l++) { acc += masks[l * K + t] * d[dOff + l]; }
            }
          }
        }
        return acc;
      }
`;
const SYM_GATHER = `      /** Output row/column that reads padded position p through tap t (−1 if none). */
      fn outAt(p : i32, pad : i32, t : i32, dil : i32, s : i32, size : i32) -> i32 {
        let q = p + pad - t * dil;
        if (q < 0 || q % s != 0) { return -1; }
        let o = q / s;
        if (o >= size) { return -1; }
        return o;
      }
      /** Σ of D[b, (oy, ox), ci, l] over the valid combinations of two rows and two columns. */
      fn dSum(b : i32, oy1 : i32, oy2 : i32, ox1 : i32, ox2 : i32, ci : i32, l : i32) -> f32 {
        let n = uniforms.numRings;
        var v = 0.0;
        if (oy1 >= 0) {
          if (ox1 >= 0) { v += d[(((b * uniforms.outH + oy1) * uniforms.outW + ox1) * uniforms.cin + ci) * n + l]; }
          if (ox2 >= 0) { v += d[(((b * uniforms.outH + oy1) * uniforms.outW + ox2) * uniforms.cin + ci) * n + l]; }
        }
        if (oy2 >= 0) {
          if (ox1 >= 0) { v += d[(((b * uniforms.outH + oy2) * uniforms.outW + ox1) * uniforms.cin + ci) * n + l]; }
          if (ox2 >= 0) { v += d[(((b * uniforms.outH + oy2) * uniforms.outW + ox2) * uniforms.cin + ci) * n + l]; }
        }
        return v;
      }
      /** Sum over taps and rings of D for padded position (py, px), taps folded by four. */
      fn gatherAt(b : i32, py : i32, px : i32, ci : i32) -> f32 {
        let n = uniforms.numRings;
        let K = uniforms.kh * uniforms.kw;
        var acc = 0.0;
        for (var ty = 0; ty <= (uniforms.kh - 1) / 2; ty++) {
          let ty2 = uniforms.kh - 1 - ty;
          let oy1 = outAt(py, uniforms.padTop, ty, uniforms.dh, uniforms.sh, uniforms.outH);
          var oy2 = -1;
          if (ty2 != ty) { oy2 = outAt(py, uniforms.padTop, ty2, uniforms.dh, uniforms.sh, uniforms.outH); }
          if (oy1 < 0 && oy2 < 0) { continue; }
          for (var tx = 0; tx <= (uniforms.kw - 1) / 2; tx++) {
            let t = ty * uniforms.kw + tx;
            let ring = ${TAP_RING('t')};
            if (ring == -1) { continue; }
            let tx2 = uniforms.kw - 1 - tx;
            let ox1 = outAt(px, uniforms.padLeft, tx, uniforms.dw, uniforms.sw, uniforms.outW);
            var ox2 = -1;
            if (tx2 != tx) { ox2 = outAt(px, uniforms.padLeft, tx2, uniforms.dw, uniforms.sw, uniforms.outW); }
            if (ox1 < 0 && ox2 < 0) { continue; }
            if (ring >= 0) {
              acc += table[2 * t + 1] * dSum(b, oy1, oy2, ox1, ox2, ci, ring);
            } else {
              for (var l = 0; l < n; l++) { acc += masks[l * K + t] * dSum(b, oy1, oy2, ox1, ox2, ci, l); }
            }
          }
        }
        return acc;
      }
`;

export class RingScatterProgram extends FlatProgram {
  variableNames = ['d', 'masks', 'table'];

  /** symmetric: masks even along both axes, odd kernel: the taps are folded by four (they share ring and value). */
  constructor(
    g: Conv2DGeometry,
    xShape: number[],
    private symmetric = false,
  ) {
    super(g, xShape, `ring_scatter_${symmetric ? 'sym' : 'gen'}`);
  }

  getUserCode(): string {
    return `
      ${this.helpers()}
      /** Padded coordinate of candidate c (c = -1: p = i itself; else the c-th padding position), or a sentinel. */
      fn candidate(c : i32, i : i32, padBefore : i32, padAfter : i32, size : i32) -> i32 {
        if (c < 0) { return i; }
        var p = 0;
        if (c < padBefore) { p = c - padBefore; } else { p = size + (c - padBefore); }
        if (mapCoord(p, size) != i) { return -2147483647; }
        return p;
      }
${this.symmetric ? SYM_GATHER : GENERAL_GATHER}
      ${'fn main(index : i32)'} {
        if (index >= uniforms.size) { return; }
        ${this.decode('index', 'inH', 'inW', 'cin')}
        var acc = 0.0;
        let ny = ${this.g.paddingMode === PADDING_MODE_CODES.zeros ? '0' : 'uniforms.padTop + uniforms.padBottom'};
        let nx = ${this.g.paddingMode === PADDING_MODE_CODES.zeros ? '0' : 'uniforms.padLeft + uniforms.padRight'};
        for (var cy = -1; cy < ny; cy++) {
          let py = candidate(cy, row, uniforms.padTop, uniforms.padBottom, uniforms.inH);
          if (py == -2147483647) { continue; }
          for (var cx = -1; cx < nx; cx++) {
            let px = candidate(cx, col, uniforms.padLeft, uniforms.padRight, uniforms.inW);
            if (px == -2147483647) { continue; }
            acc += gatherAt(b, py, px, chan);
          }
        }
        setOutputAtIndex(index, acc);
      }
    `;
  }
}
