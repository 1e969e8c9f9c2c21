/**
 * Backward of the channel mixing: D[b, o, ci, l] = Σ_{co ∈ group(ci)} Φ[co, ci, l] · dy[b, o, co].
 * Output flat, layout [B, Hout, Wout, Cin, n].
 */
import type { Conv2DGeometry } from './program_geometry.js';
import { FlatProgram } from './program_base.js';

export class MixTransposeProgram extends FlatProgram {
  variableNames = ['dy', 'phi'];

  constructor(g: Conv2DGeometry) {
    super(g, [g.batch * g.outH * g.outW * g.cin * g.numRings], 'mix_transpose');
  }

  getUserCode(): string {
    return `
      ${this.helpers()}
      ${'fn main(index : i32)'} {
        if (index >= uniforms.size) { return; }
        let n = uniforms.numRings;
        let l = index % n;
        var r = index / n;
        let ci = r % uniforms.cin; r = r / uniforms.cin;
        let ox = r % uniforms.outW; r = r / uniforms.outW;
        let oy = r % uniforms.outH;
        let b = r / uniforms.outH;
        let grp = ci / uniforms.cinG;
        let ciL = ci % uniforms.cinG;
        var acc = 0.0;
        for (var coL = 0; coL < uniforms.coutG; coL++) {
          let co = grp * uniforms.coutG + coL;
          acc += phi[(co * uniforms.cinG + ciL) * n + l] * dy[yIndex(b, oy, ox, co)];
        }
        setOutputAtIndex(index, acc);
      }
    `;
  }
}
