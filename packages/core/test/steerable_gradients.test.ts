/**
 * Central differences for every parameter of the steerable layers and for the input: a small
 * conv → FieldBatchNorm (training) → FieldNonlinearity chain, loss = Σ y·R over the conv's and the chain's outputs with fixed random R, summed in float64.
 * float32 throughout (tfjs has no float64): step 5e-4 (small: a larger step moves some |z| across
 * the norm-ReLU's kink at |z| = −b, which central differences cannot see through), tolerance 1 % of max(|g|, 5 % of the largest |g|), as
 * ops_gradients.test.ts.
 */
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FieldBatchNorm,
  fieldChannels,
  FieldInvariants,
  FieldNonlinearity,
  gatedFields,
  GMRSteerableConv2D,
  type Fields,
} from '../src/index.js';
import { randnArray, rng } from './helpers/gmr_reference.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

/** Σ f(input)·R summed in float64 (the finite differences' loss). */
const lossInFloat64 = (f: (input: tf.Tensor) => tf.Tensor, R: Float32Array) => (input: tf.Tensor) => {
  const d = tf.tidy(() => f(input)).dataSync();
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i]! * R[i]!;
  return s;
};

describe('steerable layers: gradients', () => {
  for (const path of ['rings', 'dense'] as const) {
    it(`match central differences for θ, log σ, bias, BN γ/β, norm-ReLU bias and the input (${path})`, () => {
      const inFields: Fields = [1, 1, 1];
      const fields: Fields = [2, 1, 1];
      // Seeded: with random weights a pre-activation now and then lies within a step of a ReLU kink, where central
      // differences average two slopes (about one run in five failed before the seeds).
      const conv = new GMRSteerableConv2D({
        fields,
        inputFields: inFields,
        kernelSize: 5,
        path,
        kernelInitializer: { className: 'RandomNormal', config: { stddev: 0.5, seed: 11 } },
        biasInitializer: { className: 'RandomNormal', config: { seed: 12 } },
      });
      const bn = new FieldBatchNorm({ fields });
      const nl = new FieldNonlinearity({
        fields,
        biasInitializer: { className: 'RandomUniform', config: { minval: -0.1, maxval: -0.02, seed: 2 } },
      });
      const x = tf.tensor4d(randnArray(2 * 7 * 7 * fieldChannels(inFields), 1), [2, 7, 7, fieldChannels(inFields)]);
      // The conv's own output is part of the loss too: batch norm removes the mean, and with it the conv bias.
      // Negative norm-ReLU biases keep the loss flat near z = 0, where z·(|z| + b)/|z| would turn sharply for b > 0.
      const forward = (input: tf.Tensor) =>
        tf.tidy(() => {
          const c = conv.apply(input) as tf.Tensor;
          return tf.concat([c, nl.apply(bn.apply(c, { training: true }) as tf.Tensor) as tf.Tensor], 3);
        });
      const y0 = forward(x);
      const R = randnArray(y0.size, 2);
      const Rt = tf.tensor(R, y0.shape);
      const lossOf = lossInFloat64(forward, R);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(x), Rt)) as tf.Scalar);
      const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(forward(input), Rt)))(x);
      const layers = [conv, bn, nl];
      const checked: string[] = [];
      const r = rng(3);
      const eps = 5e-4;
      const checkCoords = (
        name: string,
        base: Float32Array,
        grad: Float32Array,
        lossAt: (v: Float32Array) => number,
      ) => {
        let scale = 0;
        let argmax = 0;
        grad.forEach((g, i) => {
          if (Math.abs(g) > scale) [scale, argmax] = [Math.abs(g), i];
        });
        expect(scale, `${name}: gradient identically zero`).toBeGreaterThan(0);
        const coords = new Set<number>([argmax]);
        while (coords.size < Math.min(4, base.length)) coords.add(Math.floor(r() * base.length));
        for (const i of coords) {
          const plus = base.slice();
          plus[i] += eps;
          const minus = base.slice();
          minus[i] -= eps;
          const fd = (lossAt(plus) - lossAt(minus)) / (2 * eps);
          const tol = 1e-2 * Math.max(Math.abs(grad[i]!), 0.05 * scale);
          expect(
            Math.abs(fd - grad[i]!),
            `${name}[${i}]: analytic ${grad[i]} vs finite difference ${fd}`,
          ).toBeLessThanOrEqual(tol);
        }
        checked.push(name);
      };
      for (const layer of layers) {
        for (const w of layer.trainableWeights) {
          const v = (w as unknown as { val: tf.Variable }).val;
          const g = grads[v.name];
          expect(g, `gradient for ${w.originalName}`).toBeDefined();
          const base = v.dataSync().slice() as Float32Array;
          checkCoords(w.originalName, base, g!.dataSync() as Float32Array, (vals) => {
            v.assign(tf.tensor(vals, v.shape));
            const l = lossOf(x);
            v.assign(tf.tensor(base, v.shape));
            return l;
          });
        }
      }
      checkCoords('input', x.dataSync() as Float32Array, dx.dataSync() as Float32Array, (vals) =>
        lossOf(tf.tensor(vals, x.shape)),
      );
      expect(checked.map((n) => n.split('/').pop())).toEqual([
        'kernel',
        'log_sigmas',
        'bias',
        'gamma',
        'beta',
        'field_gamma',
        'bias',
        'input',
      ]);
      layers.forEach((l) => l.dispose());
    });
  }

  it('match central differences for the input of the gate non-linearity and of the invariants (all products)', () => {
    const fields: Fields = [2, 2, 2];
    const cases: [string, Fields, FieldNonlinearity | FieldInvariants][] = [
      ['gate', gatedFields(fields), new FieldNonlinearity({ fields, mode: 'gate' })],
      ['invariants', fields, new FieldInvariants({ fields })],
    ];
    for (const [name, inFields, layer] of cases) {
      const layerOf = (t: tf.Tensor) => layer.apply(t) as tf.Tensor;
      const shape = [2, 4, 5, fieldChannels(inFields)];
      const x = tf.tensor(
        randnArray(
          shape.reduce((a, b) => a * b),
          5,
        ),
        shape,
      );
      const y0 = layerOf(x);
      const R = randnArray(y0.size, 6);
      const Rt = tf.tensor(R, y0.shape);
      const lossOf = lossInFloat64(layerOf, R);
      const g = tf
        .grad((t: tf.Tensor) => tf.sum(tf.mul(layerOf(t), Rt)))(x)
        .dataSync();
      const base = x.dataSync() as Float32Array;
      const scale = Array.from(g).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale, `${name}: gradient identically zero`).toBeGreaterThan(0);
      const r = rng(7);
      for (let k = 0; k < 6; k++) {
        const i = Math.floor(r() * base.length);
        const eps = 1e-3;
        const plus = base.slice();
        plus[i] += eps;
        const minus = base.slice();
        minus[i] -= eps;
        const fd = (lossOf(tf.tensor(plus, shape)) - lossOf(tf.tensor(minus, shape))) / (2 * eps);
        expect(Math.abs(fd - g[i]!), `${name}[${i}]: analytic ${g[i]} vs finite difference ${fd}`).toBeLessThanOrEqual(
          1e-2 * Math.max(Math.abs(g[i]!), 0.05 * scale),
        );
      }
    }
  });
});
