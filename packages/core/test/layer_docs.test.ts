/**
 * The claims of GMRConv2D's docstring, run: its example (exact under a 90° rotation), every padding mode, and the
 * stride-2 'same' rule (exact on an odd input size, not on an even one, where tfjs pads (0, 1)).
 */
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GMRConv2D, applyD4, checkExactEquivariance } from '../src/index.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

describe("GMRConv2D's docstring", () => {
  it('example: rotating the input by 90° rotates the output by 90°, to float rounding', () => {
    const before = tf.memory().numTensors;
    const conv = new GMRConv2D({ filters: 16, kernelSize: 9, padding: 'same', activation: 'relu' });
    const maxDiff = tf.tidy(() => {
      const x = tf.randomNormal([1, 28, 28, 1], 0, 1, 'float32', 3);
      const y = conv.apply(x) as tf.Tensor;
      expect(y.shape).toEqual([1, 28, 28, 16]);
      const scale = y.abs().max().dataSync()[0];
      expect(scale).toBeGreaterThan(0);
      return (
        tf
          .sub(conv.apply(applyD4(x, 'rot90')) as tf.Tensor, applyD4(y, 'rot90'))
          .abs()
          .max()
          .dataSync()[0] / scale
      );
    });
    expect(maxDiff).toBeLessThan(1e-5);
    conv.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("every padding mode keeps exactness ('reflect', 'replicate', 'circular' are symmetric too)", () => {
    for (const paddingMode of ['zeros', 'reflect', 'replicate', 'circular'] as const) {
      const rel = tf.tidy(() => {
        const conv = new GMRConv2D({ filters: 2, kernelSize: 5, padding: 'same', paddingMode, useBias: false });
        const x = tf.randomNormal([1, 10, 10, 1], 0, 1, 'float32', 7);
        const y = conv.apply(x) as tf.Tensor;
        const worst = Math.max(
          ...(['rot90', 'flipH', 'transpose'] as const).map(
            (g) =>
              tf
                .sub(conv.apply(applyD4(x, g)) as tf.Tensor, applyD4(y, g))
                .abs()
                .max()
                .dataSync()[0],
          ),
        );
        conv.dispose();
        return worst / y.abs().max().dataSync()[0];
      });
      expect(rel, paddingMode).toBeLessThan(1e-5);
    }
  });

  it("stride 2 with 'same' is exact on odd sizes and not on even ones, as the docstring says", () => {
    const measure = (size: number) =>
      tf.tidy(() => {
        const conv = new GMRConv2D({ filters: 2, kernelSize: 3, strides: 2, padding: 'same', useBias: false });
        const x = tf.randomNormal([1, size, size, 1], 0, 1, 'float32', 5);
        const y = conv.apply(x) as tf.Tensor;
        const d = tf
          .sub(conv.apply(applyD4(x, 'flipH')) as tf.Tensor, applyD4(y, 'flipH'))
          .abs()
          .max()
          .dataSync()[0];
        conv.dispose();
        return d / y.abs().max().dataSync()[0];
      });
    expect(measure(9)).toBeLessThan(1e-5);
    expect(measure(8)).toBeGreaterThan(1e-2);
    const spec = [{ type: 'gmrConv' as const, kernelSize: 3, strides: 2, padding: 'same' as const }];
    expect(checkExactEquivariance(spec, 9).exact).toBe(true);
    expect(checkExactEquivariance(spec, 8).exact).toBe(false);
  });
});
