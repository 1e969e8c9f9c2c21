import { beforeAll, describe, expect, it } from 'vitest';
import { GMRConv3D } from '@gmr-conv/core';
import {
  exportPyTorchStateDict,
  gmrR3D18,
  gmrR3D9,
  loadFromMemory,
  loadPyTorchStateDict,
  saveToMemory,
} from '../src/index.js';
import { maxAbsDiff, seeded, tf, useBackend, warmUpBatchNorm } from './helpers/backend.js';

beforeAll(() => useBackend('wasm'));

describe('GMR-ResNet3D', () => {
  it('r3d-9 and r3d-18: reference structure and names', () => {
    const a = gmrR3D9({ numClasses: 5, inplanes: 4, inChannels: 1 });
    const b = gmrR3D18({ numClasses: 5, inplanes: 4, inChannels: 1 });
    expect(a.layers.filter((l) => l instanceof GMRConv3D).length).toBe(1 + 8);
    expect(b.layers.filter((l) => l instanceof GMRConv3D).length).toBe(1 + 16);
    const stem = a.getLayer('stem.0') as GMRConv3D;
    expect(stem.kernelSize).toEqual([3, 7, 7]);
    expect(stem.padding).toEqual([1, 3, 3]);
    for (const n of [
      'layer2.0.conv1.0',
      'layer2.0.conv1.1',
      'layer2.0.conv1.2',
      'layer2.0.conv2.0',
      'layer2.0.downsample.1',
      'layer2.0.downsample.2',
      'fc',
    ]) {
      expect(a.layers.map((l) => l.name)).toContain(n);
    }
    expect(a.outputs[0].shape).toEqual([null, 5]);
    a.dispose();
    b.dispose();
  });
  it('logits are invariant to flips of D, H, W and the H↔W transpose within 1e-4 (8×16×16)', () => {
    const m = seeded(12, () => gmrR3D9({ numClasses: 5, inplanes: 4, inChannels: 1 }));
    warmUpBatchNorm(m, [4, 8, 16, 16, 1], 5);
    const x = tf.randomNormal([2, 8, 16, 16, 1], 0, 1, 'float32', 13);
    const y = tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync());
    const before = tf.memory().numTensors;
    for (const t of [
      (v: tf.Tensor) => tf.reverse(v, 1),
      (v: tf.Tensor) => tf.reverse(v, 2),
      (v: tf.Tensor) => tf.reverse(v, 3),
      (v: tf.Tensor) => tf.transpose(v, [0, 1, 3, 2, 4]),
    ]) {
      const yt = tf.tidy(() => (m.predict(t(x)) as tf.Tensor).dataSync());
      expect(maxAbsDiff(y, yt)).toBeLessThan(1e-4);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    m.dispose();
  });
  it('save/load and PyTorch state dict round trips keep the logits', async () => {
    const m = gmrR3D9({ numClasses: 3, inplanes: 4, inChannels: 1 });
    const x = tf.randomNormal([1, 8, 8, 8, 1]);
    const y0 = tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync());
    const loaded = await loadFromMemory(await saveToMemory(m));
    expect(
      maxAbsDiff(
        y0,
        tf.tidy(() => (loaded.predict(x) as tf.Tensor).dataSync()),
      ),
    ).toBe(0);
    const fresh = gmrR3D9({ numClasses: 3, inplanes: 4, inChannels: 1 });
    const sd = exportPyTorchStateDict(m);
    expect(sd.get('stem.1.running_var')!.shape).toEqual([4]);
    loadPyTorchStateDict(fresh, sd);
    expect(
      maxAbsDiff(
        y0,
        tf.tidy(() => (fresh.predict(x) as tf.Tensor).dataSync()),
      ),
    ).toBe(0);
    tf.dispose(x);
    for (const d of [m, loaded, fresh]) d.dispose();
  });
});
