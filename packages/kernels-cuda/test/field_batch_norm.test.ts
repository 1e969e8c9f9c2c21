/**
 * The fused FieldBatchNorm training kernels (GMRFieldBatchNorm / GMRFieldBatchNormGrad, native/field_ops.cc) against
 * core's composed form on cpu: output, the gradients for x, γ and β, and the moving statistics written by the call,
 * for layouts with and without order-0 maps; no leaked tensors or native buffers; a clear error for a wrong input.
 */
import { describe, expect, it } from 'vitest';
import { applyD4ToFields, D4_ELEMENTS, FieldBatchNorm, fieldChannels, type Fields } from '@gmr-conv/core';
import { FIELD_BATCH_NORM, FIELD_BATCH_NORM_GRAD } from '@gmr-conv/core/kernel';
import { kernelCallCounts, loadAddon, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

describe('GMRFieldBatchNorm on native', () => {
  const layouts: Fields[] = [
    [3, 2, 1],
    [0, 2, 3],
    [4, 0, 0],
    [2, 0, 2],
  ];
  for (const fields of layouts) {
    it(`fields [${fields.join(', ')}]: y, dx, dγ, dβ and the moving statistics match core's composed form on cpu`, async () => {
      const c = fieldChannels(fields);
      const shape = [3, 5, 4, c];
      const layer = new FieldBatchNorm({ fields, momentum: 0.5 });
      layer.build(shape);
      // γ in [0.5, 1.5), β in [-1, 1), moving statistics 1: data with a mean and unequal scales per channel
      const weights = layer.weights.map((w, i) => {
        const v = rand(
          w.shape.reduce((p, q) => p! * q!, 1)!,
          60 + i,
        );
        return /gamma/.test(w.originalName)
          ? v.map((e) => 1 + e / 2)
          : /moving/.test(w.originalName)
            ? v.map(() => 1)
            : v;
      });
      const f = () => {
        layer.setWeights(weights.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[])));
        const scales = tf.tensor1d(Array.from({ length: c }, (_, i) => 0.5 + (i % 3)));
        const x = tf.add(
          tf.mul(
            tf.tensor(
              rand(
                shape.reduce((p, q) => p * q, 1),
                61,
              ),
              shape,
            ),
            scales,
          ),
          0.3,
        );
        const r = tf.tensor(rand(x.size, 62), shape);
        const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
        const apply = (t: tf.Tensor) => layer.apply(t, { training: true }) as tf.Tensor;
        const y = apply(x);
        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(apply(x), r)) as tf.Scalar, vars);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(apply(t), r)))(x);
        const moving = layer.nonTrainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val.clone());
        return [y, dx, ...vars.map((v) => grads[v.name]!), ...moving];
      };
      const ref = await on('cpu', f);
      resetKernelCallCounts();
      const got = await on('native', f);
      expect(kernelCallCounts()[FIELD_BATCH_NORM], 'the fused forward ran').toBe(3);
      expect(kernelCallCounts()[FIELD_BATCH_NORM_GRAD], 'the fused gradient ran').toBe(2);
      expect(got.length).toBe(ref.length);
      const names = [
        'y',
        'dx',
        ...layer.trainableWeights.map((w) => `d${w.originalName}`),
        ...layer.nonTrainableWeights.map((w) => w.originalName),
      ];
      got.forEach((g, i) => expect(relErr(g, ref[i]!), names[i]).toBeLessThan(1e-4));
    });
  }

  it('is exactly D4-equivariant in training (batch statistics are invariant to the 8 grid symmetries)', async () => {
    await tf.setBackend('native');
    const fields: Fields = [2, 2, 2];
    const c = fieldChannels(fields);
    const layer = new FieldBatchNorm({ fields });
    const x = tf.add(tf.tensor(rand(2 * 6 * 6 * c, 71), [2, 6, 6, c]), 0.2);
    resetKernelCallCounts();
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    for (const g of D4_ELEMENTS) {
      const [a, b] = tf.tidy(() => [
        layer.apply(applyD4ToFields(x, g, fields), { training: true }) as tf.Tensor,
        applyD4ToFields(y, g, fields),
      ]);
      expect(relErr(a!.dataSync() as Float32Array, b!.dataSync() as Float32Array), g).toBeLessThan(1e-5);
      tf.dispose([a!, b!]);
    }
    expect(kernelCallCounts()[FIELD_BATCH_NORM], 'the fused kernel ran').toBe(9);
    tf.dispose([x, y]);
  });

  it('leaks no tensors and no native buffers over repeated training steps', async () => {
    await tf.setBackend('native');
    const fields: Fields = [2, 2, 1];
    const layer = new FieldBatchNorm({ fields });
    const x = tf.tensor(rand(2 * 4 * 4 * fieldChannels(fields), 5), [2, 4, 4, fieldChannels(fields)]);
    layer.build(x.shape);
    const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const step = () =>
      tf.tidy(() =>
        Object.values(
          tf.variableGrads(() => tf.sum(tf.square(layer.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, vars)
            .grads,
        ).forEach((g) => g.dataSync()),
      );
    expectNoLeaks(step, 30);
    x.dispose();
  });

  it('refuses inputs that do not match the fields, naming them', async () => {
    await tf.setBackend('native');
    const x = tf.zeros([2, 3, 8]);
    const gamma = tf.ones([5]);
    const beta = tf.zeros([3]);
    expect(() =>
      tf.engine().runKernel(FIELD_BATCH_NORM, { x, gamma, beta }, { fields: [3, 1, 1], epsilon: 1e-3 }),
    ).toThrow(/GMRFieldBatchNorm.*inputs.*x \[2,3,8\], gamma \[5\]/s);
    tf.dispose([x, gamma, beta]);
  });
});

describe("the addon's fieldBatchNorm / fieldBatchNormGrad on many rows", () => {
  // More rows than the 64 fixed sum chunks, and channel counts that take the 16- and 8-channel register blocks and the
  // one-channel tail (27 = 16 + 8 + 3; 19 + 4 + 4 order-m channels; 64 as the plain CNN's 7×7 layer).
  const cases: { fields: Fields; rows: number }[] = [
    { fields: [27, 0, 0], rows: 700 },
    { fields: [19, 2, 2], rows: 333 },
    { fields: [64, 0, 0], rows: 1568 },
    { fields: [0, 4, 4], rows: 65 },
  ];
  for (const { fields, rows } of cases) {
    it(`fields [${fields.join(', ')}], ${rows} rows: matches a double reference, the same bits at 1 and 2 threads`, () => {
      const { addon } = loadAddon('host');
      const [n0, n1, n2] = fields;
      const C = fieldChannels(fields);
      const F = n0 + n1 + n2;
      const field = [
        ...Array.from({ length: n0 }, (_, c) => c),
        ...[0, 1].flatMap(() => Array.from({ length: n1 }, (_, j) => n0 + j)),
        ...[0, 1].flatMap(() => Array.from({ length: n2 }, (_, j) => n0 + n1 + j)),
      ];
      const x = Float32Array.from(rand(rows * C, 81), (v, i) => v * (0.5 + (i % C) / 7) + (i % 5) * 0.3);
      const dy = Float32Array.from(rand(rows * C, 82));
      const gamma = Float32Array.from(rand(F, 83), (v) => 1 + v / 2);
      const beta = n0 > 0 ? Float32Array.from(rand(n0, 84)) : null;
      const eps = 1e-3;
      // Reference in double: mean per order-0 channel, variance per field, then y, dx, dγ and dβ.
      const mean = new Float64Array(C);
      const varF = new Float64Array(F);
      for (let c = 0; c < n0; c++) {
        for (let r = 0; r < rows; r++) mean[c]! += x[r * C + c]!;
        mean[c]! /= rows;
      }
      for (let c = 0; c < C; c++)
        for (let r = 0; r < rows; r++) varF[field[c]!]! += (x[r * C + c]! - mean[c]!) ** 2 / rows;
      const inv = Array.from({ length: C }, (_, c) => 1 / Math.sqrt(varF[field[c]!]! + eps));
      const yRef = new Float64Array(rows * C);
      const corr = new Float64Array(F);
      const sdy = new Float64Array(C);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < C; c++) {
          const i = r * C + c;
          yRef[i] = (x[i]! - mean[c]!) * inv[c]! * gamma[field[c]!]! + (c < n0 ? beta![c]! : 0);
          sdy[c]! += dy[i]!;
          corr[field[c]!]! += (dy[i]! * (x[i]! - mean[c]!) * inv[c]!) / rows;
        }
      const dxRef = new Float64Array(rows * C);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < C; c++) {
          const i = r * C + c;
          const a = inv[c]! * gamma[field[c]!]!;
          dxRef[i] =
            dy[i]! * a - (x[i]! - mean[c]!) * a * inv[c]! * corr[field[c]!]! - (c < n0 ? (a * sdy[c]!) / rows : 0);
        }
      const before = addon!.info().threads;
      const runs: Float32Array[][] = [];
      try {
        for (const threads of [1, 2]) {
          addon!.setThreads(threads);
          const [y, m, stats, invStd, dx, dgamma] = [rows * C, C, F, C, rows * C, F].map((n) => new Float32Array(n));
          const dbeta = n0 > 0 ? new Float32Array(n0) : null;
          addon!.fieldBatchNorm(x, n0, n1, n2, gamma, beta, eps, 0, y!, m!, stats!, invStd!);
          addon!.fieldBatchNormGrad(x, dy, n0, n1, n2, m!, invStd!, gamma, null, 0, dx!, dgamma!, dbeta);
          runs.push([y!, m!, stats!, invStd!, dx!, dgamma!, ...(dbeta ? [dbeta] : [])]);
        }
      } finally {
        addon!.setThreads(before);
      }
      const [y, , stats, , dx, dgamma, dbeta] = runs[0]!;
      expect(relErr(y!, yRef), 'y').toBeLessThan(1e-5);
      expect(relErr(stats!, varF), 'stats').toBeLessThan(1e-5);
      expect(relErr(dx!, dxRef), 'dx').toBeLessThan(1e-4);
      expect(
        relErr(
          dgamma!,
          corr.map((v) => v * rows),
        ),
        'dγ',
      ).toBeLessThan(1e-4);
      if (dbeta) expect(relErr(dbeta, sdy.slice(0, n0)), 'dβ').toBeLessThan(1e-5);
      runs[1]!.forEach((v, i) => expect(Array.from(v), `output ${i} at 2 threads`).toEqual(Array.from(runs[0]![i]!)));
    });
  }
});
