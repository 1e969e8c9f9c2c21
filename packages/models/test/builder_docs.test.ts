/**
 * The input-size rules the builders' docstrings state, checked with core's static exactness check: which sizes keep
 * every pool on an even size (exact D4 invariance) and which do not.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkExactEquivariance } from '@gmr-conv/core';
import { gmrCNN, gmrResNet18, gmrSteerableCNN } from '../src/index.js';
import { useBackend } from './helpers/backend.js';

beforeAll(() => useBackend('cpu'));

describe("builders' docstrings: exact at the sizes they name, not at the others", () => {
  it('gmrCNN: a side divisible by 4 is exact (28, 32), 30 is not (the second pool sees 15)', () => {
    for (const [size, exact] of [
      [28, true],
      [32, true],
      [30, false],
    ] as const) {
      const m = gmrCNN({ inputSize: [size, size] });
      const r = checkExactEquivariance(m);
      expect(r.exact, `${size}: ${r.reasons.join('; ')}`).toBe(exact);
      if (!exact) expect(r.reasons[0]).toMatch(/"pool2".*odd size 15/);
      m.dispose();
    }
  });

  it('gmrCNN with ring pooling and harmonic channels, and gmrSteerableCNN, are exact at 28×28', () => {
    for (const m of [gmrCNN({ pooling: 'rings', harmonicChannels: [0, 4, 8] }), gmrSteerableCNN()]) {
      const r = checkExactEquivariance(m);
      expect(r.reasons).toEqual([]);
      expect(r.exact).toBe(true);
      m.dispose();
    }
  });

  it('gmrResNet18: a side divisible by 16 is exact (32), 40 is not (a pool sees 5)', () => {
    for (const [size, exact] of [
      [32, true],
      [40, false],
    ] as const) {
      const m = gmrResNet18({ inputSize: [size, size], numClasses: 4 });
      const r = checkExactEquivariance(m);
      expect(r.exact, `${size}: ${r.reasons.join('; ')}`).toBe(exact);
      if (!exact) expect(r.reasons[0]).toMatch(/odd size 5/);
      m.dispose();
    }
  });
});
