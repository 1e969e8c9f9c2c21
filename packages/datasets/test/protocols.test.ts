import * as tf from '@tensorflow/tfjs';
import { rotateBilinear } from '@gmr-conv/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FLIPS,
  ROTATION_ANGLES,
  evaluateFlips,
  evaluateRotations,
  flipBatch,
  makeDataset,
  regeneratedMnistRot,
  rotateImageBilinearZeros,
  rotateImageWithPlan,
  Rng,
  type ImageSet,
  type RotatedSplit,
} from '../src/index.js';

/** 8×8 images with one bright 2×2 block in quadrant `label` (0 top-left, 1 top-right, 2 bottom-right, 3 bottom-left). */
function quadrantSet(labels: number[]): ImageSet {
  const corner = [
    [1, 1],
    [1, 5],
    [5, 5],
    [5, 1],
  ];
  const images = new Uint8Array(labels.length * 64);
  labels.forEach((l, n) => {
    const [r, c] = corner[l];
    for (const [dr, dc] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ])
      images[n * 64 + (r + dr) * 8 + (c + dc)] = 255;
  });
  return { images, labels: Int32Array.from(labels), count: labels.length, height: 8, width: 8, channels: 1 };
}

/** The quadrant holding the most intensity, computed with plain tensor ops. */
function quadrantPredict(x: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => {
    const q = (r: number, c: number) => tf.sum(tf.slice(x, [0, r, c, 0], [-1, 4, 4, -1]), [1, 2, 3]);
    return tf.stack([q(0, 0), q(0, 4), q(4, 4), q(4, 0)], 1);
  });
}

function smallMnistLike(n: number, seed: number): ImageSet {
  const images = new Uint8Array(n * 36);
  for (let i = 0; i < images.length; i++) images[i] = (i * 37 + seed * 11) % 256;
  return {
    images,
    labels: Int32Array.from({ length: n }, (_, i) => (i + seed) % 10),
    count: n,
    height: 6,
    width: 6,
    channels: 1,
  };
}

describe('rotated evaluation protocol (37 angles, flips)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('has the 37 angles 0..360 in 10° steps and the three flips', () => {
    expect(ROTATION_ANGLES).toHaveLength(37);
    expect(ROTATION_ANGLES[0]).toBe(0);
    expect(ROTATION_ANGLES[36]).toBe(360);
    expect(ROTATION_ANGLES.every((a, i) => a === 10 * i)).toBe(true);
    expect(FLIPS).toEqual(['none', 'vertical', 'horizontal']);
  });

  it('scores each angle: a quadrant classifier is right upright and at 360°, wrong at 90° and 180°', async () => {
    const set = quadrantSet([0, 1, 2, 3, 0, 2, 1]);
    const before = tf.memory().numTensors;
    const r = await evaluateRotations(set, quadrantPredict, { batchSize: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.angles).toEqual([...ROTATION_ANGLES]);
    expect(r.accuracy[0]).toBe(1);
    expect(r.accuracy[36]).toBe(1);
    expect(r.accuracy[9]).toBe(0);
    expect(r.accuracy[18]).toBe(0);
    expect(r.mean).toBeCloseTo(r.accuracy.reduce((a, b) => a + b, 0) / 37, 12);
    // 90° counter-clockwise (numpy.rot90) takes top-left to bottom-left: a rotated set scored against shifted labels is right.
    const shifted = { ...set, labels: set.labels.map((l) => (l + 3) % 4) };
    const s = await evaluateRotations(shifted, quadrantPredict, { angles: [90] });
    expect(s.accuracy).toEqual([1]);
    expect(s.std).toBe(0);
  });

  it('scores flips: the flipped mean leaves out the unflipped accuracy', async () => {
    const set = quadrantSet([0, 1, 2, 3]);
    const before = tf.memory().numTensors;
    const r = await evaluateFlips(set, quadrantPredict);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.accuracy).toEqual([1, 0, 0]);
    expect(r.flippedMean).toBe(0);
    expect(r.mean).toBeCloseTo(1 / 3, 12);
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    expect(Array.from(flipBatch(x, 'vertical').dataSync())).toEqual([3, 4, 1, 2]);
    expect(Array.from(flipBatch(x, 'horizontal').dataSync())).toEqual([2, 1, 4, 3]);
    tf.dispose(x);
  });

  it('the tensor-free per-image rotation equals core rotateBilinear', () => {
    const img = Float32Array.from({ length: 5 * 7 * 2 }, (_, i) => Math.sin(i));
    for (const deg of [13.7, 90, 251]) {
      const out = new Float32Array(img.length);
      rotateImageWithPlan(img, 5, 7, 2, deg, out, 0);
      const ref = tf.tidy(() => rotateBilinear(tf.tensor4d(img, [1, 5, 7, 2]), deg).dataSync());
      for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - ref[i])).toBeLessThan(1e-6);
    }
  });
});

describe('fast per-image rotation', () => {
  it('is bit-identical to the rotation through core rotationPlan', () => {
    const rng = new Rng(9);
    for (const [h, w, c] of [
      [28, 28, 1],
      [5, 8, 3],
    ]) {
      const img = Float32Array.from({ length: h * w * c }, () => rng.next());
      for (let n = 0; n < 20; n++) {
        const deg = n < 4 ? 90 * n : rng.uniform(-720, 720);
        const a = new Float32Array(img.length + 3);
        const b = new Float32Array(img.length + 3);
        rotateImageWithPlan(img, h, w, c, deg, a, 3);
        rotateImageBilinearZeros(img, h, w, c, deg, b, 3);
        expect(Array.from(b)).toEqual(Array.from(a));
      }
    }
  });
});

describe('regenerated MNIST-rot-style split', () => {
  const source = { train: smallMnistLike(40, 1), test: smallMnistLike(12, 2) };
  const sizes = { train: 10, validation: 5, test: 20 };

  const key = (s: RotatedSplit, k: number) => `${s.sourceSplit[k]}:${s.sourceIndex[k]}`;

  it('is named "regenerated", has the asked sizes and no image in two splits', async () => {
    const r = await regeneratedMnistRot({ seed: 5, sizes, source });
    expect(r.name).toBe('regenerated');
    expect([r.train.count, r.validation.count, r.test.count]).toEqual([10, 5, 20]);
    const keys = [r.train, r.validation, r.test].flatMap((s) => Array.from({ length: s.count }, (_, k) => key(s, k)));
    expect(new Set(keys).size).toBe(35);
    for (const s of [r.train, r.validation]) for (let k = 0; k < s.count; k++) expect(s.sourceSplit[k]).toBe(0);
    // The test pool starts with every test image.
    for (let k = 0; k < 12; k++) expect(key(r.test, k)).toBe(`1:${k}`);
    for (const s of [r.train, r.validation, r.test]) {
      for (let k = 0; k < s.count; k++) {
        expect(s.angles[k]).toBeGreaterThanOrEqual(0);
        expect(s.angles[k]).toBeLessThan(360);
        expect(s.labels[k]).toBe((s.sourceSplit[k] === 0 ? source.train : source.test).labels[s.sourceIndex[k]]);
      }
    }
  });

  it('is deterministic for a seed and rotates each image by its angle (core bilinear, zero fill, [0, 1])', async () => {
    const a = await regeneratedMnistRot({ seed: 5, sizes, source });
    const b = await regeneratedMnistRot({ seed: 5, sizes, source });
    const c = await regeneratedMnistRot({ seed: 6, sizes, source });
    expect(Array.from(b.test.angles)).toEqual(Array.from(a.test.angles));
    expect(Array.from(b.train.sourceIndex)).toEqual(Array.from(a.train.sourceIndex));
    expect(Array.from(c.train.angles)).not.toEqual(Array.from(a.train.angles));
    const out = new Float32Array(36);
    const out2 = new Float32Array(36);
    a.validation.read(3, out, 0);
    b.validation.read(3, out2, 0);
    expect(Array.from(out2)).toEqual(Array.from(out));
    const src = source.train.images.subarray(a.validation.sourceIndex[3] * 36, (a.validation.sourceIndex[3] + 1) * 36);
    const ref = tf.tidy(() =>
      rotateBilinear(tf.div(tf.tensor4d(Float32Array.from(src), [1, 6, 6, 1]), 255), a.validation.angles[3]).dataSync(),
    );
    for (let i = 0; i < 36; i++) expect(Math.abs(out[i] - ref[i])).toBeLessThan(1e-6);
    // Usable directly as a pipeline source.
    const before = tf.memory().numTensors;
    let n = 0;
    await makeDataset(a.train, { batchSize: 4 }).forEachAsync((batch) => {
      n += batch.xs.shape[0];
      tf.dispose([batch.xs, batch.ys]);
    });
    expect(n).toBe(10);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses sizes the source cannot fill', async () => {
    await expect(regeneratedMnistRot({ sizes: { train: 30, validation: 20, test: 1 }, source })).rejects.toThrow(
      /regeneratedMnistRot: `sizes` must be train \+ validation ≤ 40/,
    );
    await expect(regeneratedMnistRot({ sizes: { train: 10, validation: 5, test: 40 }, source })).rejects.toThrow(
      /`sizes\.test` must be at most 37/,
    );
  });

  it('from the embedded MNIST: 10,000 / 2,000 / 50,000 with every MNIST test image in test', async () => {
    const r = await regeneratedMnistRot({ seed: 1 });
    expect([r.train.count, r.validation.count, r.test.count]).toEqual([10000, 2000, 50000]);
    let fromTest = 0;
    for (let k = 0; k < r.test.count; k++) fromTest += r.test.sourceSplit[k];
    expect(fromTest).toBe(10000);
    const img = new Float32Array(784);
    r.train.read(0, img, 0);
    const max = img.reduce((a, b) => Math.max(a, b), 0);
    expect(max).toBeGreaterThan(0.5);
    expect(max).toBeLessThanOrEqual(1 + 1e-6);
  });
});
