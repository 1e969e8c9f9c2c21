/**
 * softmaxCrossEntropy where no backend kernel is registered (cpu): tfjs's tf.losses.softmaxCrossEntropy bit for bit,
 * loss and the logits' gradient, with and without label smoothing; bad inputs refused by name. The native kernels'
 * path is tested against tfjs in kernels-cuda (test/softmax_cross_entropy.test.ts).
 */
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { softmaxCrossEntropy } from '../src/index.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

describe('softmaxCrossEntropy without the kernels', () => {
  for (const ls of [0, 0.1]) {
    it(`label smoothing ${ls}: tf.losses.softmaxCrossEntropy's loss and dlogits bit for bit`, () => {
      const z = tf.randomNormal([6, 4], 0, 2, 'float32', 3);
      const y = tf.oneHot(tf.tensor1d([0, 3, 1, 2, 2, 0], 'int32'), 4);
      const run = (f: (t: tf.Tensor) => tf.Scalar) => {
        const { value, grads } = tf.valueAndGrads(f)([z]);
        const out = [Array.from(value.dataSync()), Array.from(grads[0]!.dataSync())];
        tf.dispose([value, ...grads]);
        return out;
      };
      const want = run((t) => tf.losses.softmaxCrossEntropy(y, t, undefined, ls) as tf.Scalar);
      expect(run((t) => softmaxCrossEntropy(y, t, ls))).toEqual(want);
      tf.dispose([z, y]);
    });
  }

  it('refuses mismatched shapes and a label smoothing outside [0, 1), naming the parameter', () => {
    const z = tf.zeros([2, 3]);
    expect(() => softmaxCrossEntropy(tf.zeros([3, 3]), z)).toThrow(
      /softmaxCrossEntropy: `labels` must be logits' shape \[2,3\]/,
    );
    expect(() => softmaxCrossEntropy(z, tf.zeros([2, 3, 1]))).toThrow(
      /`logits` must be a 2D tensor \[batch, classes\]/,
    );
    expect(() => softmaxCrossEntropy(z, z, -0.1)).toThrow(/`labelSmoothing` must be a number in \[0, 1\), got -0.1/);
    z.dispose();
  });
});
