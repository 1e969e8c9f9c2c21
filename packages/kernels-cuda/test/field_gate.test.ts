/**
 * The fused steerable gate (GMRFieldGate / GMRFieldGateGrad, native/field_ops.cc) against core's composed gate on cpu:
 * outputs and input gradients for every field layout branch; D4 invariance of a whole gated steerable network on
 * native; no leaked tensors or native buffers; a clear error for an input of the wrong layout.
 */
import { describe, expect, it } from 'vitest';
import {
  applyD4,
  composedFieldGate,
  D4_ELEMENTS,
  fieldChannels,
  fieldGate,
  gatedFields,
  type Fields,
} from '@gmr-conv/core';
import { FIELD_GATE, FIELD_GATE_GRAD } from '@gmr-conv/core/kernel';
import { gmrSteerableCNN } from '@gmr-conv/models';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

describe('GMRFieldGate on native', () => {
  // [3, 2, 1]: unequal order counts (one product per order); [0, 1, 3]: no order-0 maps; [2, 3, 0] and [1, 0, 2]: one order.
  const layouts: Fields[] = [
    [3, 2, 1],
    [0, 1, 3],
    [2, 3, 0],
    [1, 0, 2],
    [4, 4, 4],
  ];
  for (const fields of layouts) {
    it(`fields [${fields.join(', ')}]: output and input gradient match core's composed gate on cpu`, async () => {
      const c = fieldChannels(gatedFields(fields));
      const shape = [2, 5, 3, c];
      const n = shape.reduce((a, b) => a * b, 1);
      // values in [-4, 4): the sigmoid away from its linear middle, ReLU on both sides
      const f = (gate: (x: tf.Tensor) => tf.Tensor) => () => {
        const x = tf.tensor(
          rand(n, 7).map((v) => 4 * v),
          shape,
        );
        const y = gate(x);
        const r = tf.tensor(rand(y.size, 8), y.shape);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gate(t), r)))(x);
        return [y, dx];
      };
      const ref = await on(
        'cpu',
        f((x) => composedFieldGate(x, fields)),
      );
      resetKernelCallCounts();
      const got = await on(
        'native',
        f((x) => fieldGate(x, fields)),
      );
      const counts = kernelCallCounts();
      expect(counts[FIELD_GATE], 'the fused forward ran').toBeGreaterThanOrEqual(1);
      expect(counts[FIELD_GATE_GRAD], 'the fused gradient ran').toBe(1);
      expect(got[0]!.length).toBe(2 * 5 * 3 * fieldChannels(fields));
      expect(relErr(got[0]!, ref[0]!), 'y').toBeLessThan(1e-5);
      expect(relErr(got[1]!, ref[1]!), 'dx').toBeLessThan(1e-5);
    });
  }

  it('runs on cpu as the composed gate (no fused kernel there)', async () => {
    await tf.setBackend('cpu');
    expect(tf.getKernel(FIELD_GATE, 'cpu')).toBeUndefined();
    const x = tf.tensor(rand(4 * 9, 3), [4, 9]);
    const d = tf.sub(fieldGate(x, [0, 2, 1]), composedFieldGate(x, [0, 2, 1]));
    expect(tf.max(tf.abs(d)).dataSync()[0]).toBe(0);
    tf.dispose([x, d]);
  });

  it('leaks no tensors and no native buffers over repeated forward and backward calls', async () => {
    await tf.setBackend('native');
    const fields: Fields = [2, 2, 1];
    const x = tf.tensor(rand(3 * 4 * 4 * fieldChannels(gatedFields(fields)), 5), [
      3,
      4,
      4,
      fieldChannels(gatedFields(fields)),
    ]);
    const step = () =>
      tf.tidy(() =>
        tf
          .grad((t: tf.Tensor) => tf.sum(tf.square(fieldGate(t, fields))))(x)
          .dataSync(),
      );
    expectNoLeaks(step, 50);
    x.dispose();
  });

  it('refuses an input whose channels do not match the fields, naming it', async () => {
    await tf.setBackend('native');
    const x = tf.zeros([2, 3, 10]);
    expect(() => tf.engine().runKernel(FIELD_GATE, { x }, { fields: [2, 2, 1] })).toThrow(
      /GMRFieldGate.*x.*float32 \[\.\.\., 11\]/s,
    );
    x.dispose();
  });
});

describe('gated steerable network on native', () => {
  it('logits are invariant to the 8 elements of D4 (≤ 1e-5 relative), with the fused gate', async () => {
    await tf.setBackend('native');
    const model = gmrSteerableCNN({
      fields: [
        [2, 2, 2],
        [4, 2, 2],
      ],
      kernelSizes: [5, 5],
      pools: [true, false],
      inputSize: [12, 12],
    });
    const x = tf.tensor(rand(2 * 12 * 12, 11), [2, 12, 12, 1]);
    resetKernelCallCounts();
    const ref = model.predict(x) as tf.Tensor;
    expect(kernelCallCounts()[FIELD_GATE], 'the fused gate ran').toBe(2);
    for (const g of D4_ELEMENTS) {
      const y = tf.tidy(() => model.predict(applyD4(x, g)) as tf.Tensor);
      expect(relErr(y.dataSync() as Float32Array, ref.dataSync() as Float32Array), g).toBeLessThan(1e-5);
      y.dispose();
    }
    tf.dispose([x, ref]);
    model.dispose();
  });
});
