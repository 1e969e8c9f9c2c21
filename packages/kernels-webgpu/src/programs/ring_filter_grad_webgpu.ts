/**
 * Gradient of the mixing weights: dΦ[co, ci, l] = Σ_{b, o} dy[b, o, co] · R[b, o, g·Cin/g + ci, l], with R the ring
 * sums of x. One workgroup of 64 threads per entry of dΦ, reduced in workgroup memory.
 */
import type { Conv2DGeometry } from './program_geometry.js';
import { FlatProgram } from './program_base.js';

const WG = 64;

export class RingFilterGradProgram extends FlatProgram {
  variableNames = ['rings', 'dy'];

  constructor(g: Conv2DGeometry) {
    super(g, [g.cout, g.cinG, g.numRings], 'ring_filter_grad');
    this.workgroupSize = [WG, 1, 1];
    this.dispatch = [g.cout * g.cinG * g.numRings, 1, 1];
  }

  getUserCode(): string {
    return `
      ${this.helpers()}
      var<workgroup> partial : array<f32, ${WG}>;
      ${'fn main(index : i32)'} {
        let entry = i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
        let lane = i32(localIndex);
        let n = uniforms.numRings;
        let valid = entry < uniforms.size;
        let e = select(0, entry, valid);
        let l = e % n;
        let ciL = (e / n) % uniforms.cinG;
        let co = e / (n * uniforms.cinG);
        let ci = (co / uniforms.coutG) * uniforms.cinG + ciL;
        let hw = uniforms.outH * uniforms.outW;
        let total = uniforms.batch * hw;
        var acc = 0.0;
        for (var p = lane; p < total; p += ${WG}) {
          let b = p / hw;
          let o = p % hw;
          let oy = o / uniforms.outW;
          let ox = o % uniforms.outW;
          acc += dy[yIndex(b, oy, ox, co)] * rings[(p * uniforms.cin + ci) * n + l];
        }
        partial[lane] = acc;
        workgroupBarrier();
        for (var s = ${WG / 2}; s > 0; s = s / 2) {
          if (lane < s) { partial[lane] = partial[lane] + partial[lane + s]; }
          workgroupBarrier();
        }
        if (lane == 0 && valid) { result[entry] = partial[0]; }
      }
    `;
  }
}
