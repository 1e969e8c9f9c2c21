import { beforeAll, describe, expect, it } from 'vitest';
import { modelInvarianceCheck, GMRConv2D } from '@gmr-conv/core';
import { gmrResNet18, gmrResNet34, gmrResNet50, resNet18, saveToMemory, loadFromMemory } from '../src/index.js';
import { countTrainable, maxAbsDiff, seeded, tf, useBackend, warmUpBatchNorm } from './helpers/backend.js';

beforeAll(() => useBackend('wasm'));

describe('parameter counts (those of the official PyTorch models)', () => {
  it('GMR-ResNet-18 [9,9,5,5], 10 classes: 3,996,685 trainable; tfjs countParams adds the BN moving stats', () => {
    const m = gmrResNet18({ numClasses: 10 });
    expect(countTrainable(m)).toBe(3_996_685);
    // BN channels: 64 + 2·(2·64 + 2·128 + 2·256 + 2·512) − … : moving mean + variance are non-trainable weights.
    const bnChannels = m.layers
      .filter((l) => l.getClassName() === 'BatchNormalization')
      .reduce((a, l) => a + (l.getWeights()[0].shape[0] as number), 0);
    expect(m.countParams()).toBe(3_996_685 + 2 * bnChannels);
    expect(m.countParams()).toBe(4_006_285);
    m.dispose();
  });
  it('GMR-ResNet-18 variants: 100 classes, 9 classes, [3,3,3,3]', () => {
    for (const [o, n] of [
      [{ numClasses: 100 }, 4_042_855],
      [{ numClasses: 9 }, 3_996_172],
      [{ numClasses: 10, gmrConvSize: [3, 3, 3, 3] }, 2_628_589],
    ] as const) {
      const m = gmrResNet18(o as never);
      expect(countTrainable(m)).toBe(n);
      m.dispose();
    }
  });
  it('plain ResNet-18: 11,177,034 with the 5×5 stem, 11,181,642 with torchvision 7×7/2', () => {
    const a = resNet18({ numClasses: 10 });
    expect(countTrainable(a)).toBe(11_177_034);
    a.dispose();
    const b = resNet18({ numClasses: 10, stemKernel: 7, stemStride: 2 });
    expect(countTrainable(b)).toBe(11_181_642);
    b.dispose();
  });
  it('GMR-ResNet-50 [9,9,5,5], 1000 classes ≈ 18.16M', () => {
    const m = gmrResNet50({ numClasses: 1000 });
    expect(countTrainable(m) / 1e6).toBeCloseTo(18.16, 2);
    m.dispose();
  });
});

describe('structure', () => {
  it('follows the reference: stride as AvgPool before a stride-1 GMR conv, k//2 padding, rings k//2+1', () => {
    const m = gmrResNet18({ numClasses: 10, inplanes: 8 });
    const names = m.layers.map((l) => l.name);
    for (const n of [
      'conv1',
      'bn1',
      'first_avgpool',
      'layer1.0.conv1',
      'layer2.0.conv1.0',
      'layer2.0.conv1.1',
      'layer2.0.downsample.0',
      'layer2.0.downsample.1',
      'layer2.0.downsample.2',
      'fc',
    ]) {
      expect(names).toContain(n);
    }
    expect(names).not.toContain('layer1.0.downsample.1');
    const gmr = m.layers.filter((l) => l instanceof GMRConv2D) as GMRConv2D[];
    expect(gmr.length).toBe(1 + 16);
    for (const l of gmr) {
      expect(l.strides).toEqual([1, 1]);
      expect(l.useBias).toBe(false);
      expect(l.padding).toBe(Math.floor(l.kernelSize[0] / 2));
      expect(l.numRings).toBe(Math.floor(l.kernelSize[0] / 2) + 1);
    }
    expect(gmr.find((l) => l.name === 'conv1')!.kernelSize).toEqual([5, 5]);
    expect(gmr.find((l) => l.name === 'layer1.1.conv2')!.kernelSize).toEqual([9, 9]);
    expect(gmr.find((l) => l.name === 'layer4.1.conv2')!.kernelSize).toEqual([5, 5]);
    const bn = m.getLayer('bn1').getConfig();
    expect(bn.epsilon).toBe(1e-5);
    expect(bn.momentum).toBe(0.9);
    expect(m.outputs[0].shape).toEqual([null, 10]);
    m.dispose();
  });
  it('rejects bad options with the parameter name', () => {
    expect(() => gmrResNet18({ gmrConvSize: [9, 9, 5] })).toThrow(/gmrConvSize/);
    expect(() => gmrResNet18({ numClasses: 0 })).toThrow(/numClasses/);
    expect(() => gmrResNet18({ inplanes: 2.5 })).toThrow(/inplanes/);
  });
});

describe('whole-model D4 invariance of logits (float32, 32×32)', () => {
  const cases = [
    ['gmr_resnet18 [9,9,5,5]', () => seeded(18, () => gmrResNet18({ numClasses: 10, inplanes: 4 }))],
    [
      'gmr_resnet34 [5,5,3,3]',
      () => seeded(34, () => gmrResNet34({ numClasses: 10, inplanes: 4, gmrConvSize: [5, 5, 3, 3] })),
    ],
    [
      'gmr_resnet50 [5,5,3,3]',
      () => seeded(50, () => gmrResNet50({ numClasses: 10, inplanes: 4, gmrConvSize: [5, 5, 3, 3] })),
    ],
  ] as const;
  for (const [name, make] of cases) {
    it(`${name}: every D4 element within 1e-4, no tensor leak`, () => {
      const m = make();
      warmUpBatchNorm(m, [8, 32, 32, 3], 30);
      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 11);
      // The first predict fills each GMR layer's inference cache (one basis per layer, kept on purpose).
      tf.dispose(m.predict(x) as tf.Tensor);
      const before = tf.memory().numTensors;
      const d4 = modelInvarianceCheck((t) => m.predict(t) as tf.Tensor, x);
      expect(tf.memory().numTensors).toBe(before);
      expect(Object.keys(d4).length).toBe(7);
      const scale = tf.tidy(() => (m.predict(x) as tf.Tensor).abs().max().dataSync()[0]);
      expect(scale).toBeGreaterThan(0.1);
      expect(scale).toBeLessThan(100);
      for (const v of Object.values(d4)) expect(v).toBeLessThan(1e-4);
      x.dispose();
      m.dispose();
    });
  }
  it('the plain ResNet-18 is not invariant (sanity check of the check)', () => {
    const m = resNet18({ numClasses: 10, inplanes: 4 });
    const x = tf.randomNormal([1, 32, 32, 3]);
    const d4 = modelInvarianceCheck((t) => m.predict(t) as tf.Tensor, x, { elements: ['rot90'] });
    expect(d4.rot90!).toBeGreaterThan(1e-4);
    x.dispose();
    m.dispose();
  });
});

describe('save/load round trip (in-memory handler)', () => {
  for (const [name, make] of [
    ['gmr_resnet18', () => gmrResNet18({ numClasses: 7, inplanes: 4, gmrConvSize: [5, 5, 3, 3] })],
    ['resnet18', () => resNet18({ numClasses: 7, inplanes: 4 })],
  ] as const) {
    it(`${name}: same logits after save + load`, async () => {
      const m = make();
      const x = tf.randomNormal([2, 32, 32, 3]);
      const y0 = (m.predict(x) as tf.Tensor).dataSync().slice();
      const loaded = await loadFromMemory(await saveToMemory(m));
      expect(loaded.layers.map((l) => l.name)).toEqual(m.layers.map((l) => l.name));
      const y1 = tf.tidy(() => (loaded.predict(x) as tf.Tensor).dataSync());
      expect(maxAbsDiff(y0, y1)).toBe(0);
      tf.dispose(x);
      m.dispose();
      loaded.dispose();
    });
  }
});

describe('training', () => {
  it('one SGD-momentum step of a small GMR-ResNet-18 on wasm lowers the loss and leaks nothing', async () => {
    const m = seeded(1, () => gmrResNet18({ numClasses: 10, inplanes: 4, gmrConvSize: [5, 5, 3, 3] }));
    const opt = tf.train.momentum(0.01, 0.9);
    const x = tf.randomNormal([8, 16, 16, 3], 0, 1, 'float32', 7);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
    const lossOf = () => tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
    const step = () => {
      const l = opt.minimize(lossOf, true)!;
      const v = l.dataSync()[0];
      l.dispose();
      return v;
    };
    const first = step();
    const before = tf.memory().numTensors;
    const later: number[] = [];
    for (let i = 0; i < 5; i++) later.push(step());
    expect(tf.memory().numTensors).toBe(before);
    expect(Math.min(...later)).toBeLessThan(first);
    tf.dispose([x, y]);
    opt.dispose();
    m.dispose();
  });
});
