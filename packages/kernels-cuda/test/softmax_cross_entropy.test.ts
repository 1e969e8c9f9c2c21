/**
 * core's softmaxCrossEntropy on native (GMRSoftmaxCrossEntropy and its gradient, native/loss_ops.cc) against tfjs's
 * tf.losses.softmaxCrossEntropy on cpu: the loss and the logits' gradient for one-hot and soft labels, with and
 * without label smoothing, large logits (the log-sum-exp's shift), a batch of one; the kernels run (two per step);
 * no leaked tensors; bad inputs are refused by name.
 */
import { describe, expect, it } from 'vitest';
import { softmaxCrossEntropy } from '@gmr-conv/core';
import { SOFTMAX_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY_GRAD } from '@gmr-conv/core/kernel';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

/** [loss, dloss/dlogits] of `loss` on logits [b, k] (scaled by `scale`) and labels made by `labels`. */
function lossAndGrad(
  b: number,
  k: number,
  scale: number,
  soft: boolean,
  loss: (y: tf.Tensor, z: tf.Tensor) => tf.Scalar,
): () => tf.Tensor[] {
  return () => {
    const z = tf.mul(tf.tensor2d(rand(b * k, 40 + k), [b, k]), scale);
    const y = soft
      ? tf.softmax(tf.tensor2d(rand(b * k, 41), [b, k]))
      : tf.oneHot(
          tf.tensor1d(
            Array.from({ length: b }, (_, i) => (i * 7) % k),
            'int32',
          ),
          k,
        );
    const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => loss(y, t))([z]);
    return [value, grads[0]!];
  };
}

describe('softmaxCrossEntropy on native', () => {
  const cases: [string, number, number, number, boolean, number][] = [
    ['one-hot labels, batch 32, 10 classes', 32, 10, 3, false, 0],
    ['soft labels, batch 5, 7 classes', 5, 7, 1, true, 0],
    ['label smoothing 0.1', 16, 10, 2, false, 0.1],
    ['large logits (±80)', 8, 10, 80, false, 0],
    ['a batch of one', 1, 3, 1, false, 0.2],
  ];
  for (const [what, b, k, scale, soft, ls] of cases) {
    it(`${what}: loss and dlogits match tf.losses.softmaxCrossEntropy on cpu`, async () => {
      const ref = await on(
        'cpu',
        lossAndGrad(b, k, scale, soft, (y, z) => tf.losses.softmaxCrossEntropy(y, z, undefined, ls) as tf.Scalar),
      );
      resetKernelCallCounts();
      const got = await on(
        'native',
        lossAndGrad(b, k, scale, soft, (y, z) => softmaxCrossEntropy(y, z, ls)),
      );
      expect(kernelCallCounts()[SOFTMAX_CROSS_ENTROPY], 'the forward kernel ran').toBe(1);
      expect(kernelCallCounts()[SOFTMAX_CROSS_ENTROPY_GRAD], 'the gradient kernel ran').toBe(1);
      expect(relErr(got[0]!, ref[0]!), 'loss').toBeLessThan(1e-5);
      expect(relErr(got[1]!, ref[1]!), 'dlogits').toBeLessThan(1e-5);
    });
  }

  it('leaks no tensors', async () => {
    await tf.setBackend('native');
    const z = tf.randomNormal([4, 5]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5);
    expectNoLeaks(() => {
      const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => softmaxCrossEntropy(y, t, 0.1))([z]);
      tf.dispose([value, ...grads]);
    }, 3);
    tf.dispose([z, y]);
  });

  it('refuses mismatched shapes and a bad label smoothing, naming the parameter', async () => {
    await tf.setBackend('native');
    const z = tf.zeros([2, 3]);
    expect(() => softmaxCrossEntropy(tf.zeros([2, 4]), z)).toThrow(/`labels` must be logits' shape \[2,3\]/);
    expect(() => softmaxCrossEntropy(tf.zeros([2, 3]), tf.zeros([6]))).toThrow(/`logits` must be a 2D tensor/);
    expect(() => softmaxCrossEntropy(tf.zeros([2, 3]), z, 1)).toThrow(/`labelSmoothing` must be a number in \[0, 1\)/);
    z.dispose();
  });
});
