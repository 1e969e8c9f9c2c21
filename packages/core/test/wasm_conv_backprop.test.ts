/** registerConv2DBackpropFilter: a plain tfjs Conv2D trains on wasm, with the cpu backend's gradient. */
import * as tfjs from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { registerConv2DBackpropFilter, registerFastTile } from '../src/index.js';
import { relError } from '@gmr-conv/test-utils/oracle/load';

async function filterGrad(backend: string, pad: 'same' | 'valid', strides: number, dataFormat: 'NHWC' | 'NCHW') {
  await tf.setBackend(backend);
  const shape = dataFormat === 'NHWC' ? [2, 9, 8, 3] : [2, 3, 9, 8];
  const x = tf.tensor4d(
    Array.from({ length: 432 }, (_, i) => Math.sin(i * 0.37)),
    shape as [number, number, number, number],
  );
  const f = tf.tensor4d(
    Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 0.11)),
    [3, 3, 3, 4],
  );
  const g = tf.grad((ff: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, ff as tf.Tensor4D, strides, pad, dataFormat))))(f);
  const data = await g.data();
  tf.dispose([x, f, g]);
  return data;
}

describe('registerConv2DBackpropFilter', () => {
  it('registers once on wasm and matches the cpu backend', async () => {
    await tf.setBackend('wasm');
    registerConv2DBackpropFilter('wasm');
    expect(registerConv2DBackpropFilter('wasm')).toBe(false);
    expect(registerConv2DBackpropFilter('cpu')).toBe(false); // cpu has its own
    for (const [pad, strides, fmt] of [
      ['same', 1, 'NHWC'],
      ['valid', 2, 'NHWC'],
      ['same', 2, 'NHWC'],
      ['valid', 1, 'NHWC'],
    ] as const) {
      const cpu = await filterGrad('cpu', pad, strides, fmt);
      const wasm = await filterGrad('wasm', pad, strides, fmt);
      expect(relError(wasm, cpu)).toBeLessThan(1e-5);
    }
  });

  it('a plain tf.layers.conv2d model trains on wasm', async () => {
    await tf.setBackend('wasm');
    registerConv2DBackpropFilter('wasm');
    const model = tfjs.sequential({
      layers: [
        tfjs.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', inputShape: [8, 8, 1] }),
        tfjs.layers.flatten(),
        tfjs.layers.dense({ units: 2 }),
      ],
    });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const h = await model.fit(tf.ones([4, 8, 8, 1]), tf.zeros([4, 2]), { epochs: 2, verbose: 0 });
    expect(h.history.loss.length).toBe(2);
  });
});

describe('registerFastTile', () => {
  it('gives tfjs Tile values for many shapes and reps on wasm', async () => {
    const cases: Array<[number[], number[]]> = [
      [
        [1, 1, 1, 24],
        [4, 5, 6, 1],
      ],
      [
        [2, 3],
        [3, 2],
      ],
      [[3], [4]],
      [
        [2, 1, 3],
        [1, 4, 2],
      ],
      [
        [1, 2, 1, 2],
        [2, 1, 3, 1],
      ],
      [
        [2, 2],
        [1, 1],
      ],
    ];
    const expected: Float32Array[] = [];
    await tf.setBackend('wasm');
    for (const [shape, reps] of cases) {
      const x = tf.tensor(
        Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i + 0.5),
        shape,
      );
      expected.push((await tf.tile(x, reps).data()) as Float32Array);
    }
    expect(registerFastTile('wasm')).toBe(true);
    expect(registerFastTile('wasm')).toBe(false);
    for (let c = 0; c < cases.length; c++) {
      const [shape, reps] = cases[c];
      const x = tf.tensor(
        Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i + 0.5),
        shape,
      );
      const y = tf.tile(x, reps);
      expect(y.shape).toEqual(shape.map((d, i) => d * reps[i]));
      expect(Array.from(await y.data())).toEqual(Array.from(expected[c]));
    }
    const b = tf.tile(tf.tensor([true, false], [2], 'bool'), [2]); // other dtypes: the original kernel
    expect(Array.from(await b.data())).toEqual([1, 0, 1, 0]);
  });
});
