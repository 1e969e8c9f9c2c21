/**
 * Writes the README figures (docs/*.png) from the embedded MNIST:
 *   rotation-protocol.png: one test digit at the 37 protocol angles (core's rotateBilinear, zero fill);
 *   regenerated.png: the first 12 images of the "regenerated" train split (seed 0) above their upright sources.
 * Run: pnpm --filter @gmr-conv/datasets run figures
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROTATION_ANGLES, encodePng, loadMnist, regeneratedMnistRot, rotateImageWithPlan } from '../src/index.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs');

/** Tiles grey [0, 1] 28×28 images into a grid (white gaps) and encodes it as PNG, scaled ×2. */
function grid(images: Float32Array[], cols: number): Uint8Array {
  const S = 28;
  const gap = 2;
  const rows = Math.ceil(images.length / cols);
  const W = (cols * (S + gap) + gap) * 2;
  const H = (rows * (S + gap) + gap) * 2;
  const rgba = new Uint8Array(W * H * 4).fill(255);
  images.forEach((img, n) => {
    const oy = gap + Math.floor(n / cols) * (S + gap);
    const ox = gap + (n % cols) * (S + gap);
    for (let i = 0; i < S * 2; i++) {
      for (let j = 0; j < S * 2; j++) {
        const v = 255 - Math.round(255 * Math.min(1, Math.max(0, img[Math.floor(i / 2) * S + Math.floor(j / 2)])));
        const p = ((oy * 2 + i) * W + ox * 2 + j) * 4;
        rgba[p] = rgba[p + 1] = rgba[p + 2] = v;
      }
    }
  });
  return encodePng(rgba, W, H);
}

const test = await loadMnist('test');
const digit = Float32Array.from(test.images.subarray(0, 784), (v) => v / 255);
const strip = ROTATION_ANGLES.map((a) => {
  const o = new Float32Array(784);
  rotateImageWithPlan(digit, 28, 28, 1, a, o, 0);
  return o;
});
await mkdir(out, { recursive: true });
await writeFile(join(out, 'rotation-protocol.png'), grid(strip, 13));

const r = await regeneratedMnistRot({ seed: 0 });
const train = await loadMnist('train');
const rotated: Float32Array[] = [];
const upright: Float32Array[] = [];
for (let k = 0; k < 12; k++) {
  const o = new Float32Array(784);
  r.train.read(k, o, 0);
  rotated.push(o);
  const i = r.train.sourceIndex[k];
  upright.push(Float32Array.from(train.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255));
}
await writeFile(join(out, 'regenerated.png'), grid([...upright, ...rotated], 12));
console.log(`angles of the 12: ${Array.from(r.train.angles.subarray(0, 12), (a) => a.toFixed(1)).join(', ')}`);
console.log(`wrote ${out}/rotation-protocol.png and regenerated.png`);
