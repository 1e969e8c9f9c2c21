import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyD4,
  applyD4ToFields,
  D4_ELEMENTS,
  D4_FIELD_ACTION,
  FieldBatchNorm,
  fieldChannels,
  fieldInvariantChannels,
  FieldInvariants,
  fieldLayout,
  FieldNonlinearity,
  gatedFields,
  GMRSteerableConv2D,
  type Fields,
} from '../src/index.js';
import { relMax } from './helpers/steerable_reference.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

const FIELDS: Fields = [3, 2, 2];

/** A field tensor with a non-trivial mean and spread, so batch norm and biases matter. */
const fieldInput = (fields: Fields, size: number, seed: number) =>
  tf.tidy(() => tf.add(tf.randomNormal([2, size, size, fieldChannels(fields)], 0, 1, 'float32', seed), 0.3));

describe('fields', () => {
  it('lays out [order 0 | Re 1 | Im 1 | Re 2 | Im 2]', () => {
    expect(fieldChannels([3, 2, 1])).toBe(9);
    expect(fieldLayout([3, 2, 1])).toEqual({ fields: [3, 2, 1], channels: 9, order0: 0, re: [0, 3, 7], im: [0, 5, 8] });
    expect(gatedFields([3, 2, 1])).toEqual([6, 2, 1]);
    expect(fieldInvariantChannels([3, 2, 2])).toBe(3 + 4 + 1 + 1 + 2);
    expect(FieldInvariants.outputChannels([3, 2, 2], 'none')).toBe(7);
  });

  it('D4_FIELD_ACTION matches applyD4: a one-hot pixel at offset (x, y) lands at the rotated/mirrored offset', () => {
    // 5×5 image, centre (2, 2); pixel at x = 2, y = 1 (row 3, column 4).
    for (const g of D4_ELEMENTS) {
      const img = tf.buffer([1, 5, 5, 1]);
      img.set(1, 0, 3, 4, 0);
      const moved = applyD4(img.toTensor(), g).dataSync();
      const at = moved.indexOf(1);
      const [row, col] = [Math.floor(at / 5), at % 5];
      const { quarterTurns, mirror } = D4_FIELD_ACTION[g];
      let [x, y] = [2, mirror ? -1 : 1];
      for (let q = 0; q < quarterTurns; q++) [x, y] = [-y, x]; // +90° in (x right, y down) coordinates
      expect([col - 2, row - 2], g).toEqual([x, y]);
    }
  });

  it('the field turn matters: moving pixels without turning the fields breaks equivariance of order-1/2 outputs', () => {
    const layer = new GMRSteerableConv2D({ fields: [0, 1, 1], inputFields: [1, 0, 0], kernelSize: 5 });
    const x = tf.randomNormal([1, 12, 12, 1], 0, 1, 'float32', 3);
    const y = layer.apply(x) as tf.Tensor;
    for (const g of ['rot90', 'flipH', 'transpose'] as const) {
      const lhs = layer.apply(applyD4(x, g)) as tf.Tensor;
      expect(relMax(lhs, applyD4ToFields(y, g, [0, 1, 1]))).toBeLessThan(1e-5);
      expect(relMax(lhs, applyD4(y, g))).toBeGreaterThan(0.5);
    }
    layer.dispose();
  });
});

describe('field layers commute with D4', () => {
  const check = (
    f: (x: tf.Tensor) => tf.Tensor,
    x: tf.Tensor,
    inFields: Fields,
    outFields: Fields | null,
    label: string,
  ) => {
    const y = f(x);
    for (const g of D4_ELEMENTS) {
      const lhs = f(applyD4ToFields(x, g, inFields));
      // outFields null: invariant order-0 output, only the pixels move.
      const rhs = outFields ? applyD4ToFields(y, g, outFields) : applyD4(y, g);
      expect(relMax(lhs, rhs), `${label} ${g}`).toBeLessThan(1e-5);
    }
  };

  it('FieldNonlinearity (norm-relu with learned biases, gate)', () => {
    const nl = new FieldNonlinearity({
      fields: FIELDS,
      biasInitializer: { className: 'RandomUniform', config: { minval: -1, maxval: 0.5 } },
    });
    const x = fieldInput(FIELDS, 14, 1);
    nl.apply(x);
    expect(nl.getWeights()[0]!.shape).toEqual([4]);
    check((t) => nl.apply(t) as tf.Tensor, x, FIELDS, FIELDS, 'norm-relu');
    const gate = new FieldNonlinearity({ fields: FIELDS, mode: 'gate' });
    const gin = gatedFields(FIELDS);
    check((t) => gate.apply(t) as tf.Tensor, fieldInput(gin, 14, 2), gin, FIELDS, 'gate');
  });

  it('FieldNonlinearity computes ReLU on order 0, z·ReLU(|z| + b)/|z| and z·sigmoid(gate) on order > 0', () => {
    const nl = new FieldNonlinearity({
      fields: [1, 1, 0],
      biasInitializer: { className: 'Constant', config: { value: -0.5 } },
    });
    const input = tf.tensor4d([-1, 0.3, 0.4, 2, 0.1, 0.1], [1, 1, 2, 3]);
    const out = (nl.apply(input) as tf.Tensor).arraySync() as number[][][][];
    const norm1 = Math.sqrt(0.25 + 1e-6);
    const norm2 = Math.sqrt(0.02 + 1e-6);
    expect(out[0]![0]![0]![0]).toBe(0);
    expect(out[0]![0]![0]![1]).toBeCloseTo((0.3 * (norm1 - 0.5)) / norm1, 6);
    expect(out[0]![0]![1]![0]).toBe(2);
    expect(norm2).toBeLessThan(0.5);
    expect(out[0]![0]![1]![1]).toBe(0); // |z| ≈ 0.14 < 0.5: thresholded
    const gate = new FieldNonlinearity({ fields: [1, 1, 0], mode: 'gate' });
    const gin = tf.tensor4d([-1, 0.7, 0.3, 0.4], [1, 1, 1, 4]);
    const g = (gate.apply(gin) as tf.Tensor).dataSync();
    const s = 1 / (1 + Math.exp(-0.7));
    expect(Array.from(g)).toEqual([0, expect.closeTo(0.3 * s, 6), expect.closeTo(0.4 * s, 6)]);
  });

  it('gate with as many or unequal order-1 and order-2 fields: z·sigmoid(its own gate), order 0 ReLU, gates dropped', () => {
    for (const fields of [
      [1, 2, 1],
      [2, 1, 3],
      [0, 2, 2],
      [1, 0, 2],
    ] as Fields[]) {
      const [n0, n1, n2] = fields;
      const gin = gatedFields(fields);
      const x = fieldInput(gin, 3, 9);
      const y = (new FieldNonlinearity({ fields, mode: 'gate' }).apply(x) as tf.Tensor).arraySync() as number[][][][];
      const v = (x.arraySync() as number[][][][])[1]![2]![0]!;
      const o = y[1]![2]![0]!;
      const k = n1 + n2;
      const sig = (t: number) => 1 / (1 + Math.exp(-t));
      const want: number[] = [];
      for (let i = 0; i < n0; i++) want.push(Math.max(v[i]!, 0));
      const z = n0 + k; // first Re channel of the input
      for (const [m, n, off] of [
        [1, n1, 0],
        [2, n2, n1],
      ] as const) {
        const re = z + (m === 1 ? 0 : 2 * n1);
        for (const part of [0, 1]) for (let i = 0; i < n; i++) want.push(v[re + part * n + i]! * sig(v[n0 + off + i]!));
      }
      expect(o.length, `${fields}`).toBe(fieldChannels(fields));
      o.forEach((val, c) => expect(val, `${fields} channel ${c}`).toBeCloseTo(want[c]!, 5));
    }
  });

  it('FieldBatchNorm, in training (batch statistics) and in inference (moving statistics)', () => {
    const bn = new FieldBatchNorm({ fields: FIELDS, momentum: 0.5 });
    const x = fieldInput(FIELDS, 14, 3);
    bn.apply(x, { training: true }); // moves the statistics away from their initial values
    check((t) => bn.apply(t, { training: true }) as tf.Tensor, x, FIELDS, FIELDS, 'training');
    check((t) => bn.apply(t) as tf.Tensor, x, FIELDS, FIELDS, 'inference');
  });

  it('FieldBatchNorm normalises order 0 per channel and order m by E|z|², and updates the moving statistics as tfjs does', () => {
    const fields: Fields = [2, 1, 1];
    const bn = new FieldBatchNorm({ fields, momentum: 0.9, epsilon: 1e-3 });
    const x = fieldInput(fields, 6, 4);
    const y = bn.apply(x, { training: true }) as tf.Tensor;
    const ref = tfjs.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
    const x0 = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 2]);
    const y0ref = ref.apply(x0, { training: true }) as tf.Tensor;
    expect(relMax(tf.slice(y, [0, 0, 0, 0], [-1, -1, -1, 2]), y0ref)).toBeLessThan(1e-5);
    const [, , , movingMean, movingVar] = bn.getWeights(); // trainable weights first (tfjs order)
    const [, , refMean, refVar] = ref.getWeights();
    expect(relMax(movingMean!, refMean!)).toBeLessThan(1e-5);
    expect(relMax(movingVar!, refVar!)).toBeLessThan(1e-5);
    // Order 1 (channels 2, 3) and order 2 (4, 5): z / √(mean |z|² + ε); moving E|z|² = 0.9·1 + 0.1·batch.
    const xs = x.arraySync() as number[][][][];
    const ys = y.arraySync() as number[][][][];
    const moving = bn.getWeights()[5]!.dataSync();
    [
      [2, 3],
      [4, 5],
    ].forEach(([re, im], f) => {
      let p = 0;
      let count = 0;
      xs.forEach((b) => b.forEach((r) => r.forEach((v) => ((p += v[re!]! ** 2 + v[im!]! ** 2), count++))));
      p /= count;
      expect(ys[1]![2]![3]![re!]).toBeCloseTo(xs[1]![2]![3]![re!]! / Math.sqrt(p + 1e-3), 5);
      expect(ys[1]![2]![3]![im!]).toBeCloseTo(xs[1]![2]![3]![im!]! / Math.sqrt(p + 1e-3), 5);
      expect(moving[f]).toBeCloseTo(0.9 + 0.1 * p, 5);
    });
  });

  it('FieldInvariants are invariant (order-0 output, pixels only move) and equal |z|² and the paired products', () => {
    const inv = new FieldInvariants({ fields: FIELDS });
    const x = fieldInput(FIELDS, 14, 5);
    check((t) => inv.apply(t) as tf.Tensor, x, FIELDS, null, 'invariants');
    const y = (inv.apply(x) as tf.Tensor).arraySync() as number[][][][];
    const v = (x.arraySync() as number[][][][])[0]![4]![5]!;
    const o = y[0]![4]![5]!;
    // channels: 0..2 order 0; 3, 4 Re1; 5, 6 Im1; 7, 8 Re2; 9, 10 Im2
    const z = (re: number, im: number) => [v[re]!, v[im]!];
    const [z10, z11, z20, z21] = [z(3, 5), z(4, 6), z(7, 9), z(8, 10)];
    const want = [
      v[0],
      v[1],
      v[2],
      z10[0]! ** 2 + z10[1]! ** 2,
      z11[0]! ** 2 + z11[1]! ** 2,
      z20[0]! ** 2 + z20[1]! ** 2,
      z21[0]! ** 2 + z21[1]! ** 2,
    ];
    want.push(z10[0]! * z11[0]! + z10[1]! * z11[1]!, z20[0]! * z21[0]! + z20[1]! * z21[1]!);
    // Re(z2·conj(z1)²) for i = 0, 1
    for (const [a, b] of [
      [z10, z20],
      [z11, z21],
    ] as const) {
      const [sr, si] = [a[0]! ** 2 - a[1]! ** 2, -2 * a[0]! * a[1]!];
      want.push(b[0]! * sr - b[1]! * si);
    }
    expect(o.length).toBe(want.length);
    o.forEach((val, i) => expect(val, `channel ${i}`).toBeCloseTo(want[i]!, 5));
  });
});
