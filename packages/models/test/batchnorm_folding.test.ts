/**
 * Batch norm folded into the convolution before it (BatchNormFolding): the same outputs as the unfolded model in
 * inference (≤ 1e-5), for GMR and plain convolutions and a residual network; the folded weights are cached and
 * recomputed when a weight or a BN statistic changes; no tensor leaks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { GMRConv2D } from '@gmr-conv/core';
import { BatchNormFolding, gmrCNN, gmrResNet, plainCNN } from '../src/index.js';
import { maxAbsDiff, seeded, tf, useBackend } from './helpers/backend.js';

beforeAll(async () => {
  await useBackend('cpu');
});

/** Non-trivial BN parameters and statistics (γ, β, μ, σ² away from 1, 0, 0, 1), so a wrong fold shows. */
function randomiseBatchNorm(model: tfl.LayersModel, seed: number): void {
  let k = seed;
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    l.setWeights(
      l.getWeights().map((w, i) => {
        const base = [1, 0, 0, 1][i]!;
        const spread = [0.5, 0.3, 0.3, 0.8][i]!;
        return tf.tidy(() => tf.add(base, tf.mul(spread, tf.abs(tf.randomNormal(w.shape, 0, 1, 'float32', k++)))));
      }),
    );
  }
}

function relErr(model: tfl.LayersModel, folding: BatchNormFolding, x: tf.Tensor): number {
  return tf.tidy(() => {
    const want = (model.predict(x) as tf.Tensor).dataSync();
    const got = folding.predict(x).dataSync();
    let scale = 0;
    for (const v of want) scale = Math.max(scale, Math.abs(v));
    return maxAbsDiff(got, want) / scale;
  });
}

describe('BatchNormFolding', () => {
  it('gives the unfolded inference outputs (≤ 1e-5) for the GMR-CNN and the plain CNN, with every conv → BN pair folded', async () => {
    for (const [build, seed] of [
      [gmrCNN, 3],
      [plainCNN, 4],
    ] as const) {
      const m = seeded(seed, () => build({ widths: [6, 8, 12] }));
      randomiseBatchNorm(m, 10 * seed);
      const f = new BatchNormFolding(m);
      expect(f.folded).toEqual(['conv1→bn1→relu1', 'conv2→bn2→relu2', 'conv3→bn3→relu3']);
      const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', seed);
      expect(relErr(m, f, x)).toBeLessThanOrEqual(1e-5);
      // The fold is in use: no batch-norm kernel runs (the model itself runs three), and the BN layers' own call is
      // back afterwards.
      const kernels = async (run: () => tf.Tensor) =>
        (await tf.profile(() => tf.tidy(run) as never)).kernels.filter((k) => k.name === 'FusedBatchNorm').length;
      expect(await kernels(() => m.predict(x) as tf.Tensor)).toBe(3);
      expect(await kernels(() => f.predict(x))).toBe(0);
      expect(Object.hasOwn(m.getLayer('bn1'), 'call')).toBe(false);
      f.dispose();
      x.dispose();
      m.dispose();
    }
  });

  it('folds a residual network and convolutions with a bias to the same outputs', () => {
    const r = seeded(7, () =>
      gmrResNet('basic', [1, 1, 1, 1], {
        inChannels: 3,
        numClasses: 5,
        inplanes: 4,
        gmrConvSize: 3,
        inputSize: [16, 16],
      }),
    );
    // A GMR conv with bias and trainable σ, and a plain conv with bias, each followed by BN.
    const input = tfl.input({ shape: [12, 12, 2] });
    let h = new GMRConv2D({
      name: 'g',
      filters: 5,
      kernelSize: 5,
      padding: 2,
      useBias: true,
      biasInitializer: 'glorotUniform',
    }).apply(input) as tfl.SymbolicTensor;
    h = tfl.layers.batchNormalization({ name: 'gbn' }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers
      .conv2d({
        name: 'c',
        filters: 3,
        kernelSize: 3,
        padding: 'same',
        useBias: true,
        biasInitializer: 'glorotUniform',
      })
      .apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.batchNormalization({ name: 'cbn' }).apply(h) as tfl.SymbolicTensor;
    const b = seeded(8, () => tfl.model({ inputs: input, outputs: h }));
    for (const [m, shape, seed, pairs] of [
      [r, [2, 16, 16, 3], 70, 4],
      [b, [2, 12, 12, 2], 80, 2],
    ] as const) {
      randomiseBatchNorm(m, seed);
      const f = new BatchNormFolding(m);
      expect(f.folded.length).toBeGreaterThanOrEqual(pairs);
      const x = tf.randomUniform(shape as unknown as number[], 0, 1, 'float32', seed);
      expect(relErr(m, f, x)).toBeLessThanOrEqual(1e-5);
      f.dispose();
      x.dispose();
      m.dispose();
    }
  });

  it('keeps the folded weights while nothing changes and recomputes them when a weight, a statistic or a σ changes', () => {
    const m = seeded(5, () => gmrCNN({ widths: [4, 6, 8] }));
    randomiseBatchNorm(m, 50);
    const f = new BatchNormFolding(m);
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 9);
    tf.tidy(() => void f.predict(x));
    tf.tidy(() => void m.predict(x)); // the GMR layers' own inference cache (σ-smoothed basis) from their first call
    const tensors = tf.memory().numTensors;
    const y1 = tf.tidy(() => f.predict(x).dataSync());
    expect(tf.memory().numTensors).toBe(tensors); // cache hit: no new folded weights, nothing left behind

    // A weight changes (as an optimiser step would: assign swaps the variable's data).
    const conv2 = m.getLayer('conv2');
    tf.tidy(() => conv2.setWeights([tf.mul(conv2.getWeights()[0]!, 1.5), ...conv2.getWeights().slice(1)]));
    expect(relErr(m, f, x)).toBeLessThanOrEqual(1e-5);
    const y2 = tf.tidy(() => f.predict(x).dataSync());
    expect(maxAbsDiff(y1, y2)).toBeGreaterThan(1e-3);

    // A BN statistic changes (as a training-mode pass updates the moving variance).
    const bn3 = m.getLayer('bn3');
    tf.tidy(() => {
      const ws = bn3.getWeights();
      bn3.setWeights([ws[0]!, ws[1]!, ws[2]!, tf.mul(ws[3]!, 4)]);
    });
    expect(relErr(m, f, x)).toBeLessThanOrEqual(1e-5);
    const y3 = tf.tidy(() => f.predict(x).dataSync());
    expect(maxAbsDiff(y2, y3)).toBeGreaterThan(1e-3);

    // A σ changes (the folded GMR kernel is Φ = θ·s·P(σ)).
    const conv1 = m.getLayer('conv1');
    const sigmaIndex = conv1.weights.findIndex((w) => w.originalName.endsWith('log_sigmas'));
    expect(sigmaIndex).toBeGreaterThanOrEqual(0);
    tf.tidy(() => conv1.setWeights(conv1.getWeights().map((w, i) => (i === sigmaIndex ? tf.add(w, 0.4) : w))));
    tf.tidy(() => void m.predict(x)); // the layer's own inference cache, rebuilt for the new σ
    expect(relErr(m, f, x)).toBeLessThanOrEqual(1e-5);
    const y4 = tf.tidy(() => f.predict(x).dataSync());
    expect(maxAbsDiff(y3, y4)).toBeGreaterThan(1e-3);

    expect(tf.memory().numTensors).toBe(tensors);
    f.dispose();
    x.dispose();
    m.dispose();
  });

  it('runs more images than a batch in batches, and a model with a shared layer through model.predict, to the same outputs', () => {
    const m = seeded(11, () => gmrCNN({ widths: [4, 6, 8] }));
    randomiseBatchNorm(m, 110);
    const f = new BatchNormFolding(m);
    const x = tf.randomUniform([70, 28, 28, 1], 0, 1, 'float32', 12); // 32 + 32 + 6
    expect(relErr(m, f, x)).toBeLessThanOrEqual(1e-5);
    expect(tf.tidy(() => f.predict(x, 16).shape)).toEqual([70, 10]);
    expect(relErr(m, f, tf.slice(x, 0, 5))).toBeLessThanOrEqual(1e-5);
    f.dispose();
    m.dispose();

    // A dense layer applied twice: the folded call cannot run the layers one by one, model.predict runs them
    const input = tfl.input({ shape: [6, 6, 2] });
    const conv = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', useBias: false, name: 'c' });
    const bn = tfl.layers.batchNormalization({ name: 'b' });
    const shared = tfl.layers.dense({ units: 108, name: 'shared' }); // 6·6·3 in and out, so it applies twice
    const h = shared.apply(tfl.layers.flatten().apply(bn.apply(conv.apply(input))) as tfl.SymbolicTensor);
    const twice = tfl.model({ inputs: input, outputs: shared.apply(h) as tfl.SymbolicTensor });
    randomiseBatchNorm(twice, 120);
    const g = new BatchNormFolding(twice);
    expect(g.folded).toEqual(['c→b']);
    const x2 = tf.randomNormal([40, 6, 6, 2], 0, 1, 'float32', 13);
    expect(relErr(twice, g, x2)).toBeLessThanOrEqual(1e-5);
    g.dispose();
    tf.dispose([x, x2]);
    twice.dispose();
  });

  it('refuses what is not a model, naming the parameter', () => {
    expect(() => new BatchNormFolding({} as tfl.LayersModel)).toThrow(/`model` must be a tf.LayersModel/);
  });
});
