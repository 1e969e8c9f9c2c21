import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyD4ToFields, D4_ELEMENTS, fieldChannels, GMRSteerableConv2D, type Fields } from '../src/index.js';
import { denseSteerableKernel, relMax } from './helpers/steerable_reference.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

const ALL_ORDERS: Fields = [2, 2, 1];

describe('GMRSteerableConv2D', () => {
  it('equals tf.conv2d with the dense tap-by-tap kernel (k 5 and 7, same and valid, both paths)', () => {
    for (const [k, padding, strides, path] of [
      [5, 'same', 1, 'rings'],
      [5, 'valid', 1, 'dense'],
      [7, 'same', 2, 'dense'],
      [7, 'valid', 1, 'rings'],
      [7, 'same', 1, 'rings'],
      [5, 'same', 1, 'dense'],
    ] as const) {
      const layer = new GMRSteerableConv2D({
        fields: [2, 1, 2],
        inputFields: ALL_ORDERS,
        kernelSize: k,
        padding,
        strides,
        path,
        biasInitializer: 'randomNormal',
      });
      const x = tf.randomNormal([2, 11, 11, fieldChannels(ALL_ORDERS)], 0, 1, 'float32', k);
      const y = layer.apply(x) as tf.Tensor;
      const kernel = denseSteerableKernel(layer);
      const bias = tf.concat([layer.getWeights()[2]!, tf.zeros([fieldChannels([2, 1, 2]) - 2])]);
      const want = tf.add(tf.conv2d(x as tf.Tensor4D, kernel, strides, padding), bias);
      expect(y.shape).toEqual(want.shape);
      expect(layer.computeOutputShape(x.shape)).toEqual(y.shape);
      expect(relMax(y, want), `k ${k} ${padding} ${path}`).toBeLessThan(1e-5);
      expect(relMax(layer.synthesizedKernel(), kernel)).toBeLessThan(1e-5);
      layer.dispose();
    }
  });

  it('is exactly equivariant to the 8 elements of D4, field by field (28×28 and 14×14)', () => {
    for (const [size, inputFields, fields, k] of [
      [28, [1, 0, 0], [2, 2, 2], 7],
      [14, ALL_ORDERS, [1, 2, 2], 5],
    ] as const) {
      const layer = new GMRSteerableConv2D({ fields: [...fields], inputFields: [...inputFields], kernelSize: k });
      const x = tf.randomNormal([1, size, size, fieldChannels([...inputFields])], 0, 1, 'float32', size);
      const y = layer.apply(x) as tf.Tensor;
      for (const g of D4_ELEMENTS) {
        const lhs = layer.apply(applyD4ToFields(x, g, [...inputFields])) as tf.Tensor;
        const rhs = applyD4ToFields(y, g, [...fields]);
        expect(relMax(lhs, rhs), `${g} at ${size}`).toBeLessThan(1e-5);
      }
      layer.dispose();
    }
  });
});
