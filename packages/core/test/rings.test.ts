/** Ring geometry and the Gaussian mixture against numbers worked out by hand from the official PyTorch code. */
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ringMasks,
  defaultNumRings,
  initialSigma,
  gaussianMatrix,
  initialLogSigmas,
  smoothedBasis,
  ringsAreSymmetric,
} from '../src/index.js';
import { linspace } from '../src/rings/ring_masks.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

describe('ring geometry', () => {
  it('pixels per ring match the reference tables (force_circular)', () => {
    const expected: Record<number, number[]> = {
      3: [1, 8],
      5: [1, 8, 12],
      7: [1, 8, 12, 16],
      9: [1, 8, 12, 16, 32],
      11: [1, 8, 12, 24, 24, 28],
    };
    for (const [k, sizes] of Object.entries(expected)) {
      const g = ringMasks([Number(k), Number(k)]);
      expect(g.numRings).toBe(defaultNumRings(Number(k)));
      expect(g.ringSizes).toEqual(sizes);
    }
  });

  it('k=9 puts offset (3,2), at distance 3.606, in the outer ring 4 (float64 linspace tie)', () => {
    const g = ringMasks([9, 9]);
    expect(g.labels[(4 + 3) * 9 + (4 + 2)]).toBe(4);
    expect(g.labels[(4 + 2) * 9 + (4 + 3)]).toBe(4);
    expect(g.labels[0]).toBe(-1); // corner: no ring
    expect(linspace(0, 4.5, 6)[4]).toBe(3.6);
  });

  it('k=5 label map and the non-circular variants', () => {
    const k5 = Array.from(ringMasks([5, 5]).labels);
    expect(k5).toEqual([-1, 2, 2, 2, -1, 2, 1, 1, 1, 2, 2, 1, 0, 1, 2, 2, 1, 1, 1, 2, -1, 2, 2, 2, -1]);
    const nc3 = ringMasks([3, 3], { forceCircular: false });
    expect(nc3.numRings).toBe(3);
    expect(Array.from(nc3.labels)).toEqual([2, 1, 2, 1, 0, 1, 2, 1, 2]);
    const nc5 = ringMasks([5, 5], { forceCircular: false });
    expect(nc5.numRings).toBe(4);
    expect([nc5.labels[0], nc5.labels[4], nc5.labels[20], nc5.labels[24]]).toEqual([3, 3, 3, 3]);
  });

  it('1D and 3D kernels, an explicit numRings, an even size', () => {
    expect(Array.from(ringMasks([5]).labels)).toEqual([2, 1, 0, 1, 2]);
    const g3 = ringMasks([3, 3, 3]);
    expect(g3.ringSizes).toEqual([1, 18]); // centre, then every tap within 1.5 (the 8 cube corners at √3 are dropped)
    expect(ringMasks([5, 5], { numRings: 5 }).numRings).toBe(5);
    const even = ringMasks([4, 4]);
    expect(even.labels[0]).toBe(-1); // only the far corner (0,0) is cut, centre at tap (2,2)
    expect(even.ringSizes.reduce((a, b) => a + b, 0)).toBe(15);
    expect(ringsAreSymmetric(even.masks, even.numRings, [4, 4])).toBe(false);
    expect(ringsAreSymmetric(ringMasks([9, 9]).masks, 5, [9, 9])).toBe(true);
  });

  it('rejects bad sizes with the parameter named', () => {
    expect(() => ringMasks(0)).toThrow(/`kernelSize` must be a positive integer, got 0/);
    expect(() => ringMasks([3, 2.5])).toThrow(/`kernelSize\[1\]` must be a positive integer, got 2.5/);
    expect(() => ringMasks(3, { numRings: -1 })).toThrow(/`numRings`/);
  });
});

describe('Gaussian mixture', () => {
  it('initial σ and P[0, 0..2] match the golden values', () => {
    const sig: Record<number, number> = { 3: 0.6369, 5: 0.5308, 7: 0.4954, 9: 0.4777, 11: 0.4671 };
    const golden: Record<number, number[]> = {
      3: [0.626346, 0.182628],
      5: [0.751616, 0.127421, 0.000621],
      7: [0.805303, 0.104994, 0.000233],
      9: [0.835129, 0.093369, 0.00013],
      11: [0.854109, 0.086342, 0.000089],
    };
    for (const k of [3, 5, 7, 9, 11]) {
      const n = defaultNumRings(k);
      expect(initialSigma(k, n)).toBeCloseTo(sig[k], 4);
      const P = gaussianMatrix(tf.tensor1d(initialLogSigmas(k, n))).arraySync() as number[][];
      golden[k].forEach((v, i) => expect(P[0][i]).toBeCloseTo(v, 5));
    }
  });

  it('uses the literal 2.5066, clamps σ to [1e-2, 2n] only when asked, and G = P·M', () => {
    const ls = tf.tensor1d([Math.log(0.004), Math.log(0.7), Math.log(9)]);
    const P = gaussianMatrix(ls).arraySync() as number[][];
    expect(P[0][0]).toBeCloseTo(1 / (0.01 * 2.5066), 3); // σ clamped up to 0.01
    expect(P[2][2]).toBeCloseTo(1 / (6 * 2.5066), 6); // σ clamped down to 2n = 6
    const Pu = gaussianMatrix(ls, { clipSigma: false }).arraySync() as number[][];
    expect(Pu[2][2]).toBeCloseTo(1 / (9 * 2.5066), 6);
    const g = ringMasks([5, 5]);
    const M = tf.tensor2d(g.masks, [3, 25]);
    const G = smoothedBasis(M, tf.tensor1d(initialLogSigmas(5, 3))).arraySync() as number[][];
    const Pi = gaussianMatrix(tf.tensor1d(initialLogSigmas(5, 3))).arraySync() as number[][];
    // Each tap carries P[i, ring(tap)]; corners carry 0.
    for (let p = 0; p < 25; p++)
      for (let i = 0; i < 3; i++) expect(G[i][p]).toBeCloseTo(g.labels[p] < 0 ? 0 : Pi[i][g.labels[p]], 6);
  });
});
