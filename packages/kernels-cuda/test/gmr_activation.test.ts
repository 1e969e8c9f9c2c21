/**
 * gmrConv2d's fused activation on native (attrs.activation in the output pass): relu(op) as the cpu backend computes
 * it, on the fused forward (ring sums and mixing block by block) and on the ring-sums + sgemm form (a mixing operand
 * above the fused path's limit), with and without bias, channels last and first.
 */
import { describe, expect, it } from 'vitest';
import { gmrConv2d, type GMRConvOptions } from '@gmr-conv/core';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';

const cases: [string, number[], number[], GMRConvOptions][] = [
  // name, x [B, H, W, C], θ [Cout, Cin, n], options
  ['fused forward, 3→8 k7', [2, 9, 9, 3], [8, 3, 4], { kernelSize: 7, padding: 'same' }],
  [
    'fused forward, channels first, stride 2',
    [2, 4, 10, 10],
    [6, 4, 4],
    { kernelSize: 7, strides: 2, dataFormat: 'channelsFirst' },
  ],
  // The fused forward's other blocks: one input channel (rows of the padded image), reflect padding (the general
  // blocks of positions); bias and ReLU in the forward's blocks in every case.
  ['fused forward, one input channel, 1→24 k9', [2, 12, 11, 1], [24, 1, 5], { kernelSize: 9, padding: 'same' }],
  [
    'fused forward, reflect padding, 4→6 k5',
    [2, 7, 8, 4],
    [6, 4, 3],
    { kernelSize: 5, padding: 'same', paddingMode: 'reflect' },
  ],
  // Cout·Cin·n = 256·256·5 is above the fused path's limit: ring sums, then sgemm, then the bias pass
  ['ring sums + sgemm, 256→256 k9', [1, 5, 5, 256], [256, 256, 5], { kernelSize: 9, padding: 'same' }],
];

describe('gmrConv2d activation on native', () => {
  for (const [what, xShape, wShape, options] of cases) {
    for (const withBias of [false, true]) {
      it(`${what}${withBias ? ', with bias' : ''}: 'relu' matches relu(op) on cpu`, async () => {
        const cout = wShape[0]!;
        const f = () => {
          const x = tf.tensor(
            rand(
              xShape.reduce((p, q) => p * q, 1),
              90,
            ),
            xShape,
          );
          const weight = tf.tensor(
            rand(
              wShape.reduce((p, q) => p * q, 1),
              91,
            ),
            wShape,
          );
          const logSigmas = tf.tensor1d(rand(wShape[2]!, 92).map((v) => v / 3));
          const bias = withBias ? tf.tensor1d(rand(cout, 93)) : null;
          const y = gmrConv2d(x, { weight, logSigmas, bias }, { ...options, activation: 'relu' });
          const linear = gmrConv2d(x, { weight, logSigmas, bias }, options);
          return [y, linear];
        };
        const ref = await on('cpu', f);
        resetKernelCallCounts();
        const got = await on('native', f);
        const counts = kernelCallCounts();
        expect(counts.gmrForward ?? 0, 'the native kernel ran').toBe(2);
        expect(counts.gmrForwardFused ?? 0, 'on the path named').toBe(what.startsWith('fused') ? 2 : 0);
        expect(relErr(got[0]!, ref[0]!)).toBeLessThan(1e-4);
        const negatives = ref[1]!.filter((v) => v < 0).length;
        expect(negatives, 'the linear output has values for the ReLU to clip').toBeGreaterThan(0);
        expect(got[0]!.filter((v) => v < 0).length).toBe(0);
      });
    }
  }
});
