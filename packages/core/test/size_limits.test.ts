/**
 * Sizes and counts are checked before heavy work: a kernel larger than its input with 'valid' padding, more rings
 * than a kernel has distinct tap distances, and masks too large to make are refused with the limit in the message.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GMRConv2D, GMRValueError, MAX_MASK_ENTRIES, gmrConv2d, ringMasks } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GMRValueError);
    return (e as Error).message;
  }
  throw new Error('expected a GMRValueError');
}

describe('ring count vs kernel size', () => {
  it('refuses more rings than distinct tap distances, accepts the limit itself', () => {
    // a 3×3 kernel has taps at distances 0, 1 and √2 from its centre
    expect(message(() => ringMasks([3, 3], { numRings: 7 }))).toMatch(
      /`numRings` must be at most 3 for kernelSize \[3, 3\].*got 7/,
    );
    const g = ringMasks([3, 3], { numRings: 3 });
    expect(g.numRings).toBe(3);
    // every tap inside the circle belongs to exactly one ring
    expect(g.ringSizes.reduce((a, b) => a + b, 0)).toBe(9);
    // 5×5: distances 0, 1, √2, 2, √5 inside the circle of radius 2.5 (√8 lies outside)
    expect(message(() => ringMasks([5, 5], { numRings: 6 }))).toMatch(/at most 5/);
    expect(ringMasks([5, 5], { numRings: 5 }).numRings).toBe(5);
  });

  it('a layer with 7 rings for k = 3 is refused when it is made', () => {
    expect(message(() => new GMRConv2D({ filters: 2, kernelSize: 3, numRings: 7 }))).toMatch(/numRings.*at most 3/);
  });

  it('masks too large to make are refused at once, with the limit', () => {
    expect(message(() => ringMasks(1001 * 1001))).toMatch(new RegExp(`numRings × taps ≤ ${MAX_MASK_ENTRIES}`));
    expect(message(() => new GMRConv2D({ filters: 1, kernelSize: 1001 }))).toMatch(/here 501 × 1002001/);
  });
});

describe("kernel vs input with 'valid' padding", () => {
  it('the layer refuses a kernel larger than its input, naming the largest allowed, before making the basis', () => {
    const x = tf.zeros([1, 8, 8, 1]);
    const before = tf.memory().numTensors;
    const big = new GMRConv2D({ filters: 2, kernelSize: 9 });
    expect(message(() => big.apply(x))).toMatch(
      /`kernelSize` must be at most 8 on spatial axis 0 for an input of size 8 with padding "valid"/,
    );
    // with padding 1 on each side a 10-tap kernel fits an 8-pixel input
    const padded = new GMRConv2D({ filters: 2, kernelSize: 11, padding: 1 });
    expect(message(() => padded.apply(x))).toMatch(/at most 10/);
    tf.disposeVariables();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('the largest kernel that fits gives a 1×1 output, as computeOutputShape says', () => {
    const l = new GMRConv2D({ filters: 2, kernelSize: 7 });
    const x = tf.ones([1, 7, 7, 1]);
    const y = l.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([1, 1, 1, 2]);
    expect(l.computeOutputShape([1, 7, 7, 1])).toEqual([1, 1, 1, 2]);
    tf.dispose([x, y]);
  });

  it('the op refuses a 401-tap kernel on an 8×8 input without a leak', () => {
    const x = tf.zeros([1, 8, 8, 1]);
    const w = tf.zeros([2, 1, 201]);
    const before = tf.memory().numTensors;
    expect(message(() => gmrConv2d(x, { weight: w }, { kernelSize: 401 }))).toMatch(
      /the output would be \[-392, -392\]/,
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });
});
