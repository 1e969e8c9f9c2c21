import * as tf from '@tensorflow/tfjs';
import { rotateBilinear } from '@gmr-conv/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Rng,
  colorJitter,
  compose,
  flipHorizontal,
  flipVertical,
  gaussianBlur,
  mocoAugmentation,
  randomGaussianBlur,
  randomGrayscale,
  normalize,
  randomHorizontalFlip,
  randomResizedCrop,
  randomRotation,
  randomTranslation,
  rotate,
  translate,
  type Image,
} from '../src/index.js';

function randomImage(h: number, w: number, c: number, seed: number): Image {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: h * w * c }, () => rng.next()), height: h, width: w, channels: c };
}

function at(img: Image, i: number, j: number, c = 0): number {
  return img.data[(i * img.width + j) * img.channels + c];
}

/** numpy.rot90(img, 1) on a square image: out[i, j] = in[j, N-1-i]. */
function rot90(img: Image): Image {
  const N = img.height;
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++)
      for (let c = 0; c < img.channels; c++) out[(i * N + j) * img.channels + c] = at(img, j, N - 1 - i, c);
  return { ...img, data: out };
}

/** numpy.pad(mode='reflect' | 'edge') then the centre crop, written independently of the library. */
function pad(img: Image, p: number, mode: 'reflect' | 'edge'): Image {
  const H = img.height + 2 * p;
  const W = img.width + 2 * p;
  const idx = (k: number, n: number) => {
    if (mode === 'edge') return Math.min(n - 1, Math.max(0, k));
    while (k < 0 || k >= n) k = k < 0 ? -k : 2 * (n - 1) - k;
    return k;
  };
  const out = new Float32Array(H * W * img.channels);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++)
      for (let c = 0; c < img.channels; c++)
        out[(i * W + j) * img.channels + c] = at(img, idx(i - p, img.height), idx(j - p, img.width), c);
  return { data: out, height: H, width: W, channels: img.channels };
}

function crop(img: Image, p: number, h: number, w: number): Image {
  const out = new Float32Array(h * w * img.channels);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let c = 0; c < img.channels; c++) out[(i * w + j) * img.channels + c] = at(img, i + p, j + p, c);
  return { data: out, height: h, width: w, channels: img.channels };
}

function maxDiff(a: Float32Array, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('rotate', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('bilinear with zero fill equals core rotateBilinear (the protocol rotation)', () => {
    const img = randomImage(7, 9, 2, 3);
    for (const deg of [0, 37, 90, 200, -15]) {
      const ours = rotate(img, deg, { interpolation: 'bilinear', padding: 'zeros' });
      const before = tf.memory().numTensors;
      const ref = tf.tidy(() => rotateBilinear(tf.tensor4d(img.data, [1, 7, 9, 2]), deg).dataSync());
      expect(tf.memory().numTensors).toBe(before);
      expect(maxDiff(ours.data, ref)).toBeLessThan(1e-5);
    }
  });

  it('nearest, bilinear and bicubic at 90° equal numpy.rot90; 0° is the identity', () => {
    const img = randomImage(6, 6, 3, 4);
    for (const interpolation of ['nearest', 'bilinear', 'bicubic'] as const) {
      for (const padding of ['zeros', 'reflect', 'replicate'] as const) {
        expect(maxDiff(rotate(img, 90, { interpolation, padding }).data, rot90(img).data)).toBeLessThan(1e-5);
        expect(maxDiff(rotate(img, 0, { interpolation, padding }).data, img.data)).toBeLessThan(1e-6);
      }
    }
  });

  it('reflect and replicate equal an explicit pad–rotate–crop', () => {
    const img = randomImage(5, 5, 1, 5);
    const P = 6;
    for (const [padding, mode] of [
      ['reflect', 'reflect'],
      ['replicate', 'edge'],
    ] as const) {
      for (const interpolation of ['nearest', 'bilinear', 'bicubic'] as const) {
        for (const deg of [30, 135]) {
          const direct = rotate(img, deg, { interpolation, padding });
          const padded = rotate(pad(img, P, mode), deg, { interpolation, padding: 'zeros' });
          expect(maxDiff(direct.data, crop(padded, P, 5, 5).data)).toBeLessThan(1e-5);
        }
      }
    }
  });

  it('rejects bad options', () => {
    const img = randomImage(3, 3, 1, 1);
    expect(() => rotate(img, 10, { interpolation: 'area' as 'nearest' })).toThrow(
      /rotate: `interpolation` must be 'nearest', 'bilinear' or 'bicubic', got "area"/,
    );
    expect(() => rotate(img, NaN)).toThrow(/`degrees` must be a finite number/);
  });
});

describe('flips, translation, crops, colour, normalisation', () => {
  it('flips reverse the right axis', () => {
    const img = randomImage(3, 4, 2, 6);
    const h = flipHorizontal(img);
    const v = flipVertical(img);
    expect(at(h, 1, 0, 1)).toBe(at(img, 1, 3, 1));
    expect(at(v, 0, 2, 0)).toBe(at(img, 2, 2, 0));
    expect(Array.from(flipHorizontal(h).data)).toEqual(Array.from(img.data));
  });

  it('translation shifts with zero fill; random translation stays within its range and follows the seed', () => {
    const img = randomImage(5, 5, 1, 7);
    const t = translate(img, 1, -2);
    expect(at(t, 1, 0)).toBe(at(img, 0, 2));
    expect(at(t, 0, 0)).toBe(0);
    expect(at(t, 4, 4)).toBe(0);
    const tr = randomTranslation(0.2);
    const a = tr(img, new Rng(11));
    expect(Array.from(tr(img, new Rng(11)).data)).toEqual(Array.from(a.data));
    // |shift| ≤ round(0.2·5) = 1: some shift of at most one pixel in each direction reproduces it.
    const found = [-1, 0, 1].some((dy) => [-1, 0, 1].some((dx) => maxDiff(translate(img, dy, dx).data, a.data) === 0));
    expect(found).toBe(true);
  });

  it('random resized crop: full-scale square crop is the identity; output size and seed respected', () => {
    const img = randomImage(8, 8, 3, 8);
    const id = randomResizedCrop(8, 8, [1, 1], [1, 1])(img, new Rng(1));
    expect(maxDiff(id.data, img.data)).toBeLessThan(1e-6);
    const t = randomResizedCrop(4, 6, [0.5, 1]);
    const a = t(img, new Rng(2));
    expect([a.height, a.width, a.channels]).toEqual([4, 6, 3]);
    expect(Array.from(t(img, new Rng(2)).data)).toEqual(Array.from(a.data));
    expect(Array.from(t(img, new Rng(3)).data)).not.toEqual(Array.from(a.data));
  });

  it('colour jitter: brightness scales every value by one factor; hue leaves grey alone; p = 0 is a no-op', () => {
    const img = randomImage(4, 4, 3, 9);
    const half = { ...img, data: img.data.map((v) => v * 0.5) };
    const b = colorJitter({ brightness: 0.4 })(half, new Rng(5));
    const f = b.data[0] / half.data[0];
    expect(f).toBeGreaterThanOrEqual(0.6);
    expect(f).toBeLessThanOrEqual(1.4);
    expect(
      maxDiff(
        b.data,
        half.data.map((v) => v * f),
      ),
    ).toBeLessThan(1e-6);
    const grey: Image = {
      data: Float32Array.from({ length: 48 }, (_, i) => Math.floor(i / 3) / 16),
      height: 4,
      width: 4,
      channels: 3,
    };
    expect(maxDiff(colorJitter({ hue: 0.5 })(grey, new Rng(1)).data, grey.data)).toBeLessThan(1e-6);
    expect(colorJitter({ brightness: 1, contrast: 1, p: 0 })(img, new Rng(1))).toBe(img);
    const c = colorJitter({ contrast: 0.5 })(half, new Rng(3));
    const luma = (x: Image) => {
      let s = 0;
      for (let p = 0; p < 16; p++) s += 0.2989 * x.data[3 * p] + 0.587 * x.data[3 * p + 1] + 0.114 * x.data[3 * p + 2];
      return s / 16;
    };
    expect(Math.abs(luma(c) - luma(half))).toBeLessThan(1e-5);
    expect(() => colorJitter({ hue: 0.7 })).toThrow(/colorJitter: `hue` must be a number in \[0, 0\.5\], got 0\.7/);
  });

  it('normalisation per channel, and composition follows the seed', () => {
    const img = randomImage(2, 2, 3, 10);
    const n = normalize([0.5, 0.25, 0], [0.5, 0.25, 2])(img, new Rng(0));
    expect(at(n, 1, 1, 1)).toBeCloseTo((at(img, 1, 1, 1) - 0.25) / 0.25, 6);
    expect(at(n, 0, 1, 2)).toBeCloseTo(at(img, 0, 1, 2) / 2, 6);
    expect(() => normalize([0.5], [1])(img, new Rng(0))).toThrow(/normalize: `mean` must be one value or 3 values/);
    const t = compose([
      randomRotation(0, 360, { interpolation: 'bicubic', padding: 'reflect' }),
      randomHorizontalFlip(0.5),
      colorJitter({ brightness: 0.2 }),
    ]);
    expect(Array.from(t(img, new Rng(42)).data)).toEqual(Array.from(t(img, new Rng(42)).data));
  });

  it('grayscale, Gaussian blur and the MoCo recipe', () => {
    const img = randomImage(5, 6, 3, 12);
    const g = randomGrayscale(1)(img, new Rng(1));
    expect(at(g, 2, 3, 0)).toBeCloseTo(
      0.2989 * at(img, 2, 3, 0) + 0.587 * at(img, 2, 3, 1) + 0.114 * at(img, 2, 3, 2),
      6,
    );
    expect(at(g, 2, 3, 1)).toBe(at(g, 2, 3, 0));
    expect(randomGrayscale(0)(img, new Rng(1))).toBe(img);
    // A 3-tap blur of an impulse gives the outer product of the normalised kernel [a, b, a].
    const imp: Image = { data: new Float32Array(25), height: 5, width: 5, channels: 1 };
    imp.data[12] = 1;
    const sigma = 0.8;
    const e = Math.exp(-0.5 / sigma ** 2);
    const [a, b] = [e / (1 + 2 * e), 1 / (1 + 2 * e)];
    const bl = gaussianBlur(imp, 3, sigma);
    expect(at(bl, 2, 2)).toBeCloseTo(b * b, 6);
    expect(at(bl, 1, 2)).toBeCloseTo(a * b, 6);
    expect(at(bl, 1, 1)).toBeCloseTo(a * a, 6);
    expect(bl.data.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 6);
    // Reflect padding: a constant image stays constant.
    const flat: Image = { data: new Float32Array(30).fill(0.3), height: 5, width: 6, channels: 1 };
    expect(maxDiff(randomGaussianBlur(3, 0.1, 2, 1)(flat, new Rng(4)).data, flat.data)).toBeLessThan(1e-6);
    expect(() => gaussianBlur(imp, 4, 1)).toThrow(/gaussianBlur: `kernelSize` must be an odd positive integer, got 4/);
    const moco = mocoAugmentation(6, { translate: 0.2, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    const m = moco(img, new Rng(8));
    expect([m.height, m.width, m.channels]).toEqual([6, 6, 3]);
    expect(Array.from(moco(img, new Rng(8)).data)).toEqual(Array.from(m.data));
  });
});
