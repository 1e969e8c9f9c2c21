/**
 * The FieldInvariants kernels (GMRFieldInvariants / GMRFieldInvariantsGrad, native/field_ops.cc) against core's
 * composed form on cpu: the output (equal bit for bit) and the input gradient, for field layouts with and without
 * order-0 maps, one order only, unequal orders, and both products; no leaked tensors or native buffers; a clear error
 * for an input of the wrong layout.
 */
import { describe, expect, it } from 'vitest';
import { FieldInvariants, fieldChannels, fieldInvariantChannels, type Fields } from '@gmr-conv/core';
import { FIELD_INVARIANTS, FIELD_INVARIANTS_GRAD } from '@gmr-conv/core/kernel';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('GMRFieldInvariants on native', () => {
  // [32, 16, 16]: the steerable network's head; [3, 2, 1] and [2, 1, 3]: unequal orders (the cross term on the
  // smaller); [4, 0, 0]: order 0 only; [0, 3, 2]: no order-0 maps; [1, 1, 1]: no consecutive pairs.
  const layouts: Fields[] = [
    [32, 16, 16],
    [3, 2, 1],
    [4, 0, 0],
    [0, 3, 2],
    [2, 1, 3],
    [1, 1, 1],
  ];
  for (const products of ['paired', 'none'] as const) {
    for (const fields of layouts) {
      it(`fields [${fields.join(', ')}], products '${products}': y (exactly) and dx match the composed form on cpu`, async () => {
        const shape = [2, 4, 3, fieldChannels(fields)];
        const n = shape.reduce((a, b) => a * b, 1);
        const layer = new FieldInvariants({ fields, products });
        const f = () => {
          // values in [-2, 2): products and squares of both signs and magnitudes
          const x = tf.tensor(
            rand(n, 17).map((v) => 2 * v),
            shape,
          );
          const y = layer.apply(x) as tf.Tensor;
          const r = tf.tensor(rand(y.size, 18), y.shape);
          const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, r)))(x);
          return [y, dx];
        };
        const ref = await on('cpu', f);
        resetKernelCallCounts();
        const got = await on('native', f);
        const counts = kernelCallCounts();
        expect(counts[FIELD_INVARIANTS], 'the forward kernel ran').toBeGreaterThanOrEqual(1);
        expect(counts[FIELD_INVARIANTS_GRAD], 'the gradient kernel ran').toBe(1);
        expect(got[0]!.length).toBe((n / shape[3]!) * fieldInvariantChannels(fields, products));
        expect(maxAbsDiff(got[0]!, ref[0]!), 'y').toBe(0);
        expect(relErr(got[1]!, ref[1]!), 'dx').toBeLessThan(1e-6);
      });
    }
  }

  it('runs on cpu as the composed form (no kernel there)', async () => {
    await tf.setBackend('cpu');
    expect(tf.getKernel(FIELD_INVARIANTS, 'cpu')).toBeUndefined();
    expect(tf.getKernel(FIELD_INVARIANTS_GRAD, 'cpu')).toBeUndefined();
  });

  it('leaks no tensors and no native buffers over repeated forward and backward calls', async () => {
    await tf.setBackend('native');
    const fields: Fields = [2, 3, 2];
    const layer = new FieldInvariants({ fields });
    const x = tf.tensor(rand(3 * 4 * 4 * fieldChannels(fields), 5), [3, 4, 4, fieldChannels(fields)]);
    const step = () =>
      tf.tidy(() =>
        tf
          .grad((t: tf.Tensor) => tf.sum(tf.square(layer.apply(t) as tf.Tensor)))(x)
          .dataSync(),
      );
    resetKernelCallCounts();
    expectNoLeaks(step, 50);
    expect(kernelCallCounts()[FIELD_INVARIANTS_GRAD]).toBe(51);
    x.dispose();
  });

  it('refuses an input whose channels do not match the fields, naming it', async () => {
    await tf.setBackend('native');
    const attrs = { fields: [2, 2, 1], products: 'paired' };
    const x = tf.zeros([2, 3, 10]);
    expect(() => tf.engine().runKernel(FIELD_INVARIANTS, { x }, attrs)).toThrow(
      /GMRFieldInvariants.*x.*float32 \[\.\.\., 8\]/s,
    );
    const x8 = tf.zeros([2, 3, 8]);
    const dy = tf.zeros([2, 3, 8]);
    // fieldInvariantChannels([2, 2, 1], 'paired') = 2 + 3 + 1 + 1 = 7 output channels, not 8
    expect(() => tf.engine().runKernel(FIELD_INVARIANTS_GRAD, { x: x8, dy }, attrs)).toThrow(
      /GMRFieldInvariantsGrad.*x, dy.*\[\.\.\., 8\] and \[\.\.\., 7\]/s,
    );
    tf.dispose([x, x8, dy]);
  });
});
