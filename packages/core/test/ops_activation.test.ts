/**
 * The GMR ops' `activation` option: 'relu' gives relu(op) for every rank and the transposed op, with and without
 * bias; under a gradient tape the same gradients as relu applied after the op; a bad value is refused by name.
 */
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  GMRValueError,
  gmrConv1d,
  gmrConv2d,
  gmrConv3d,
  gmrConvTranspose2d,
  type GMRConvOptions,
} from '../src/index.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

type Op = (x: tf.Tensor, w: Parameters<typeof gmrConv2d>[1], o: GMRConvOptions) => tf.Tensor;
const cases: [string, Op, number[], number[], number][] = [
  // name, op, x shape, θ shape (n = 3 rings for k = 5), kernel size
  ['gmrConv1d', gmrConv1d as Op, [2, 9, 3], [4, 3, 3], 5],
  ['gmrConv2d', gmrConv2d as Op, [2, 7, 7, 3], [4, 3, 3], 5],
  ['gmrConv3d', gmrConv3d as Op, [1, 5, 5, 5, 2], [3, 2, 3], 5],
  ['gmrConvTranspose2d', gmrConvTranspose2d as Op, [2, 5, 5, 3], [3, 4, 3], 5],
];

describe("GMR ops' activation", () => {
  for (const [name, op, xShape, wShape, k] of cases) {
    it(`${name}: 'relu' is relu(op) with and without bias, and differentiates as relu after the op`, () => {
      const x = tf.randomNormal(xShape, 0, 1, 'float32', 1);
      const weight = tf.randomNormal(wShape, 0, 1, 'float32', 2);
      const logSigmas = tf.randomNormal([wShape[2]!], 0, 0.3, 'float32', 3);
      const outChannels = name === 'gmrConvTranspose2d' ? wShape[1]! : wShape[0]!;
      const bias = tf.randomNormal([outChannels], 0, 1, 'float32', 4);
      for (const b of [null, bias]) {
        const w = { weight, logSigmas, bias: b };
        const o: GMRConvOptions = { kernelSize: k, padding: 'same' };
        const linear = op(x, w, o);
        const fused = op(x, w, { ...o, activation: 'relu' });
        expect(maxAbs(fused, tf.relu(linear))).toBe(0);
        expect(tf.min(linear).dataSync()[0], 'the linear output has negative values to clip').toBeLessThan(0);
        const r = tf.randomNormal(linear.shape, 0, 1, 'float32', 5);
        const [gx, gw] = tf.grads((a: tf.Tensor, t: tf.Tensor) =>
          tf.sum(tf.mul(op(a, { ...w, weight: t }, { ...o, activation: 'relu' }), r)),
        )([x, weight]);
        const [hx, hw] = tf.grads((a: tf.Tensor, t: tf.Tensor) =>
          tf.sum(tf.mul(tf.relu(op(a, { ...w, weight: t }, o)), r)),
        )([x, weight]);
        expect(maxAbs(gx!, hx!)).toBeLessThan(1e-5);
        expect(maxAbs(gw!, hw!)).toBeLessThan(1e-5);
      }
    });
  }

  it('refuses an activation it does not fuse, naming the parameter and the allowed values', () => {
    const x = tf.zeros([1, 5, 5, 1]);
    const w = { weight: tf.zeros([1, 1, 3]) };
    expect(() => gmrConv2d(x, w, { kernelSize: 5, activation: 'elu' as never })).toThrow(GMRValueError);
    const call = () => gmrConv2d(x, w, { kernelSize: 5, activation: 'elu' as never });
    for (const part of [/`activation`/, /"elu"/, /'linear' or 'relu'/]) expect(call).toThrow(part);
  });
});
