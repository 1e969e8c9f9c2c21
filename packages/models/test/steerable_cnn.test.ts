import { beforeAll, describe, expect, it } from 'vitest';
import { FieldBatchNorm, GMRSteerableConv2D, modelInvarianceCheck, rotateBilinear } from '@gmr-conv/core';
import { DEFAULT_STEERABLE_FIELDS, gmrSteerableCNN, loadFromMemory, saveToMemory } from '../src/index.js';
import { maxAbsDiff, seeded, tf, useBackend, warmUpBatchNorm } from './helpers/backend.js';

beforeAll(() => useBackend('cpu'));

const SMALL = {
  fields: [
    [2, 2, 2],
    [4, 2, 2],
    [4, 2, 2],
  ] as [number, number, number][],
  kernelSizes: [5, 5, 3],
};

describe('gmrSteerableCNN', () => {
  it('builds the default network: three steerable convs with gates, field BN, invariants, ring pooling', () => {
    const m = gmrSteerableCNN();
    expect(m.inputs[0]!.shape).toEqual([null, 28, 28, 1]);
    expect(m.outputs[0]!.shape).toEqual([null, 10]);
    const convs = m.layers.filter((l) => l instanceof GMRSteerableConv2D) as GMRSteerableConv2D[];
    expect(convs).toHaveLength(3);
    // gates: the conv outputs one extra order-0 channel per order-1/2 field
    expect(convs.map((c) => c.fields)).toEqual(DEFAULT_STEERABLE_FIELDS.map(([a, b, c]) => [a + b + c, b, c]));
    expect(m.layers.filter((l) => l instanceof FieldBatchNorm)).toHaveLength(3);
    const classes = m.layers.map((l) => l.getClassName());
    for (const c of ['FieldNonlinearity', 'FieldInvariants', 'GMRRingPooling2D', 'Dense'])
      expect(classes, classes.join(' ')).toContain(c);
    m.dispose();
  });

  it('logits are invariant to the 8 elements of D4 at 28×28 (≤ 1e-5 relative), not to 45°', () => {
    for (const nonlinearity of ['gate', 'norm-relu'] as const) {
      const m = seeded(5, () => gmrSteerableCNN({ ...SMALL, nonlinearity, inputBlur: 0.6 }));
      warmUpBatchNorm(m, [8, 28, 28, 1], 3);
      const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 11);
      // the first inference call keeps each conv's dense kernel (the inference cache); later calls add nothing
      tf.dispose(m.predict(x) as tf.Tensor);
      const before = tf.memory().numTensors;
      const ref = m.predict(x) as tf.Tensor;
      const scale = Math.max(...Array.from(ref.dataSync()).map(Math.abs));
      const errs = modelInvarianceCheck((t) => m.predict(t) as tf.Tensor, x);
      // the 7 elements other than the identity
      expect(Object.keys(errs)).toHaveLength(7);
      for (const v of Object.values(errs)) expect(v! / scale).toBeLessThan(1e-5);
      // a 45° rotation is not a symmetry of the grid: the logits move (measurably, but the check could fail
      // only if the network were constant)
      const r45 = tf.tidy(() => m.predict(rotateBilinear(x as tf.Tensor4D, 45, 'channelsLast')) as tf.Tensor);
      expect(maxAbsDiff(r45.dataSync(), ref.dataSync()) / scale).toBeGreaterThan(1e-4);
      tf.dispose([ref, r45]);
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      m.dispose();
    }
  });

  it('round-trips through save/load with identical logits', async () => {
    const m = seeded(6, () => gmrSteerableCNN({ ...SMALL, numClasses: 4 }));
    warmUpBatchNorm(m, [4, 28, 28, 1], 2);
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 3);
    const a = m.predict(x) as tf.Tensor;
    const back = await loadFromMemory(await saveToMemory(m));
    const b = back.predict(x) as tf.Tensor;
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBe(0);
    tf.dispose([x, a, b]);
    m.dispose();
    back.dispose();
  });

  it('refuses bad options with the parameter, the value and what is allowed', () => {
    expect(() => gmrSteerableCNN({ fields: [] })).toThrow(/fields.*non-empty list/);
    expect(() => gmrSteerableCNN({ fields: [[1, 2] as unknown as [number, number, number]] })).toThrow(/fields\[0\]/);
    expect(() => gmrSteerableCNN({ kernelSizes: [7, 4, 5] })).toThrow(/kernelSizes\[1\].*odd integer/);
    expect(() => gmrSteerableCNN({ kernelSizes: [7, 5] })).toThrow(/kernelSizes.*one odd size per conv \(3\)/);
    expect(() => gmrSteerableCNN({ inputSize: [30, 30] })).toThrow(/inputSize.*even through every pool/);
    expect(() => gmrSteerableCNN({ numClasses: 1 })).toThrow(/numClasses.*integer ≥ 2/);
    expect(() => gmrSteerableCNN({ inputBlur: -1 })).toThrow(/inputBlur/);
    expect(() => gmrSteerableCNN({ nonlinearity: 'tanh' as 'gate' })).toThrow(/nonlinearity.*'norm-relu' or 'gate'/);
    expect(() => gmrSteerableCNN({ pooling: 'max' as 'rings' })).toThrow(/pooling/);
  });
});
