/**
 * Is a model's loss on the rotated test a matter of rotation, or of the resampling that rotates? Writes copies of
 * a `gmr make-example` test split (or any folder of class folders of RGB images) that the rotation protocol's
 * bilinear resampling has touched without turning them, one class-folder tree per variant:
 *   identity     the images as they are (read and written back: the reference)
 *   rot10-back   rotated by +10° and back by −10° (bilinear, zero fill: the protocol's interpolation twice)
 *   rot45-back   the same at 45° (more resampling, larger zero-filled corners)
 *   half-shift   a bilinear shift by half a pixel down and right (edge pixels repeated): blur without a rotation
 *   blur0.5      a Gaussian blur, σ 0.5 pixel
 *   corners45    only the zero fill of the 45° round trip (corners set to 0), no resampling of the content
 * A model that drops on rot10-back as it drops at 10° is sensitive to the resampling, not the orientation.
 *   node --import tsx bench/example_resampling.ts TEST_DIR OUT
 *   gmr eval --compare A.gmrckpt B.gmrckpt --data folder:OUT/rot10-back --angles 0
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage, encodePng, gaussianBlur, rotate, type Image } from '@gmr-conv/datasets';

const [src, out] = process.argv.slice(2);
if (!src || !out) throw new Error('usage: bench/example_resampling.ts TEST_DIR OUT (TEST_DIR/<class>/<image>)');

const toImage = (rgba: Uint8Array, H: number, W: number): Image => {
  const data = new Float32Array(H * W * 3);
  for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) data[3 * p + c] = rgba[4 * p + c] / 255;
  return { data, height: H, width: W, channels: 3 };
};
const toRgba = (im: Image): Uint8Array => {
  const o = new Uint8Array(im.height * im.width * 4);
  for (let p = 0; p < im.height * im.width; p++) {
    for (let c = 0; c < 3; c++) o[4 * p + c] = Math.max(0, Math.min(255, Math.round(255 * im.data[3 * p + c])));
    o[4 * p + 3] = 255;
  }
  return o;
};
/** Bilinear shift by (½, ½) pixel: each output is the mean of a 2×2 block, the last row and column repeated. */
const halfShift = (im: Image): Image => {
  const { height: H, width: W, data } = im;
  const o = new Float32Array(data.length);
  const at = (i: number, j: number, c: number) => data[3 * (Math.min(i, H - 1) * W + Math.min(j, W - 1)) + c];
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++)
      for (let c = 0; c < 3; c++)
        o[3 * (i * W + j) + c] = 0.25 * (at(i, j, c) + at(i + 1, j, c) + at(i, j + 1, c) + at(i + 1, j + 1, c));
  return { ...im, data: o };
};
/** The zero fill of a round trip at `degrees`, alone: the image times the round trip of an all-ones image. */
const cornersOnly =
  (degrees: number) =>
  (im: Image): Image => {
    const mask = rotate(rotate({ ...im, data: new Float32Array(im.data.length).fill(1) }, degrees), -degrees);
    return { ...im, data: im.data.map((v, i) => v * mask.data[i]) };
  };

const VARIANTS: Record<string, (im: Image) => Image> = {
  identity: (im) => im,
  'rot10-back': (im) => rotate(rotate(im, 10), -10),
  'rot45-back': (im) => rotate(rotate(im, 45), -45),
  'half-shift': halfShift,
  'blur0.5': (im) => gaussianBlur(im, 3, 0.5),
  corners45: cornersOnly(45),
};

let n = 0;
for (const cls of readdirSync(src).sort()) {
  for (const file of readdirSync(join(src, cls)).sort()) {
    const d = decodeImage(new Uint8Array(readFileSync(join(src, cls, file))), join(src, cls, file));
    const im = toImage(d.rgba, d.height, d.width);
    for (const [name, f] of Object.entries(VARIANTS)) {
      mkdirSync(join(out, name, cls), { recursive: true });
      writeFileSync(join(out, name, cls, file.replace(/\.\w+$/, '.png')), encodePng(toRgba(f(im)), d.width, d.height));
    }
    n++;
  }
}
console.log(
  `wrote ${n} images × ${Object.keys(VARIANTS).length} variants (${Object.keys(VARIANTS).join(', ')}) to ${out}`,
);
