import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { optimizeWasmBackend } from '@gmr-conv/core';
import { gmrCNN, plainCNN, recalibrateBatchNorm } from '../src/index.js';
import { seeded, tf, useBackend } from './helpers/backend.js';

beforeAll(async () => {
  await useBackend('wasm');
  optimizeWasmBackend(); // Conv2DBackpropFilter for the plain CNN on wasm
});

function trainSteps(model: tfl.LayersModel, steps: number) {
  const opt = tf.train.adam(0.05);
  const x = tf.randomNormal([16, 28, 28, 1], 0.3, 1, 'float32', 11);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), 'int32'), 10);
  for (let i = 0; i < steps; i++) tf.dispose(opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true) ?? []);
  tf.dispose([x, y]);
  opt.dispose();
}

describe('recalibrateBatchNorm', () => {
  it('sets each BN layer to the population moments of its input (inference mode, layers in order); batch size does not matter', () => {
    const g = seeded(5, () => gmrCNN({ widths: [4, 8, 8] }));
    trainSteps(g, 3);
    const images = tf.randomUniform([40, 28, 28, 1], 0, 1, 'float32', 3);
    tf.tidy(() => void g.predict(images)); // GMR layers keep an inference cache from their first call
    const before = tf.memory().numTensors;
    const names = recalibrateBatchNorm(g, images, { batchSize: 7 });
    expect(tf.memory().numTensors).toBe(before);
    expect(names).toEqual(['bn1', 'bn2', 'bn3']);
    const stats = names.map((n) => g.getLayer(n).getWeights().slice(2).map((t) => t.dataSync().slice()));
    for (const [i, n] of names.entries()) {
      // independent route: the whole prefix at once, tf.moments
      const prefix = tfl.model({ inputs: g.inputs, outputs: g.getLayer(n).input as tfl.SymbolicTensor });
      const { mean, variance } = tf.tidy(() => tf.moments(prefix.predict(images) as tf.Tensor, [0, 1, 2]));
      const [m, v] = stats[i];
      mean.dataSync().forEach((x, c) => expect(m[c]).toBeCloseTo(x, 3));
      variance.dataSync().forEach((x, c) => expect(Math.abs(v[c] - x)).toBeLessThan(1e-3 * Math.max(1, x)));
      tf.dispose([mean, variance]);
    }
    // the same statistics in one batch
    recalibrateBatchNorm(g, images, { batchSize: 256 });
    names.forEach((n, i) => g.getLayer(n).getWeights().slice(2).forEach((t, k) => t.dataSync().forEach((x, c) => expect(Math.abs(x - stats[i][k][c])).toBeLessThan(1e-3 * Math.max(1, Math.abs(x))))));
    images.dispose();
    g.dispose();
  });

  it('makes inference mode agree with the batch statistics on the calibration set', () => {
    const p = seeded(6, () => plainCNN({ widths: [4, 8, 8] }));
    trainSteps(p, 4);
    const images = tf.randomUniform([32, 28, 28, 1], 0, 1, 'float32', 8);
    const gap = () => tf.tidy(() => tf.max(tf.abs(tf.sub(p.apply(images, { training: false }) as tf.Tensor, p.apply(images, { training: true }) as tf.Tensor))).dataSync()[0]);
    const lagging = gap();
    recalibrateBatchNorm(p, images);
    const after = gap();
    // training mode normalises each layer with this batch's statistics, which are now the moving ones
    expect(after).toBeLessThan(1e-3);
    expect(lagging).toBeGreaterThan(10 * after);
    expect(() => recalibrateBatchNorm(p, images, { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    images.dispose();
    p.dispose();
  });
});
