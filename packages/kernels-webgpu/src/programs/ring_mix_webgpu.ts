/**
 * Channel mixing of the ring sums with Φ = θ·P (+ bias): y[b, o, co] = bias[co] + Σ_{ci ∈ group(co), l} Φ[co, ci, l] · R[b, o, ci, l].
 * Writes y in the layout of attrs.dataFormat.
 */
import type { Conv2DGeometry } from './program_geometry.js';
import { FlatProgram } from './program_base.js';

export class RingMixProgram extends FlatProgram {
  variableNames: string[];

  constructor(
    g: Conv2DGeometry,
    outputShape: number[],
    private hasBias: boolean,
  ) {
    super(g, outputShape, `ring_mix_${hasBias ? 'b' : 'nb'}`);
    this.variableNames = hasBias ? ['rings', 'phi', 'bias'] : ['rings', 'phi'];
  }

  getUserCode(): string {
    return `
      ${this.helpers()}
      ${'fn main(index : i32)'} {
        if (index >= uniforms.size) { return; }
        ${this.decode('index', 'outH', 'outW', 'cout')}
        let co = chan;
        let n = uniforms.numRings;
        let grp = co / uniforms.coutG;
        var acc = ${this.hasBias ? 'bias[co]' : '0.0'};
        let rBase = ((b * uniforms.outH + row) * uniforms.outW + col) * uniforms.cin + grp * uniforms.cinG;
        for (var ciL = 0; ciL < uniforms.cinG; ciL++) {
          let rOff = (rBase + ciL) * n;
          let wOff = (co * uniforms.cinG + ciL) * n;
          for (var l = 0; l < n; l++) {
            acc += phi[wOff + l] * rings[rOff + l];
          }
        }
        setOutputAtIndex(index, acc);
      }
    `;
  }
}
