/**
 * GatherV2 on native against the cpu kernel: several axes (negative too), inner blocks of one and of several values,
 * repeated and 2-D indices, an out-of-range index refused with the cpu kernel's error, other dtypes through the cpu
 * kernel; and core's rotateBilinear (the rotation protocol's resampling, a gather of 4 source pixels per pixel).
 */
import { describe, expect, it } from 'vitest';
import { rotateBilinear } from '@gmr-conv/core';
import { GatherV2 } from '@tensorflow/tfjs-core';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';

const cases: [string, number[], number[], number[], number][] = [
  // name, x shape, indices, indices shape, axis
  ['axis 0, rows of 12', [5, 3, 4], [4, 0, 0, 2], [4], 0],
  ['axis 1, inner 1 (the rotation plan)', [2, 9, 1], [8, 1, 1, 0, 5, 3], [6], 1],
  ['axis −1, 2-D indices', [3, 4, 6], [5, 0, 2, 2, 1, 3], [2, 3], -1],
  ['axis 1, inner 3 (RGB pixels)', [2, 7, 3], [6, 0, 3], [3], 1],
];

describe('GatherV2 on native', () => {
  for (const [what, xShape, idx, idxShape, axis] of cases) {
    it(`${what}: matches the cpu kernel`, async () => {
      const f = () =>
        tf.gather(
          tf.tensor(
            rand(
              xShape.reduce((p, q) => p * q, 1),
              100,
            ),
            xShape,
          ),
          tf.tensor(idx, idxShape, 'int32'),
          axis,
        );
      const ref = await on('cpu', f);
      resetKernelCallCounts();
      const got = await on('native', f);
      expect(kernelCallCounts()[GatherV2], 'the native kernel ran').toBe(1);
      expect(Array.from(got[0]!)).toEqual(Array.from(ref[0]!));
    });
  }

  it('refuses an index out of range as the cpu kernel does; int32 values go through the cpu kernel', async () => {
    await tf.setBackend('native');
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    expect(() => tf.gather(x, tf.tensor1d([0, 2], 'int32'), 0)).toThrow(/GatherV2|index|\[0, 1\]/);
    const xi = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    expect(Array.from(tf.gather(xi, tf.tensor1d([1, 0], 'int32'), 0).dataSync())).toEqual([3, 4, 1, 2]);
  });

  it("core's rotateBilinear gives the cpu backend's images at 30° and 90°", async () => {
    for (const angle of [30, 90]) {
      const f = () => rotateBilinear(tf.tensor(rand(2 * 12 * 12 * 2, 101), [2, 12, 12, 2]) as tf.Tensor4D, angle);
      const ref = await on('cpu', f);
      const got = await on('native', f);
      expect(relErr(got[0]!, ref[0]!)).toBeLessThan(1e-6);
    }
  });
});
