import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { GMRConv2D, modelInvarianceCheck } from '@gmr-conv/core';
import { convertToGMR, exportToPlainConv, gmrCNN, gmrResNet18, plainCNN } from '../src/index.js';
import { maxAbsDiff, seeded, tf, useBackend, warmUpBatchNorm } from './helpers/backend.js';

beforeAll(() => useBackend('wasm'));

/** A plain model with what a converter meets: strided conv with bias and activation, 1×1 conv, BN, dense. */
function plainModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [16, 16, 3] });
  let x = tfl.layers
    .conv2d({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' })
    .apply(input) as tfl.SymbolicTensor;
  x = tfl.layers
    .conv2d({ name: 'c2', filters: 6, kernelSize: 5, strides: 2, padding: 'same', useBias: true })
    .apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: 'bn' }).apply(x) as tfl.SymbolicTensor;
  const skip = tfl.layers.conv2d({ name: 'c3', filters: 6, kernelSize: 1 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.add({ name: 'add' }).apply([x, skip]) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tfl.SymbolicTensor;
  const y = tfl.layers.dense({ name: 'fc', units: 3 }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: y, name: 'plain' });
}

describe('convertToGMR', () => {
  it('replaces every Conv2D with kernel > 1; strided ones become AvgPool + stride-1 GMR conv', () => {
    const m = plainModel();
    const g = convertToGMR(m);
    const names = g.layers.map((l) => `${l.name}:${l.getClassName()}`);
    expect(names).toContain('c1:GMRConv2D');
    expect(names).toContain('c2.0:AveragePooling2D');
    expect(names).toContain('c2.1:GMRConv2D');
    expect(names).toContain('c3:Conv2D'); // 1×1 stays
    const c1 = g.getLayer('c1') as GMRConv2D;
    expect(c1.strides).toEqual([1, 1]);
    expect(c1.padding).toBe('same');
    expect(c1.getConfig().activation).toBe('relu');
    expect(c1.useBias).toBe(true);
    expect(c1.initScheme).toBe('reference');
    // bias and the other layers' weights come along
    expect(
      maxAbsDiff(
        (
          g
            .getLayer('c2.1')
            .getWeights()
            .find((_, i) => g.getLayer('c2.1').weights[i].name.includes('bias')) as tf.Tensor
        ).dataSync(),
        (m.getLayer('c2').getWeights()[1] as tf.Tensor).dataSync(),
      ),
    ).toBe(0);
    expect(
      maxAbsDiff(
        (g.getLayer('fc').getWeights()[0] as tf.Tensor).dataSync(),
        (m.getLayer('fc').getWeights()[0] as tf.Tensor).dataSync(),
      ),
    ).toBe(0);
    expect(
      maxAbsDiff(
        (g.getLayer('c3').getWeights()[0] as tf.Tensor).dataSync(),
        (m.getLayer('c3').getWeights()[0] as tf.Tensor).dataSync(),
      ),
    ).toBe(0);
    const x = tf.randomNormal([2, 16, 16, 3]);
    expect((g.predict(x) as tf.Tensor).shape).toEqual([2, 3]);
    // the input model is untouched and still works
    expect((m.predict(x) as tf.Tensor).shape).toEqual([2, 3]);
    expect(m.getLayer('c2').getClassName()).toBe('Conv2D');
    m.dispose();
    g.dispose();
  });
  it('honours every option (the reference drops kernel_shape, train_index_mat and force_circular)', () => {
    const m = plainModel();
    const g = convertToGMR(m, {
      forceCircular: false,
      trainIndexMat: true,
      numRings: 4,
      gaussianMixtureRing: true,
      trainGaussianSigma: false,
      sigmaScale: 1.5,
      clipSigma: false,
      path: 'dense',
      initScheme: 'kaimingNormalFanOut',
      // c2 only: c1 stays plain, and c3 is 1×1 (4 rings would be refused: a 1×1 kernel has 2 distinct tap distances at most)
      filter: (l) => l.name === 'c2',
      copyWeights: false,
      name: 'converted',
    });
    expect(g.name).toBe('converted');
    expect(g.getLayer('c1').getClassName()).toBe('Conv2D');
    const c2 = g.getLayer('c2.1') as GMRConv2D;
    expect(c2.forceCircular).toBe(false);
    expect(c2.trainIndexMat).toBe(true);
    expect(c2.numRings).toBe(4);
    expect(c2.trainGaussianSigma).toBe(false);
    expect(c2.sigmaScale).toBe(1.5);
    expect(c2.clipSigma).toBe(false);
    expect(c2.path).toBe('dense');
    expect(c2.initScheme).toBe('kaimingNormalFanOut');
    expect(c2.weights.map((w) => w.name.split('/').pop())).toContain('index_mat');
    expect(
      maxAbsDiff(
        (g.getLayer('fc').getWeights()[0] as tf.Tensor).dataSync(),
        (m.getLayer('fc').getWeights()[0] as tf.Tensor).dataSync(),
      ),
    ).toBeGreaterThan(0);
    m.dispose();
    g.dispose();
  });
  it('the converted plain CNN is D4-invariant at 28×28', () => {
    const g = seeded(5, () => convertToGMR(plainCNN({ widths: [8, 16, 32] })));
    expect(g.layers.filter((l) => l instanceof GMRConv2D).length).toBe(3);
    warmUpBatchNorm(g, [8, 28, 28, 1]);
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 6);
    const d4 = modelInvarianceCheck((t) => g.predict(t) as tf.Tensor, x);
    for (const v of Object.values(d4)) expect(v).toBeLessThan(1e-4);
    x.dispose();
    g.dispose();
  });
  it('converts a Sequential model too', () => {
    const valid = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 3, kernelSize: 3, strides: 2, name: 'sv' }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 2, name: 'dv' }),
      ],
    });
    // 8 → conv k3 s2 valid → 3, but 8 → AvgPool 2 → 4 → conv k3 valid → 2: the dense weights no longer fit.
    expect(() => convertToGMR(valid)).toThrow(/layer 'dv' cannot keep its weights.*padding 'same'/);
    expect(convertToGMR(valid, { copyWeights: false }).outputs[0].shape).toEqual([null, 2]);
    valid.dispose();
    const s = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same' }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 2 }),
      ],
    });
    const g = convertToGMR(s);
    expect(g.layers.some((l) => l instanceof GMRConv2D)).toBe(true);
    expect(g.layers.some((l) => l.getClassName() === 'AveragePooling2D')).toBe(true);
    const x = tf.randomNormal([1, 8, 8, 2]);
    expect((g.predict(x) as tf.Tensor).shape).toEqual((s.predict(x) as tf.Tensor).shape);
    s.dispose();
    g.dispose();
  });
});

describe('exportToPlainConv', () => {
  for (const [name, make, shape] of [
    [
      'gmr_resnet18 (numeric padding, AvgPool strides)',
      () => gmrResNet18({ numClasses: 5, inplanes: 4, gmrConvSize: [5, 5, 3, 3] }),
      [2, 32, 32, 3],
    ],
    ['gmr_cnn', () => gmrCNN({ widths: [4, 8, 16] }), [2, 28, 28, 1]],
  ] as const) {
    it(`${name}: only plain layers, same outputs within 1e-5`, () => {
      const g = seeded(7, make);
      warmUpBatchNorm(g, [8, ...shape.slice(1)]);
      const p = exportToPlainConv(g);
      expect(p.layers.some((l) => l instanceof GMRConv2D)).toBe(false);
      expect(p.layers.filter((l) => l.getClassName() === 'Conv2D').length).toBe(
        g.layers.filter((l) => l instanceof GMRConv2D).length,
      );
      const x = tf.randomNormal([...shape]);
      const before = tf.memory().numTensors;
      const yg = tf.tidy(() => (g.predict(x) as tf.Tensor).dataSync());
      const yp = tf.tidy(() => (p.predict(x) as tf.Tensor).dataSync());
      const scale = Math.max(1, ...Array.from(yg, Math.abs));
      expect(maxAbsDiff(yg, yp) / scale).toBeLessThan(1e-5);
      expect(tf.memory().numTensors).toBeLessThanOrEqual(
        before + g.layers.filter((l) => l instanceof GMRConv2D).length,
      );
      x.dispose();
      g.dispose();
      p.dispose();
    });
  }
  it('refuses what tfjs Conv2D cannot express', () => {
    const input = tfl.input({ shape: [8, 8, 4] });
    const y = new GMRConv2D({ filters: 4, kernelSize: 3, groups: 2, name: 'grouped' }).apply(
      input,
    ) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: y });
    expect(() => exportToPlainConv(m)).toThrow(
      /layer 'grouped': `groups` must be 1 \(tfjs Conv2D has no groups\), got 2/,
    );
    m.dispose();
    const h = gmrCNN({ widths: [4, 8, 8], harmonicChannels: [0, 2, 0] });
    expect(() => exportToPlainConv(h)).toThrow(
      /layer 'conv2_harmonic': `className` must be GMRConv2D \(a GMRHarmonicConv2D is the magnitude of two convolutions/,
    );
    h.dispose();
  });
});
