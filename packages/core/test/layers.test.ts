import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, beforeAll } from 'vitest';
import {
  GMRConv1D,
  GMRConv2D,
  GMRConv3D,
  GMRConv2DTranspose,
  type GMRConvBase,
  gmrConv2d,
  GMRValueError,
  clipModelIndexMats,
} from '../src/index.js';
import { denseConvReference } from '@gmr-conv/test-utils/oracle/dense_reference';
import { relError } from '@gmr-conv/test-utils/oracle/load';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

function maxRel(a: tf.Tensor, b: tf.Tensor): number {
  return relError(a.dataSync(), b.dataSync());
}

describe('GMR layers', () => {
  it('GMRConv2D matches the op and an independent dense convolution (channelsFirst, stride, groups, reflect)', () => {
    const layer = new GMRConv2D({
      filters: 4,
      kernelSize: 5,
      strides: 2,
      padding: 2,
      paddingMode: 'reflect',
      groups: 2,
      dataFormat: 'channelsFirst',
    });
    const x = tf.randomNormal([2, 4, 11, 11], 0, 1, 'float32', 3);
    const y = layer.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 4, 6, 6]);
    expect(layer.computeOutputShape([2, 4, 11, 11])).toEqual([2, 4, 6, 6]);
    const kernel = layer.synthesizedKernel(); // [5,5,2,4]
    const kOI = tf.transpose(tf.reshape(kernel, [25, 2, 4]), [2, 1, 0]);
    const bias = layer.getWeights()[2];
    const ref = denseConvReference(x.dataSync(), x.shape, kOI.dataSync(), [4, 2, 5, 5], bias.dataSync(), {
      strides: [2, 2],
      dilations: [1, 1],
      pads: [
        [2, 2],
        [2, 2],
      ],
      groups: 2,
      paddingMode: 'reflect',
    });
    expect(relError(y.dataSync(), ref.data)).toBeLessThan(1e-5);
  });

  it('1D, 3D and transposed layers build, run and report their output shapes', () => {
    const l1 = new GMRConv1D({ filters: 3, kernelSize: 5, padding: 'same' });
    expect((l1.apply(tf.ones([2, 16, 2])) as tf.Tensor).shape).toEqual([2, 16, 3]);
    const l3 = new GMRConv3D({ filters: 2, kernelSize: 3, strides: 2, padding: 1 });
    expect((l3.apply(tf.ones([1, 7, 7, 7, 2])) as tf.Tensor).shape).toEqual([1, 4, 4, 4, 2]);
    expect(l3.computeOutputShape([1, 7, 7, 7, 2])).toEqual([1, 4, 4, 4, 2]);
    const lt = new GMRConv2DTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 1, outputPadding: 1 });
    expect((lt.apply(tf.ones([1, 5, 5, 2])) as tf.Tensor).shape).toEqual([1, 10, 10, 3]);
    expect(lt.computeOutputShape([1, 5, 5, 2])).toEqual([1, 10, 10, 3]);
  });

  it('uses the reference init schemes', () => {
    const l = new GMRConv2D({ filters: 64, kernelSize: 9, padding: 'same' });
    l.build([null, 32, 32, 64]);
    const [theta, logSigmas, bias] = l.getWeights();
    expect(theta.shape).toEqual([64, 64, 5]);
    const bound = 1 / Math.sqrt(64 * 81);
    expect(tf.max(tf.abs(theta)).dataSync()[0]).toBeLessThanOrEqual(bound);
    expect(tf.max(tf.abs(theta)).dataSync()[0]).toBeGreaterThan(0.9 * bound);
    expect(Math.exp(logSigmas.dataSync()[0])).toBeCloseTo(9 / 8 / 2.355, 6);
    expect(tf.max(tf.abs(bias)).dataSync()[0]).toBeLessThanOrEqual(1 / Math.sqrt(64 * 5));
    const k = new GMRConv2D({ filters: 64, kernelSize: 9, initScheme: 'kaimingNormalFanOut' });
    k.build([null, 32, 32, 64]);
    const std = Math.sqrt(tf.moments(k.getWeights()[0]).variance.dataSync()[0]);
    expect(std).toBeGreaterThan(0.9 * Math.sqrt(2 / (64 * 81)));
    expect(std).toBeLessThan(1.1 * Math.sqrt(2 / (64 * 81)));
  });

  it('inference cache never goes stale when weights change', () => {
    const l = new GMRConv2D({ filters: 2, kernelSize: 5, padding: 'same' });
    const x = tf.randomNormal([1, 8, 8, 2], 0, 1, 'float32', 1);
    const yTrain1 = l.apply(x, { training: true }) as tf.Tensor;
    const yInfer1 = l.apply(x) as tf.Tensor;
    expect(maxRel(yInfer1, yTrain1)).toBeLessThan(1e-6);
    const w = l.getWeights();
    l.setWeights([tf.mul(w[0], 2), tf.add(w[1], 0.3), w[2]]);
    const yInfer2 = l.apply(x) as tf.Tensor;
    const yTrain2 = l.apply(x, { training: true }) as tf.Tensor;
    expect(maxRel(yInfer2, yTrain2)).toBeLessThan(1e-6);
    expect(maxRel(yInfer2, yInfer1)).toBeGreaterThan(1e-2);
  });

  it('trains in a model (fit) and gradients reach theta, sigmas and bias', async () => {
    const model = tfjs.sequential();
    model.add(
      new GMRConv2D({ filters: 4, kernelSize: 5, padding: 'same', activation: 'relu', inputShape: [12, 12, 1] }),
    );
    model.add(tfjs.layers.globalAveragePooling2d({}));
    model.add(tfjs.layers.dense({ units: 2 }));
    model.compile({ optimizer: tfjs.train.adam(0.01), loss: 'meanSquaredError' });
    const before = model.layers[0].getWeights().map((w) => w.clone());
    const xs = tf.randomNormal([8, 12, 12, 1], 0, 1, 'float32', 2);
    const ys = tf.randomNormal([8, 2], 0, 1, 'float32', 5);
    const h = await model.fit(xs, ys, { epochs: 3, verbose: 0 });
    expect(h.history.loss.length).toBe(3);
    const after = model.layers[0].getWeights();
    for (let i = 0; i < 3; i++) expect(maxRel(after[i], before[i])).toBeGreaterThan(1e-6);
    expect(model.layers[0].trainableWeights.map((w) => w.name.split('/').pop())).toEqual([
      'kernel',
      'log_sigmas',
      'bias',
    ]);
  });

  it('serializes: getConfig round trip and save/load through an IO handler', async () => {
    const model = tfjs.sequential();
    model.add(
      new GMRConv2D({
        filters: 3,
        kernelSize: 5,
        strides: 2,
        padding: 'same',
        paddingMode: 'circular',
        activation: 'tanh',
        kernelRegularizer: 'l1l2',
        inputShape: [10, 10, 2],
        numRings: 4,
        sigmaScale: 1.5,
        path: 'dense',
      }),
    );
    model.add(new GMRConv2DTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 1, outputPadding: 1 }));
    model.add(new GMRConv2D({ filters: 2, kernelSize: 3, gaussianMixtureRing: false, forceCircular: false }));
    const x = tf.randomNormal([2, 10, 10, 2], 0, 1, 'float32', 9);
    const y = model.predict(x) as tf.Tensor;
    let saved: tf.io.ModelArtifacts | null = null;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tfjs.loadLayersModel(tf.io.fromMemory(saved!));
    const y2 = loaded.predict(x) as tf.Tensor;
    expect(maxRel(y2, y)).toBe(0);
    const cfg = (model.layers[0] as GMRConvBase).getConfig();
    expect(cfg.paddingMode).toBe('circular');
    expect(cfg.numRings).toBe(4);
    const clone = GMRConv2D.fromConfig(GMRConv2D as never, cfg) as GMRConv2D;
    expect(clone.getConfig()).toEqual(cfg);
  });

  it('trainIndexMat trains the masks; clipIndexMat keeps them within default ± eps', () => {
    const l = new GMRConv2D({ filters: 2, kernelSize: 5, padding: 2, trainIndexMat: true });
    l.build([null, 8, 8, 2]);
    const masks = l.getWeights()[3].clone();
    l.setWeights([
      ...l.getWeights().slice(0, 3),
      tf.add(masks, tf.randomUniform(masks.shape, -0.5, 0.5, 'float32', 1)),
    ]);
    clipModelIndexMats({ layers: [l] }, 0.1);
    const diff = tf.max(tf.abs(tf.sub(l.getWeights()[3], masks))).dataSync()[0];
    expect(diff).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(diff).toBeGreaterThan(0.09);
  });

  it('rejects bad options with errors that name the parameter', () => {
    expect(() => new GMRConv2D({ filters: 0, kernelSize: 3 })).toThrow(/`filters` must be a positive integer, got 0/);
    expect(() => new GMRConv2D({ filters: 2, kernelSize: 2.5 })).toThrow(GMRValueError);
    expect(() => new GMRConv2D({ filters: 2, kernelSize: 3, padding: 'full' as never })).toThrow(/`padding` must be/);
    expect(() => new GMRConv2D({ filters: 2, kernelSize: 3, paddingMode: 'mirror' as never })).toThrow(
      /`paddingMode` must be one of/,
    );
    expect(() => new GMRConv2D({ filters: 3, kernelSize: 3, groups: 2 })).toThrow(
      /`groups` must be a divisor of filters/,
    );
    expect(() => new GMRConv2D({ filters: 2, kernelSize: 3, activation: 'nope' })).toThrow(/`activation`/);
    const l = new GMRConv2D({ filters: 2, kernelSize: 3, groups: 2 });
    expect(() => l.apply(tf.ones([1, 5, 5, 3]))).toThrow(/`groups` must be a divisor of the input channels \(3\)/);
  });

  it('does not leak tensors over repeated inference and training calls', () => {
    const l = new GMRConv2D({ filters: 3, kernelSize: 5, padding: 'same' });
    const x = tf.randomNormal([1, 8, 8, 2]);
    tf.dispose(l.apply(x) as tf.Tensor);
    tf.dispose(l.apply(x, { training: true }) as tf.Tensor);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      tf.dispose(l.apply(x) as tf.Tensor);
      tf.tidy(() => {
        tf.grads((a: tf.Tensor) => tf.sum(l.apply(a, { training: true }) as tf.Tensor))([x]);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    void gmrConv2d;
  });
});

describe('GMR layers on disk', () => {
  it('a model of GMR layers round-trips through file:// (model.json + weights.bin)', async () => {
    const { fileSystem } = await import('../src/node/index.js');
    const os = await import('node:os');
    const fs = await import('node:fs');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gmr-layers-'));
    const model = tfjs.sequential();
    model.add(
      new GMRConv2D({ filters: 4, kernelSize: 5, padding: 'same', inputShape: [9, 9, 2], trainIndexMat: true }),
    );
    model.add(
      new GMRConv2DTranspose({
        filters: 3,
        kernelSize: 3,
        strides: 2,
        padding: 1,
        outputPadding: 1,
        activation: 'relu',
      }),
    );
    model.add(tfjs.layers.globalAveragePooling2d({}));
    const x = tf.randomNormal([2, 9, 9, 2], 0, 1, 'float32', 4);
    const y = model.predict(x) as tf.Tensor;
    await model.save(`file://${dir}`);
    expect(fs.existsSync(path.join(dir, 'model.json'))).toBe(true);
    const loaded = await tfjs.loadLayersModel(fileSystem(path.join(dir, 'model.json')));
    expect(loaded.layers[0]).toBeInstanceOf(GMRConv2D);
    expect(loaded.layers[1]).toBeInstanceOf(GMRConv2DTranspose);
    expect(maxRel(loaded.predict(x) as tf.Tensor, y)).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
