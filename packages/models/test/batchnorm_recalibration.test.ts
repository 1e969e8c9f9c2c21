import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  FieldBatchNorm,
  FieldInvariants,
  FieldNonlinearity,
  fieldLayout,
  GMRSteerableConv2D,
  optimizeWasmBackend,
  type Fields,
} from '@gmr-conv/core';
import { gmrCNN, plainCNN, recalibrateBatchNorm } from '../src/index.js';
import { seeded, tf, useBackend } from './helpers/backend.js';

beforeAll(async () => {
  await useBackend('wasm');
  optimizeWasmBackend(); // Conv2DBackpropFilter for the plain CNN on wasm
});

function trainSteps(model: tfl.LayersModel, steps: number) {
  const opt = tf.train.adam(0.05);
  const x = tf.randomNormal([16, 28, 28, 1], 0.3, 1, 'float32', 11);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 16 }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  for (let i = 0; i < steps; i++)
    tf.dispose(
      opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        true,
      ) ?? [],
    );
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
    const stats = names.map((n) =>
      g
        .getLayer(n)
        .getWeights()
        .slice(2)
        .map((t) => t.dataSync().slice()),
    );
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
    names.forEach((n, i) =>
      g
        .getLayer(n)
        .getWeights()
        .slice(2)
        .forEach((t, k) =>
          t
            .dataSync()
            .forEach((x, c) => expect(Math.abs(x - stats[i][k][c])).toBeLessThan(1e-3 * Math.max(1, Math.abs(x)))),
        ),
    );
    images.dispose();
    g.dispose();
  });

  it('makes inference mode agree with the batch statistics on the calibration set', () => {
    const p = seeded(6, () => plainCNN({ widths: [4, 8, 8] }));
    trainSteps(p, 4);
    const images = tf.randomUniform([32, 28, 28, 1], 0, 1, 'float32', 8);
    const gap = () =>
      tf.tidy(
        () =>
          tf
            .max(
              tf.abs(
                tf.sub(
                  p.apply(images, { training: false }) as tf.Tensor,
                  p.apply(images, { training: true }) as tf.Tensor,
                ),
              ),
            )
            .dataSync()[0],
      );
    const lagging = gap();
    recalibrateBatchNorm(p, images);
    const after = gap();
    // training mode normalises each layer with this batch's statistics, which are now the moving ones
    expect(after).toBeLessThan(1e-3);
    expect(lagging).toBeGreaterThan(10 * after);
    expect(() => recalibrateBatchNorm(p, images, { batchSize: 0 })).toThrow(
      /`batchSize` must be a positive integer, got 0/,
    );
    images.dispose();
    p.dispose();
  });

  it('recalibrates FieldBatchNorm: order-0 mean/variance as BN, moving_square_norm = population E|z|² per field', () => {
    const f1: Fields = [2, 2, 1];
    const f2: Fields = [3, 1, 2];
    const model = seeded(7, () =>
      tfl.sequential({
        layers: [
          new GMRSteerableConv2D({ name: 'sconv1', fields: f1, kernelSize: 5, inputShape: [28, 28, 1] }),
          new FieldBatchNorm({ name: 'fbn1', fields: f1 }),
          new FieldNonlinearity({
            name: 'act1',
            fields: f1,
            biasInitializer: { className: 'Constant', config: { value: -0.3 } },
          }),
          tfl.layers.averagePooling2d({ poolSize: 2 }),
          new GMRSteerableConv2D({ name: 'sconv2', fields: f2, inputFields: f1, kernelSize: 3 }),
          new FieldBatchNorm({ name: 'fbn2', fields: f2 }),
          new FieldInvariants({ name: 'inv', fields: f2 }),
          tfl.layers.globalAveragePooling2d({}),
          tfl.layers.batchNormalization({ name: 'head_bn' }),
          tfl.layers.dense({ units: 10 }),
        ],
      }),
    );
    trainSteps(model, 3);
    const images = tf.randomUniform([24, 28, 28, 1], 0, 1, 'float32', 9);
    const gap = () =>
      tf.tidy(
        () =>
          tf
            .max(
              tf.abs(
                tf.sub(
                  model.apply(images, { training: false }) as tf.Tensor,
                  model.apply(images, { training: true }) as tf.Tensor,
                ),
              ),
            )
            .dataSync()[0]!,
      );
    const lagging = gap();
    const before = tf.memory().numTensors;
    const names = recalibrateBatchNorm(model, images, { batchSize: 5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(names).toEqual(['fbn1', 'fbn2', 'head_bn']);
    const named = (layer: tfl.layers.Layer) =>
      Object.fromEntries(
        layer.weights.map((w, i) => [w.originalName.split('/').pop()!, layer.getWeights()[i]!.dataSync().slice()]),
      );
    for (const [name, fields] of [
      ['fbn1', f1],
      ['fbn2', f2],
    ] as const) {
      // independent route: the whole prefix at once, plain arrays
      const layer = model.getLayer(name);
      const prefix = tfl.model({ inputs: model.inputs, outputs: layer.input as tfl.SymbolicTensor });
      const y = tf.tidy(() => prefix.predict(images) as tf.Tensor);
      const C = y.shape[3]!;
      const v = y.dataSync();
      const count = v.length / C;
      const channelMean = (c: number, g: (x: number) => number) => {
        let s = 0;
        for (let i = c; i < v.length; i += C) s += g(v[i]!);
        return s / count;
      };
      const l = fieldLayout(fields);
      const w = named(layer);
      for (let c = 0; c < fields[0]; c++) {
        const mean = channelMean(c, (x) => x);
        expect(w.moving_mean![c]).toBeCloseTo(mean, 4);
        expect(Math.abs(w.moving_variance![c]! - channelMean(c, (x) => (x - mean) ** 2))).toBeLessThan(
          1e-3 * Math.max(1, w.moving_variance![c]!),
        );
      }
      let k = 0;
      for (const m of [1, 2] as const) {
        for (let i = 0; i < fields[m]; i++, k++) {
          const power = channelMean(l.re[m] + i, (x) => x * x) + channelMean(l.im[m] + i, (x) => x * x);
          expect(Math.abs(w.moving_square_norm![k]! - power), `${name} field ${k}`).toBeLessThan(
            1e-4 * Math.max(1, power),
          );
        }
      }
      expect(k).toBe(fields[1] + fields[2]);
      y.dispose();
    }
    // one batch gives the same statistics, and inference mode now agrees with batch statistics on this set
    const stats = names.map((n) =>
      model
        .getLayer(n)
        .getWeights()
        .map((t) => t.dataSync().slice()),
    );
    recalibrateBatchNorm(model, images, { batchSize: 256 });
    names.forEach((n, i) =>
      model
        .getLayer(n)
        .getWeights()
        .forEach((t, j) =>
          t
            .dataSync()
            .forEach((x, c) => expect(Math.abs(x - stats[i]![j]![c]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(x)))),
        ),
    );
    const after = gap();
    expect(after).toBeLessThan(1e-3);
    expect(lagging).toBeGreaterThan(10 * after);
    images.dispose();
    model.dispose();
  });
});
