/**
 * GMRSteerableConv2D keeps its path's weights (dense kernel or mixing weights) between inference calls and rebuilds
 * them when θ or log σ change (an optimizer step or setWeights assigns new data): never stale, never a leak. 'auto'
 * takes the path a backend registered (setSteerablePath), 'dense' where none did.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GMRSteerableConv2D, steerablePathFor } from '../src/index.js';
import { setSteerablePath } from '../src/kernel/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('GMRSteerableConv2D inference cache', () => {
  // 'rings' runs core's composed GMR op here: the same function as the conv, to float rounding of another order of sums
  for (const [path, tol] of [
    ['dense', 1e-6],
    ['rings', 1e-5],
  ] as const)
    it(`inference equals the conv with the freshly synthesised kernel, before and after the weights change (path '${path}')`, () => {
      const layer = new GMRSteerableConv2D({ fields: [2, 2, 1], inputFields: [1, 1, 1], kernelSize: 5, path });
      const x = tf.randomNormal([2, 10, 10, 5], 0, 1, 'float32', 1);
      const reference = () => tf.tidy(() => tf.conv2d(x as tf.Tensor4D, layer.synthesizedKernel(), 1, 'same'));
      const y1 = layer.apply(x) as tf.Tensor;
      const r1 = reference();
      expect(maxDiff(y1, r1)).toBeLessThan(tol);
      // repeated inference keeps one cached kernel and leaks nothing
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) tf.dispose(layer.apply(x) as tf.Tensor);
      expect(tf.memory().numTensors).toBe(before);
      // new θ and log σ (as an optimizer or a load would write them): the next inference uses them
      // weights in order: θ, log σ, bias
      const [theta, logSigmas, bias] = layer.getWeights();
      expect(theta!.rank).toBe(3);
      expect(logSigmas!.rank).toBe(1);
      layer.setWeights([tf.mul(theta!, -2), tf.add(logSigmas!, 0.3), bias!]);
      const y2 = layer.apply(x) as tf.Tensor;
      const r2 = reference();
      expect(maxDiff(y2, r2)).toBeLessThan(tol);
      expect(maxDiff(y2, y1)).toBeGreaterThan(1e-3);
      // training-mode calls and gradients do not use the cache: the gradient reaches θ
      const g = tf.grad((t: tf.Tensor) => tf.sum(layer.apply(t, { training: true }) as tf.Tensor))(x);
      expect(g.shape).toEqual(x.shape);
      const vg = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar);
      expect(Object.keys(vg.grads).length).toBeGreaterThan(0);
      for (const v of Object.values(vg.grads))
        expect(tf.tidy(() => tf.max(tf.abs(v)).dataSync()[0]!)).toBeGreaterThan(0);
      tf.dispose([x, y1, r1, y2, r2, g, vg.value, ...Object.values(vg.grads)]);
      const held = tf.memory().numTensors;
      layer.disposeCaches();
      expect(tf.memory().numTensors).toBeLessThan(held);
      layer.dispose();
    });

  it("'auto' takes the path the backend registered, 'dense' where none did", () => {
    expect(steerablePathFor('cpu')).toBe('dense');
    const layer = new GMRSteerableConv2D({ fields: [1, 1, 0], inputFields: [1, 0, 0], kernelSize: 3 });
    expect(layer.path).toBe('auto');
    const x = tf.randomNormal([1, 6, 6, 1], 0, 1, 'float32', 2);
    const dense = layer.apply(x) as tf.Tensor;
    setSteerablePath('cpu', 'rings');
    try {
      expect(steerablePathFor('cpu')).toBe('rings');
      const tensors = tf.memory().numTensors;
      const rings = layer.apply(x) as tf.Tensor;
      // the cache now holds the mixing weights [Cout, Cin, rows] instead of the dense kernel [k, k, Cin, Cout]: as many tensors
      expect(tf.memory().numTensors).toBe(tensors + 1);
      expect(maxDiff(rings, dense)).toBeLessThan(1e-5);
      expect(maxDiff(rings, dense)).toBeGreaterThan(0); // another computation (sums in another order), not the cached conv
      tf.dispose(rings);
    } finally {
      setSteerablePath('cpu', 'dense');
    }
    tf.dispose([x, dense]);
    layer.dispose();
  });
});
