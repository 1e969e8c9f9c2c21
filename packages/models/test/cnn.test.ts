import { beforeAll, describe, expect, it } from 'vitest';
import { GMRConv2D, type GMRHarmonicConv2D, modelInvarianceCheck } from '@gmr-conv/core';
import { gmrCNN, plainCNN, saveToMemory, loadFromMemory } from '../src/index.js';
import { countTrainable, maxAbsDiff, seeded, tf, useBackend, warmUpBatchNorm } from './helpers/backend.js';

beforeAll(() => useBackend('wasm'));

describe('GMR-CNN and plain CNN (28×28 digits)', () => {
  it("have the official GMR-CNN's shape and parameter counts", () => {
    const g = gmrCNN();
    const p = plainCNN();
    for (const m of [g, p]) {
      expect(m.inputs[0].shape).toEqual([null, 28, 28, 1]);
      expect(m.outputs[0].shape).toEqual([null, 10]);
      expect(m.layers.map((l) => l.getClassName())).toContain('AveragePooling2D');
    }
    expect(g.layers.filter((l) => l instanceof GMRConv2D).length).toBe(3);
    const bn = 2 * (16 + 32 + 64);
    const fc = 64 * 10 + 10;
    // θ [O, I, n] + log σ [n]; rings k//2+1 = 5, 5, 3
    expect(countTrainable(g)).toBe(16 * 1 * 5 + 5 + 32 * 16 * 5 + 5 + 64 * 32 * 3 + 3 + bn + fc);
    expect(countTrainable(p)).toBe(16 * 81 + 32 * 16 * 81 + 64 * 32 * 25 + bn + fc);
    g.dispose();
    p.dispose();
  });
  it('width is configurable', () => {
    const g = gmrCNN({ widths: [32, 64, 128], numClasses: 5 });
    expect(g.outputs[0].shape).toEqual([null, 5]);
    expect((g.getLayer('conv3') as GMRConv2D).filters).toBe(128);
    g.dispose();
    expect(() => gmrCNN({ widths: [1, 2] as never })).toThrow(/widths/);
  });
  it('GMR-CNN logits are D4-invariant within 1e-4 at 28×28; the plain twin is not', () => {
    const g = seeded(1, () => gmrCNN());
    const p = seeded(2, () => plainCNN());
    warmUpBatchNorm(g, [8, 28, 28, 1]);
    warmUpBatchNorm(p, [8, 28, 28, 1]);
    const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 4);
    tf.dispose(g.predict(x) as tf.Tensor); // fill the inference cache
    const before = tf.memory().numTensors;
    const d4 = modelInvarianceCheck((t) => g.predict(t) as tf.Tensor, x);
    expect(tf.memory().numTensors).toBe(before);
    for (const v of Object.values(d4)) expect(v).toBeLessThan(1e-4);
    const plain = modelInvarianceCheck((t) => p.predict(t) as tf.Tensor, x, { elements: ['rot90', 'flipH'] });
    expect(Math.min(...Object.values(plain))).toBeGreaterThan(1e-3);
    tf.dispose(x);
    g.dispose();
    p.dispose();
  });
  it("pooling 'rings': ring means per channel feed the classifier; still D4-invariant; round-trips", async () => {
    const g = seeded(4, () => gmrCNN({ widths: [4, 8, 8], pooling: 'rings' }));
    // 7×7 final map: rings of rounded radius 0..4 → 5 rings × 8 channels
    expect(g.getLayer('ringpool').outputShape).toEqual([null, 40]);
    expect(countTrainable(g)).toBe(4 * 5 + 5 + 8 * 4 * 5 + 5 + 8 * 8 * 3 + 3 + 2 * (4 + 8 + 8) + 40 * 10 + 10);
    warmUpBatchNorm(g, [8, 28, 28, 1]);
    const x = tf.randomNormal([3, 28, 28, 1], 0, 1, 'float32', 8);
    const d4 = modelInvarianceCheck((t) => g.predict(t) as tf.Tensor, x);
    for (const v of Object.values(d4)) expect(v).toBeLessThan(1e-4);
    const y0 = tf.tidy(() => (g.predict(x) as tf.Tensor).dataSync());
    const loaded = await loadFromMemory(await saveToMemory(g));
    expect(
      maxAbsDiff(
        y0,
        tf.tidy(() => (loaded.predict(x) as tf.Tensor).dataSync()),
      ),
    ).toBe(0);
    expect(() => plainCNN({ pooling: 'max' as 'rings' })).toThrow(/`pooling` must be 'average' or 'rings', got "max"/);
    tf.dispose(x);
    g.dispose();
    loaded.dispose();
  });
  it('harmonicChannels: harmonic magnitudes next to GMR channels; logits still D4-invariant; round-trips; bad counts refused', async () => {
    const g = seeded(5, () => gmrCNN({ widths: [4, 8, 8], harmonicChannels: [2, 8, 3] }));
    expect((g.getLayer('conv1') as GMRConv2D).filters).toBe(2);
    expect((g.getLayer('conv1_harmonic') as GMRHarmonicConv2D).filters).toBe(2);
    expect(g.getLayer('conv1_concat').outputShape).toEqual([null, 28, 28, 4]);
    expect(() => g.getLayer('conv2')).toThrow(); // all 8 channels harmonic: no GMR part, no concat
    expect(g.getLayer('conv2_harmonic').outputShape).toEqual([null, 14, 14, 8]);
    // θ of the GMR and harmonic parts share the layout [O, I, n] (+ one log σ per layer)
    const bn = 2 * (4 + 8 + 8);
    expect(countTrainable(g)).toBe(
      2 * 1 * 5 + 5 + 2 * 1 * 5 + 5 + (8 * 4 * 5 + 5) + (5 * 8 * 3 + 3) + (3 * 8 * 3 + 3) + bn + 8 * 10 + 10,
    );
    warmUpBatchNorm(g, [8, 28, 28, 1]);
    const x = tf.randomNormal([3, 28, 28, 1], 0, 1, 'float32', 9);
    const d4 = modelInvarianceCheck((t) => g.predict(t) as tf.Tensor, x);
    for (const v of Object.values(d4)) expect(v).toBeLessThan(1e-4);
    const y0 = tf.tidy(() => (g.predict(x) as tf.Tensor).dataSync());
    const loaded = await loadFromMemory(await saveToMemory(g));
    expect(
      maxAbsDiff(
        y0,
        tf.tidy(() => (loaded.predict(x) as tf.Tensor).dataSync()),
      ),
    ).toBe(0);
    expect(() => gmrCNN({ widths: [4, 8, 8], harmonicChannels: [5, 0, 0] })).toThrow(
      /`harmonicChannels\[0\]` must be at most widths\[0\] \(4\), got 5/,
    );
    expect(() => gmrCNN({ harmonicChannels: [1, -1, 0] })).toThrow(
      /`harmonicChannels\[1\]` must be an integer ≥ 0, got -1/,
    );
    expect(() => plainCNN({ harmonicChannels: [1, 0, 0] })).toThrow(/a plain CNN takes none/);
    tf.dispose(x);
    g.dispose();
    loaded.dispose();
  });
  it('save/load round trip (in-memory) keeps the logits', async () => {
    for (const m of [gmrCNN(), plainCNN()]) {
      const x = tf.randomNormal([2, 28, 28, 1]);
      const y0 = tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync());
      const loaded = await loadFromMemory(await saveToMemory(m));
      const y1 = tf.tidy(() => (loaded.predict(x) as tf.Tensor).dataSync());
      expect(maxAbsDiff(y0, y1)).toBe(0);
      tf.dispose(x);
      m.dispose();
      loaded.dispose();
    }
  });
  it('GMR-CNN trains on wasm (loss goes down over a few steps)', () => {
    const g = seeded(3, () => gmrCNN({ widths: [8, 16, 32] }));
    const opt = tf.train.momentum(0.02, 0.9);
    const x = tf.randomNormal([16, 28, 28, 1], 0, 1, 'float32', 3);
    const y = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 16 }, (_, i) => i % 10),
        'int32',
      ),
      10,
    );
    const losses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const l = opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, g.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        true,
      )!;
      losses.push(l.dataSync()[0]);
      l.dispose();
    }
    expect(Math.min(...losses.slice(1))).toBeLessThan(losses[0]);
    tf.dispose([x, y]);
    opt.dispose();
    g.dispose();
  });
});
