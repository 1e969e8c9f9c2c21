/** Node-side checks of the page's pieces that need no browser: the drawing → 28×28 conversion, samples, weights. */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toMnist } from '../src/draw.ts';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function stats(img: Float32Array) {
  let mass = 0, cy = 0, cx = 0, x0 = 28, x1 = -1, y0 = 28, y1 = -1;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = img[y * 28 + x];
      if (v <= 0) continue;
      mass += v;
      cy += v * y;
      cx += v * x;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  return { mass, cy: cy / mass, cx: cx / mass, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

describe('toMnist (a drawing → an MNIST-like 28×28 digit)', () => {
  it('fits the ink into 20 px and centres its centre of mass', () => {
    // a 30×200 bar near the top-left corner of a 280×280 pad
    const W = 280;
    const grey = new Float32Array(W * W);
    for (let y = 10; y < 210; y++) for (let x = 20; x < 50; x++) grey[y * W + x] = 1;
    const s = stats(toMnist(grey, W, W));
    expect(s.h).toBe(20);
    expect(s.w).toBe(3);
    expect(Math.abs(s.cy - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(s.cx - 13.5)).toBeLessThanOrEqual(0.5);
  });

  it('keeps the aspect ratio and values in [0, 1]; an empty pad gives zeros', () => {
    const W = 100;
    const grey = new Float32Array(W * W);
    for (let y = 40; y < 60; y++) for (let x = 10; x < 90; x++) grey[y * W + x] = 0.8;
    const out = toMnist(grey, W, W);
    const s = stats(out);
    expect(s.w).toBe(20);
    expect(s.h).toBe(5);
    expect(Math.max(...out)).toBeCloseTo(0.8, 5);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
    expect(toMnist(new Float32Array(W * W), W, W).every((v) => v === 0)).toBe(true);
  });
});

describe('shipped data', () => {
  it('samples.json: 20 MNIST test digits, two per class, 784 pixels each', () => {
    const s = JSON.parse(readFileSync(join(WEB, 'src/samples.json'), 'utf8')) as { samples: { index: number; label: number; pixels: string }[] };
    expect(s.samples).toHaveLength(20);
    for (let c = 0; c < 10; c++) expect(s.samples.filter((x) => x.label === c)).toHaveLength(2);
    for (const x of s.samples) expect(Buffer.from(x.pixels, 'base64')).toHaveLength(784);
  });

  it('models: tfjs layers folders under 2 MB, the GMR-CNN with GMRConv2D layers, and the manifest that made them', () => {
    const manifest = JSON.parse(readFileSync(join(WEB, 'public/models/manifest.json'), 'utf8'));
    expect(manifest.command).toBe('pnpm --filter @gmr-conv/web run weights');
    for (const [name, conv] of [['gmr-cnn', 'GMRConv2D'], ['plain-cnn', 'Conv2D']] as const) {
      const dir = join(WEB, 'public/models', name);
      const model = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      const layers = model.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name);
      expect(layers.filter((c: string) => c === conv)).toHaveLength(3);
      expect(model.weightsManifest[0].paths).toEqual(['weights.bin']);
      const values = model.weightsManifest.flatMap((g: { weights: { shape: number[] }[] }) => g.weights).reduce((n: number, w: { shape: number[] }) => n + w.shape.reduce((a, b) => a * b, 1), 0);
      expect(statSync(join(dir, 'weights.bin')).size).toBe(values * 4);
      expect(statSync(join(dir, 'weights.bin')).size).toBeLessThan(2 * 1024 * 1024);
      expect(manifest.models[name].train).toMatch(new RegExp(`^gmr train --model ${name} `));
    }
  });
});
