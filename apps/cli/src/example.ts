/**
 * `gmr make-example OUT`: a seeded, orientation-less image-folder dataset for trying `gmr train --data folder:…`
 * without a download. Fluorescence-microscopy-like cells (green cytoplasm, blue nuclei, dark background) in four
 * classes that a biologist tells apart by what is in the cell, never by which way it points:
 *   round       one nucleus, near-round cell
 *   binucleate  two nuclei (sometimes touching), near-round cell
 *   granular    one nucleus and bright yellow granules in the cytoplasm
 *   spindle     one nucleus, elongated cell
 * Every cell is drawn analytically at a uniformly random angle (no resampling of a drawn image, so the training
 * set carries no interpolation trace of a rotation), with textured cytoplasm, then imaged as a microscope does:
 * the optics' point-spread function (a Gaussian, σ = PSF_SIGMA pixels) blurs the scene, and the camera adds noise
 * per pixel (read noise and shot noise, which grows with the signal) to a background-subtracted, dark image.
 * Both matter for the paper's rotation protocol: a bilinear rotation blurs by about half a pixel, which changes
 * an image with razor-sharp edges (out of distribution) but hardly one already band-limited by a PSF; and it
 * zero-fills the corners, which a background at 0 (not at a camera offset) matches.
 *
 * Layout: OUT/train/<class>/NNNNN.png, OUT/test/<class>/NNNNN.png (RGB PNG), OUT/example.json (what made it).
 * Image i of a class and split depends only on (seed, split, class, i): a larger set begins with the smaller one.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, deriveSeed, encodePng } from '@gmr-conv/datasets';
import { CliError, fileError, makeFolder } from './errors.js';

export const EXAMPLE_CLASSES = ['binucleate', 'granular', 'round', 'spindle'] as const;
export type ExampleClass = (typeof EXAMPLE_CLASSES)[number];

export interface ExampleOptions {
  seed: number;
  trainPerClass: number;
  testPerClass: number;
  /** images are size × size pixels */
  size: number;
}

export const EXAMPLE_DEFAULTS: ExampleOptions = { seed: 1, trainPerClass: 150, testPerClass: 100, size: 32 };

/** Something drawn in cell coordinates: an ellipse (centre, half-axes, angle) with soft edges. */
interface Ellipse {
  cx: number;
  cy: number;
  a: number;
  b: number;
  theta: number;
}

/** Width in pixels of the optics' Gaussian point-spread function (about Nyquist sampling, as microscopes are set up). */
export const PSF_SIGMA = 0.8;
/** A granule is a point below the resolution: its image is the PSF's (drawn so whatever psfSigma a test sets). */
const GRANULE_SIGMA = PSF_SIGMA;

/**
 * Coverage of pixel (x, y) by an ellipse: 1 inside, 0 outside, a linear ramp one pixel wide across the edge in
 * every direction (the distance to the edge is (1 − r)/|∇r| for the normalised radius r; a ramp of (1 − r)·b
 * alone would be a/b pixels wide at the ends of an elongated cell, an edge sharpness that tells its class).
 */
function coverage(e: Ellipse, x: number, y: number): number {
  const dx = x - e.cx;
  const dy = y - e.cy;
  const c = Math.cos(e.theta);
  const s = Math.sin(e.theta);
  const u = (c * dx + s * dy) / e.a;
  const v = (-s * dx + c * dy) / e.b;
  const r = Math.sqrt(u * u + v * v);
  if (r < 1e-9) return 1;
  const grad = Math.sqrt((u / e.a) ** 2 + (v / e.b) ** 2) / r;
  return Math.min(1, Math.max(0, 0.5 + (1 - r) / grad));
}

/** Separable Gaussian blur of an S×S×C float image, zero outside (the scene is dark beyond the image too). */
function blurPsf(img: Float32Array, S: number, C: number, sigma: number): Float32Array {
  const half = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * half + 1 }, (_, i) => Math.exp(-0.5 * ((i - half) / sigma) ** 2));
  const sum = k.reduce((a, b) => a + b, 0);
  const pass = (src: Float32Array, dy: number, dx: number) => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++)
        for (let t = -half; t <= half; t++) {
          const yy = y + t * dy;
          const xx = x + t * dx;
          if (yy < 0 || yy >= S || xx < 0 || xx >= S) continue;
          const w = k[t + half] / sum;
          for (let c = 0; c < C; c++) out[(y * S + x) * C + c] += w * src[(yy * S + xx) * C + c];
        }
    return out;
  };
  return pass(pass(img, 0, 1), 1, 0);
}

/** A standard normal draw (Box–Muller). */
function normal(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** A point of the ellipse's interior at normalised radius ≤ rMax, in image coordinates. */
function inside(e: Ellipse, rMax: number, rng: Rng): [number, number] {
  const r = rMax * Math.sqrt(rng.next());
  const t = 2 * Math.PI * rng.next();
  const u = r * e.a * Math.cos(t);
  const v = r * e.b * Math.sin(t);
  return [e.cx + Math.cos(e.theta) * u - Math.sin(e.theta) * v, e.cy + Math.sin(e.theta) * u + Math.cos(e.theta) * v];
}

/** How a cell is imaged; the defaults are the dataset's, the others let tests look at one step alone. */
export interface Imaging {
  /** the point-spread function's σ in pixels; 0 = none (the sharp scene) */
  psfSigma: number;
  /** camera noise on (the random draws are made either way, so the cell is the same) */
  noise: boolean;
}

/** One cell of class `kind` as RGBA8, size × size. */
export function renderCell(
  kind: ExampleClass,
  size: number,
  rng: Rng,
  imaging: Imaging = { psfSigma: PSF_SIGMA, noise: true },
): Uint8Array {
  const S = size;
  const theta = 2 * Math.PI * rng.next();
  const centre = () => S / 2 - 0.5 + rng.uniform(-0.08, 0.08) * S;
  const cell: Ellipse =
    kind === 'spindle'
      ? { cx: centre(), cy: centre(), a: S * rng.uniform(0.3, 0.42), b: S * rng.uniform(0.13, 0.18), theta }
      : (() => {
          const b = S * rng.uniform(0.2, 0.27);
          return { cx: centre(), cy: centre(), a: b * rng.uniform(1, 1.45), b, theta };
        })();
  const rn = S * rng.uniform(0.065, 0.09);
  const nucleus = (at: [number, number]): Ellipse => ({
    cx: at[0],
    cy: at[1],
    a: rn * rng.uniform(1, 1.25),
    b: rn,
    theta: 2 * Math.PI * rng.next(),
  });
  const nuclei: Ellipse[] = [];
  if (kind === 'binucleate') {
    // two nuclei on a random axis through a point near the centre; at the smallest gap they touch
    const [mx, my] = inside(cell, 0.15, rng);
    const d = rn * rng.uniform(1.0, 1.7);
    const t = 2 * Math.PI * rng.next();
    nuclei.push(
      nucleus([mx + d * Math.cos(t), my + d * Math.sin(t)]),
      nucleus([mx - d * Math.cos(t), my - d * Math.sin(t)]),
    );
  } else nuclei.push(nucleus(inside(cell, 0.3, rng)));
  const granules: [number, number, number][] = [];
  if (kind === 'granular') {
    const n = 5 + rng.int(6);
    for (let i = 0; i < n; i++) granules.push([...inside(cell, 0.85, rng), rng.uniform(0.6, 1)]);
  }
  // textured cytoplasm: three plane waves of random direction, frequency and phase
  const waves = Array.from({ length: 3 }, () => {
    const t = 2 * Math.PI * rng.next();
    const f = rng.uniform(0.25, 0.7);
    return [f * Math.cos(t), f * Math.sin(t), 2 * Math.PI * rng.next()] as const;
  });
  const brightness = rng.uniform(0.7, 1);
  // the scene in 8-bit units, cytoplasm and nuclei (sharp-edged) first: the optics blur them below
  const scene = new Float32Array(S * S * 3);
  const inCell = new Uint8Array(S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const texture = 0.75 + 0.25 * (waves.reduce((acc, [fx, fy, ph]) => acc + Math.sin(fx * x + fy * y + ph), 0) / 3);
      const cyto = coverage(cell, x, y) * texture * brightness;
      const nuc =
        Math.min(
          1,
          nuclei.reduce((acc, e) => acc + coverage(e, x, y), 0),
        ) * cyto;
      inCell[y * S + x] = cyto > 0 ? 1 : 0;
      const p = 3 * (y * S + x);
      scene[p] = 25 * cyto;
      scene[p + 1] = 170 * cyto * (1 - 0.7 * nuc);
      scene[p + 2] = 15 * cyto + 190 * nuc;
    }
  const image = imaging.psfSigma > 0 ? blurPsf(scene, S, 3, imaging.psfSigma) : scene;
  const out = new Uint8Array(S * S * 4);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      // granules are below the resolution: each is imaged as the PSF itself, a Gaussian of width PSF_SIGMA
      let gran = 0;
      for (const [gx, gy, g] of granules)
        gran += g * Math.exp(-((x - gx) ** 2 + (y - gy) ** 2) / (2 * GRANULE_SIGMA * GRANULE_SIGMA));
      gran = Math.min(1, gran) * inCell[y * S + x];
      const p = y * S + x;
      const signal = [image[3 * p] + 170 * gran, image[3 * p + 1] + 150 * gran, image[3 * p + 2]];
      for (let c = 0; c < 3; c++) {
        // camera noise: read noise (σ 2) and shot noise (variance ∝ signal), on a background subtracted to 0
        const noise = Math.sqrt(4 + 0.35 * signal[c]) * normal(rng) * (imaging.noise ? 1 : 0);
        out[4 * p + c] = Math.max(0, Math.min(255, Math.round(signal[c] + noise)));
      }
      out[4 * p + 3] = 255;
    }
  return out;
}

const SPLITS = ['train', 'test'] as const;

export interface ExampleResult {
  out: string;
  classes: string[];
  counts: { train: number; test: number };
  seconds: number;
}

/** Checks the options, naming the one that is wrong. */
function checkOptions(o: ExampleOptions): void {
  const bad = (name: string, v: unknown, allowed: string) =>
    new CliError(`${name} must be ${allowed}, got ${JSON.stringify(v)}`);
  if (!Number.isInteger(o.seed) || o.seed < 0) throw bad('--seed', o.seed, 'an integer ≥ 0');
  if (!Number.isInteger(o.trainPerClass) || o.trainPerClass < 1)
    throw bad('--train-per-class', o.trainPerClass, 'an integer ≥ 1');
  if (!Number.isInteger(o.testPerClass) || o.testPerClass < 1)
    throw bad('--test-per-class', o.testPerClass, 'an integer ≥ 1');
  if (!Number.isInteger(o.size) || o.size < 16 || o.size > 256)
    throw bad('--size', o.size, 'an integer in 16..256 (pixels)');
}

/** Writes the dataset; refuses a folder that already holds train/ or test/ (it would mix two datasets). */
export function makeExample(
  out: string,
  options: Partial<ExampleOptions> = {},
  onImage?: (done: number, total: number) => void,
): ExampleResult {
  const o = { ...EXAMPLE_DEFAULTS, ...options };
  checkOptions(o);
  const t0 = performance.now();
  for (const split of SPLITS) {
    const dir = join(out, split);
    if (existsSync(dir) && readdirSync(dir).length > 0)
      throw new CliError(`${dir} already holds files: choose an empty or new folder for the example dataset`);
  }
  const total = EXAMPLE_CLASSES.length * (o.trainPerClass + o.testPerClass);
  let done = 0;
  SPLITS.forEach((split, s) => {
    const count = split === 'train' ? o.trainPerClass : o.testPerClass;
    EXAMPLE_CLASSES.forEach((kind, k) => {
      const dir = join(out, split, kind);
      makeFolder(dir);
      for (let i = 0; i < count; i++) {
        const rgba = renderCell(kind, o.size, new Rng(deriveSeed(o.seed, s, k, i)));
        const file = join(dir, `${String(i).padStart(5, '0')}.png`);
        try {
          writeFileSync(file, encodePng(rgba, o.size, o.size));
        } catch (e) {
          throw fileError(e, file);
        }
        onImage?.(++done, total);
      }
    });
  });
  const meta = {
    generator: 'gmr make-example',
    ...o,
    classes: [...EXAMPLE_CLASSES],
    layout: 'train/<class>/NNNNN.png, test/<class>/NNNNN.png',
  };
  try {
    writeFileSync(join(out, 'example.json'), JSON.stringify(meta, null, 2) + '\n');
  } catch (e) {
    throw fileError(e, join(out, 'example.json'));
  }
  return {
    out,
    classes: [...EXAMPLE_CLASSES],
    counts: { train: EXAMPLE_CLASSES.length * o.trainPerClass, test: EXAMPLE_CLASSES.length * o.testPerClass },
    seconds: (performance.now() - t0) / 1000,
  };
}

/** `gmr make-example OUT`: writes the dataset and says how to train on it. */
export async function runMakeExample(
  out: string,
  o: ExampleOptions & { json: boolean; progress: boolean },
): Promise<void> {
  const { progressBar } = await import('./progress.js');
  const total = EXAMPLE_CLASSES.length * (o.trainPerClass + o.testPerClass);
  const bar = progressBar('writing', total, { unit: 'img', enabled: o.progress });
  let r: ExampleResult;
  try {
    r = makeExample(out, o, (done) => bar.update(done));
  } finally {
    bar.stop();
  }
  if (o.json) console.log(JSON.stringify(r));
  else
    console.log(
      `wrote ${r.counts.train} training and ${r.counts.test} test images (${o.size}×${o.size} RGB PNG; classes ${r.classes.join(', ')}) to ${out} in ${r.seconds.toFixed(1)} s\n` +
        `train on it: gmr train --data folder:${out} --model gmr-resnet18 --inplanes 8 --epochs 20`,
    );
}
