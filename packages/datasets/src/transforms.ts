/**
 * Seeded image transforms on plain float32 HWC images (no tensors, so nothing to dispose, and the same numbers
 * on every backend). A Transform takes an image and a generator and returns a new image; every random choice
 * comes from that generator, so a seed fixes the result. The pipelines give each element its own generator,
 * derived from (seed, epoch, element index), so results do not depend on batching or order.
 *
 * Colour transforms expect values in [0, 1] (the pipelines scale uint8 images by 1/255 first).
 */
import { invalidArg } from './errors.js';
import type { Rng } from './rng.js';

/** A float32 image, row-major HWC. */
export interface Image {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

export type Transform = (img: Image, rng: Rng) => Image;

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';
/**
 * What lies outside the image: 'zeros' (zero fill, the paper's test protocol), 'reflect' (mirror without
 * repeating the edge pixel, as numpy/torch 'reflect') or 'replicate' (the edge pixel repeated).
 */
export type Padding = 'zeros' | 'reflect' | 'replicate';

export interface RotateOptions {
  interpolation?: Interpolation;
  padding?: Padding;
}

/** Maps an index onto 0..n-1 by the padding rule; -1 means "outside, zero". */
function boundary(i: number, n: number, padding: Padding): number {
  if (i >= 0 && i < n) return i;
  if (padding === 'zeros') return -1;
  if (padding === 'replicate') return i < 0 ? 0 : n - 1;
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = ((i % period) + period) % period;
  if (m >= n) m = period - m;
  return m;
}

function cubic(t: number): [number, number, number, number] {
  // Keys' cubic convolution with a = -0.75 (as PyTorch's bicubic).
  const a = -0.75;
  const w = (x: number) => {
    x = Math.abs(x);
    if (x <= 1) return (a + 2) * x * x * x - (a + 3) * x * x + 1;
    if (x < 2) return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a;
    return 0;
  };
  return [w(1 + t), w(t), w(1 - t), w(2 - t)];
}

/**
 * Rotates by `degrees` counter-clockwise (the numpy.rot90 sense, the same as core's rotateBilinear) about the
 * grid centre ((H−1)/2, (W−1)/2), keeping the H×W grid. Output pixel (i, j) samples the source at
 *   r = cy + cosθ·(i−cy) + sinθ·(j−cx),  s = cx − sinθ·(i−cy) + cosθ·(j−cx).
 * With padding 'zeros' and 'bilinear' this is exactly core's rotateBilinear (the paper's protocol). 'reflect' and
 * 'replicate' give the pad–rotate–crop result for a pad wide enough that the crop never sees the pad's edge
 * (the samples outside the image are read from the mirrored or clamped image directly).
 */
export function rotate(img: Image, degrees: number, options: RotateOptions = {}): Image {
  const interpolation = options.interpolation ?? 'bilinear';
  const padding = options.padding ?? 'zeros';
  if (!['nearest', 'bilinear', 'bicubic'].includes(interpolation))
    invalidArg('rotate', 'interpolation', interpolation, "'nearest', 'bilinear' or 'bicubic'");
  if (!['zeros', 'reflect', 'replicate'].includes(padding))
    invalidArg('rotate', 'padding', padding, "'zeros', 'reflect' or 'replicate'");
  if (!Number.isFinite(degrees)) invalidArg('rotate', 'degrees', degrees, 'a finite number');
  const { height: H, width: W, channels: C, data } = img;
  const out = new Float32Array(data.length);
  const t = degrees * (Math.PI / 180);
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const cy = (H - 1) / 2;
  const cx = (W - 1) / 2;
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      const r = cy + cos * (i - cy) + sin * (j - cx);
      const s = cx - sin * (i - cy) + cos * (j - cx);
      const o = (i * W + j) * C;
      if (interpolation === 'nearest') {
        const rr = boundary(Math.round(r), H, padding);
        const ss = boundary(Math.round(s), W, padding);
        if (rr >= 0 && ss >= 0) for (let c = 0; c < C; c++) out[o + c] = data[(rr * W + ss) * C + c];
      } else if (interpolation === 'bilinear') {
        const r0 = Math.floor(r);
        const s0 = Math.floor(s);
        const fr = r - r0;
        const fs = s - s0;
        const corners: Array<[number, number, number]> = [
          [r0, s0, (1 - fr) * (1 - fs)],
          [r0, s0 + 1, (1 - fr) * fs],
          [r0 + 1, s0, fr * (1 - fs)],
          [r0 + 1, s0 + 1, fr * fs],
        ];
        for (const [rc, sc, w] of corners) {
          const rr = boundary(rc, H, padding);
          const ss = boundary(sc, W, padding);
          if (rr < 0 || ss < 0) continue;
          for (let c = 0; c < C; c++) out[o + c] += w * data[(rr * W + ss) * C + c];
        }
      } else {
        const r0 = Math.floor(r);
        const s0 = Math.floor(s);
        const wr = cubic(r - r0);
        const ws = cubic(s - s0);
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let a = 0; a < 4; a++) {
            const rr = boundary(r0 - 1 + a, H, padding);
            if (rr < 0) continue;
            for (let b = 0; b < 4; b++) {
              const ss = boundary(s0 - 1 + b, W, padding);
              if (ss < 0) continue;
              acc += wr[a] * ws[b] * data[(rr * W + ss) * C + c];
            }
          }
          out[o + c] = acc;
        }
      }
    }
  }
  return { data: out, height: H, width: W, channels: C };
}

/** Mirror left–right (reverses the width axis). */
export function flipHorizontal(img: Image): Image {
  const { height: H, width: W, channels: C, data } = img;
  const out = new Float32Array(data.length);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++)
      for (let c = 0; c < C; c++) out[(i * W + j) * C + c] = data[(i * W + (W - 1 - j)) * C + c];
  return { ...img, data: out };
}

/** Mirror top–bottom (reverses the height axis). */
export function flipVertical(img: Image): Image {
  const { height: H, width: W, channels: C, data } = img;
  const out = new Float32Array(data.length);
  const row = W * C;
  for (let i = 0; i < H; i++) out.set(data.subarray((H - 1 - i) * row, (H - i) * row), i * row);
  return { ...img, data: out };
}

function checkP(where: string, p: number): void {
  if (!(p >= 0 && p <= 1)) invalidArg(where, 'p', p, 'a probability in [0, 1]');
}

/** A random rotation by a uniform angle in [minDegrees, maxDegrees). */
export function randomRotation(minDegrees: number, maxDegrees: number, options: RotateOptions = {}): Transform {
  if (!(Number.isFinite(minDegrees) && Number.isFinite(maxDegrees) && minDegrees <= maxDegrees)) {
    invalidArg('randomRotation', '[minDegrees, maxDegrees]', [minDegrees, maxDegrees], 'finite numbers with min ≤ max');
  }
  return (img, rng) => rotate(img, rng.uniform(minDegrees, maxDegrees), options);
}

/** Flips left–right with probability p. */
export function randomHorizontalFlip(p = 0.5): Transform {
  checkP('randomHorizontalFlip', p);
  return (img, rng) => (rng.next() < p ? flipHorizontal(img) : img);
}

/** Flips top–bottom with probability p. */
export function randomVerticalFlip(p = 0.5): Transform {
  checkP('randomVerticalFlip', p);
  return (img, rng) => (rng.next() < p ? flipVertical(img) : img);
}

/** Shifts by whole pixels, zero fill. */
export function translate(img: Image, dy: number, dx: number): Image {
  const { height: H, width: W, channels: C, data } = img;
  const out = new Float32Array(data.length);
  for (let i = 0; i < H; i++) {
    const si = i - dy;
    if (si < 0 || si >= H) continue;
    for (let j = 0; j < W; j++) {
      const sj = j - dx;
      if (sj < 0 || sj >= W) continue;
      for (let c = 0; c < C; c++) out[(i * W + j) * C + c] = data[(si * W + sj) * C + c];
    }
  }
  return { ...img, data: out };
}

/**
 * Random translation as torchvision's RandomAffine(0, translate=(fx, fy)): shifts drawn uniformly from
 * [−fx·W, fx·W] and [−fy·H, fy·H], rounded to whole pixels, zero fill.
 */
export function randomTranslation(fx: number, fy: number = fx): Transform {
  for (const [n, v] of [
    ['fx', fx],
    ['fy', fy],
  ] as const)
    if (!(v >= 0 && v <= 1)) invalidArg('randomTranslation', n, v, 'a fraction in [0, 1]');
  return (img, rng) => {
    const dx = Math.round(rng.uniform(-fx * img.width, fx * img.width));
    const dy = Math.round(rng.uniform(-fy * img.height, fy * img.height));
    return translate(img, dy, dx);
  };
}

/** Crops rows top..top+h, columns left..left+w and resizes the crop to [height, width] (bilinear, half-pixel centres). */
export function cropResize(
  img: Image,
  top: number,
  left: number,
  h: number,
  w: number,
  height: number,
  width: number,
): Image {
  const { width: W, height: H, channels: C, data } = img;
  const out = new Float32Array(height * width * C);
  const sy = h / height;
  const sx = w / width;
  for (let i = 0; i < height; i++) {
    const y = Math.min(Math.max(top + (i + 0.5) * sy - 0.5, top), top + h - 1);
    const y0 = Math.floor(y);
    const y1 = Math.min(y0 + 1, H - 1, top + h - 1);
    const fy = y - y0;
    for (let j = 0; j < width; j++) {
      const x = Math.min(Math.max(left + (j + 0.5) * sx - 0.5, left), left + w - 1);
      const x0 = Math.floor(x);
      const x1 = Math.min(x0 + 1, W - 1, left + w - 1);
      const fx = x - x0;
      for (let c = 0; c < C; c++) {
        out[(i * width + j) * C + c] =
          (1 - fy) * ((1 - fx) * data[(y0 * W + x0) * C + c] + fx * data[(y0 * W + x1) * C + c]) +
          fy * ((1 - fx) * data[(y1 * W + x0) * C + c] + fx * data[(y1 * W + x1) * C + c]);
      }
    }
  }
  return { data: out, height, width, channels: C };
}

/**
 * torchvision's RandomResizedCrop: up to 10 tries at an area fraction from `scale` and a log-uniform aspect
 * ratio from `ratio`, falling back to the central crop; then a bilinear resize to [height, width].
 */
export function randomResizedCrop(
  height: number,
  width: number = height,
  scale: [number, number] = [0.08, 1],
  ratio: [number, number] = [3 / 4, 4 / 3],
): Transform {
  if (!(Number.isInteger(height) && height > 0 && Number.isInteger(width) && width > 0))
    invalidArg('randomResizedCrop', '[height, width]', [height, width], 'positive integers');
  if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1))
    invalidArg('randomResizedCrop', 'scale', scale, '[min, max] with 0 < min ≤ max ≤ 1');
  if (!(ratio[0] > 0 && ratio[0] <= ratio[1]))
    invalidArg('randomResizedCrop', 'ratio', ratio, '[min, max] with 0 < min ≤ max');
  return (img, rng) => {
    const area = img.height * img.width;
    const logR = [Math.log(ratio[0]), Math.log(ratio[1])];
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = area * rng.uniform(scale[0], scale[1]);
      const aspect = Math.exp(rng.uniform(logR[0], logR[1]));
      const w = Math.round(Math.sqrt(target * aspect));
      const h = Math.round(Math.sqrt(target / aspect));
      if (w > 0 && h > 0 && w <= img.width && h <= img.height) {
        const top = rng.int(img.height - h + 1);
        const left = rng.int(img.width - w + 1);
        return cropResize(img, top, left, h, w, height, width);
      }
    }
    const inRatio = img.width / img.height;
    let w = img.width;
    let h = img.height;
    if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
    else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
    return cropResize(img, Math.floor((img.height - h) / 2), Math.floor((img.width - w) / 2), h, w, height, width);
  };
}

/** torchvision's rgb_to_grayscale weights. */
function grey(data: Float32Array, p: number, C: number): number {
  return C === 3 ? 0.2989 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2] : data[p];
}

/** With probability p, replaces a 3-channel image by its grey value in all three channels (torchvision RandomGrayscale). */
export function randomGrayscale(p = 0.1): Transform {
  checkP('randomGrayscale', p);
  return (img, rng) => {
    if (!(rng.next() < p) || img.channels !== 3) return img;
    const d = new Float32Array(img.data.length);
    for (let q = 0; q < d.length; q += 3) d[q] = d[q + 1] = d[q + 2] = grey(img.data, q, 3);
    return { ...img, data: d };
  };
}

/**
 * Gaussian blur with an odd kernel size and standard deviation sigma, separable, reflect padding (torchvision
 * gaussian_blur: kernel exp(−x²/2σ²) over x = −(k−1)/2 … (k−1)/2, normalised to sum 1).
 */
export function gaussianBlur(img: Image, kernelSize: number, sigma: number): Image {
  if (!(Number.isInteger(kernelSize) && kernelSize > 0 && kernelSize % 2 === 1))
    invalidArg('gaussianBlur', 'kernelSize', kernelSize, 'an odd positive integer');
  if (!(sigma > 0)) invalidArg('gaussianBlur', 'sigma', sigma, 'a positive number');
  const half = (kernelSize - 1) / 2;
  const k = Array.from({ length: kernelSize }, (_, i) => Math.exp(-0.5 * ((i - half) / sigma) ** 2));
  const sum = k.reduce((a, b) => a + b, 0);
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const { height: H, width: W, channels: C, data } = img;
  const tmp = new Float32Array(data.length);
  const out = new Float32Array(data.length);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let t = 0; t < kernelSize; t++) acc += k[t] * data[(i * W + boundary(j + t - half, W, 'reflect')) * C + c];
        tmp[(i * W + j) * C + c] = acc;
      }
    }
  }
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let t = 0; t < kernelSize; t++) acc += k[t] * tmp[(boundary(i + t - half, H, 'reflect') * W + j) * C + c];
        out[(i * W + j) * C + c] = acc;
      }
    }
  }
  return { ...img, data: out };
}

/** With probability p, a Gaussian blur with sigma uniform in [sigmaMin, sigmaMax] (torchvision GaussianBlur inside RandomApply). */
export function randomGaussianBlur(kernelSize = 3, sigmaMin = 0.1, sigmaMax = 2, p = 1): Transform {
  checkP('randomGaussianBlur', p);
  if (!(sigmaMin > 0 && sigmaMin <= sigmaMax))
    invalidArg('randomGaussianBlur', '[sigmaMin, sigmaMax]', [sigmaMin, sigmaMax], 'positive numbers with min ≤ max');
  return (img, rng) => (rng.next() < p ? gaussianBlur(img, kernelSize, rng.uniform(sigmaMin, sigmaMax)) : img);
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

export interface ColorJitterOptions {
  brightness?: number;
  contrast?: number;
  saturation?: number;
  /** At most 0.5. */
  hue?: number;
  /** Probability of jittering at all (default 1; the paper's MoCo augmentation uses 0.8). */
  p?: number;
}

/**
 * torchvision's ColorJitter on [0, 1] images: brightness, contrast, saturation factors drawn from
 * [max(0, 1−v), 1+v], hue shift from [−h, h], applied in a random order, clamped to [0, 1]. Saturation and hue
 * act on 3-channel images only.
 */
export function colorJitter(options: ColorJitterOptions): Transform {
  const { brightness = 0, contrast = 0, saturation = 0, hue = 0, p = 1 } = options;
  for (const [n, v] of Object.entries({ brightness, contrast, saturation }))
    if (!(v >= 0)) invalidArg('colorJitter', n, v, 'a non-negative number');
  if (!(hue >= 0 && hue <= 0.5)) invalidArg('colorJitter', 'hue', hue, 'a number in [0, 0.5]');
  checkP('colorJitter', p);
  return (img, rng) => {
    if (!(rng.next() < p)) return img;
    const order = [0, 1, 2, 3];
    for (let i = 3; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const fb = brightness > 0 ? rng.uniform(Math.max(0, 1 - brightness), 1 + brightness) : 1;
    const fc = contrast > 0 ? rng.uniform(Math.max(0, 1 - contrast), 1 + contrast) : 1;
    const fs = saturation > 0 ? rng.uniform(Math.max(0, 1 - saturation), 1 + saturation) : 1;
    const fh = hue > 0 ? rng.uniform(-hue, hue) : 0;
    const { channels: C } = img;
    const d = Float32Array.from(img.data);
    const px = img.height * img.width;
    for (const op of order) {
      if (op === 0 && fb !== 1) for (let i = 0; i < d.length; i++) d[i] = clamp01(d[i] * fb);
      if (op === 1 && fc !== 1) {
        let mean = 0;
        for (let q = 0; q < px; q++) mean += grey(d, q * C, C);
        mean /= px;
        for (let i = 0; i < d.length; i++) d[i] = clamp01(fc * d[i] + (1 - fc) * mean);
      }
      if (op === 2 && fs !== 1 && C === 3) {
        for (let q = 0; q < px; q++) {
          const g = grey(d, 3 * q, 3);
          for (let c = 0; c < 3; c++) d[3 * q + c] = clamp01(fs * d[3 * q + c] + (1 - fs) * g);
        }
      }
      if (op === 3 && fh !== 0 && C === 3) {
        for (let q = 0; q < px; q++) shiftHue(d, 3 * q, fh);
      }
    }
    return { ...img, data: d };
  };
}

function shiftHue(d: Float32Array, o: number, shift: number): void {
  const r = d[o];
  const g = d[o + 1];
  const b = d[o + 2];
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const delta = max - min;
  let h = 0;
  if (delta > 0) {
    if (max === r) h = ((g - b) / delta) % 6;
    else if (max === g) h = (b - r) / delta + 2;
    else h = (r - g) / delta + 4;
    h /= 6;
  }
  h = (((h + shift) % 1) + 1) % 1;
  const s = max === 0 ? 0 : delta / max;
  const v = max;
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const pp = v * (1 - s);
  const qq = v * (1 - f * s);
  const tt = v * (1 - (1 - f) * s);
  const rgb = [
    [v, tt, pp],
    [qq, v, pp],
    [pp, v, tt],
    [pp, qq, v],
    [tt, pp, v],
    [v, pp, qq],
  ][i % 6];
  d[o] = rgb[0];
  d[o + 1] = rgb[1];
  d[o + 2] = rgb[2];
}

/** (x − mean[c]) / std[c] per channel. One value applies to every channel. */
export function normalize(mean: number[] | number, std: number[] | number): Transform {
  return (img) => {
    const C = img.channels;
    const m = typeof mean === 'number' ? new Array<number>(C).fill(mean) : mean;
    const s = typeof std === 'number' ? new Array<number>(C).fill(std) : std;
    if (m.length !== C) invalidArg('normalize', 'mean', mean, `one value or ${C} values (one per channel)`);
    if (s.length !== C || s.some((v) => !(v > 0)))
      invalidArg('normalize', 'std', std, `one positive value or ${C} positive values`);
    const d = new Float32Array(img.data.length);
    for (let i = 0; i < d.length; i++) d[i] = (img.data[i] - m[i % C]) / s[i % C];
    return { ...img, data: d };
  };
}

/** Applies transforms in order, each drawing from the same generator. */
export function compose(transforms: Transform[]): Transform {
  return (img, rng) => transforms.reduce((acc, t) => t(acc, rng), img);
}

/**
 * The paper's "MoCo aug" training transform for a size×size input, as the official training code builds it: RandomResizedCrop(size,
 * scale (0.5, 1)), ColorJitter(0.4, 0.4, 0.4, 0.1) with p = 0.8, RandomGrayscale p = 0.2, GaussianBlur(3,
 * σ ∈ [0.1, 2]) with p = 0.2; then, where given, RandomAffine translation and normalisation.
 * `pathology: true` gives the NCT-CRC/PCam variant (jitter p = 0.5, blur σ ∈ [0.1, 1]).
 */
export function mocoAugmentation(
  size: number,
  options: { translate?: number; mean?: number[]; std?: number[]; pathology?: boolean } = {},
): Transform {
  const t: Transform[] = [
    randomResizedCrop(size, size, [0.5, 1]),
    colorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: options.pathology ? 0.5 : 0.8 }),
    randomGrayscale(0.2),
    randomGaussianBlur(3, 0.1, options.pathology ? 1 : 2, 0.2),
  ];
  if (options.translate) t.push(randomTranslation(options.translate));
  if (options.mean && options.std) t.push(normalize(options.mean, options.std));
  return compose(t);
}

/** Normalisation constants used by the paper's recipes. */
export const NORMALIZATION = {
  cifar: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  pcam: { mean: [0.7007, 0.5383, 0.6916], std: [0.1386, 0.1843, 0.1259] },
} as const;
