/**
 * Per-tap summary of the ring masks, so the ring-sum loops touch each tap once instead of n times:
 * table[2t] = the ring l whose mask holds tap t (−1: no ring, −2: several rings, loop over all n), table[2t+1] = M[l, t].
 * Geometry masks are one-hot per tap (a binary partition of the taps into rings); trained or user masks may not be.
 */
import type { Conv2DGeometry } from './program_geometry.js';
import { FlatProgram } from './program_base.js';

export class TapTableProgram extends FlatProgram {
  variableNames = ['masks'];

  constructor(g: Conv2DGeometry) {
    super(g, [g.kh * g.kw * 2], 'tap_table');
  }

  getUserCode(): string {
    return `
      ${'fn main(index : i32)'} {
        let K = uniforms.kh * uniforms.kw;
        if (index >= K) { return; }
        var ring = -1;
        var value = 0.0;
        for (var l = 0; l < uniforms.numRings; l++) {
          let m = masks[l * K + index];
          if (m != 0.0) {
            if (ring == -1) { ring = l; value = m; } else { ring = -2; }
          }
        }
        result[2 * index] = f32(ring);
        result[2 * index + 1] = value;
      }
    `;
  }
}

/** WGSL snippet: ring id of tap t from the table (−1 none, −2 several). */
export const TAP_RING = (t: string) => `i32(round(table[2 * (${t})]))`;
