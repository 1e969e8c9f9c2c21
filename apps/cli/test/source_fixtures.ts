/**
 * Tiny data sources of every kind `--data` reads, written to a temp folder with the writers the datasets package
 * already has (PNG/JPEG/TIFF encoders, .npz, IDX, h5wasm) or the published byte layout (CIFAR binary). Each image
 * of class c is a seeded pattern whose brightness grows with c, so a few steps of training can learn something.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, encodeIdx, encodeJpeg, encodeNpz, encodePng, encodeTiff, getH5wasm } from '@gmr-conv/datasets';

export function tempRoot(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `gmr-${prefix}-`));
}

/** n images [H, W, C] uint8, HWC, of `classes` classes (labels i mod classes); class c is brighter for larger c. */
export function pixels(
  n: number,
  h: number,
  w: number,
  c: number,
  classes: number,
  seed = 1,
): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * h * w * c);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % classes;
    labels[i] = label;
    const base = 30 + (180 * label) / Math.max(1, classes - 1);
    for (let p = 0; p < h * w; p++)
      for (let ch = 0; ch < c; ch++)
        images[(i * h * w + p) * c + ch] = Math.max(
          0,
          Math.min(255, Math.round(base + 40 * (rng.next() - 0.5) + 10 * ch)),
        );
  }
  return { images, labels };
}

function rgba(px: Uint8Array, offset: number, h: number, w: number, c: number): Uint8Array {
  const out = new Uint8Array(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) out[4 * p + k] = px[offset + p * c + (c === 1 ? 0 : k)];
    out[4 * p + 3] = 255;
  }
  return out;
}

export interface FolderFixture {
  classes?: string[];
  perClass: number;
  size: [number, number];
  channels: 1 | 3;
  /** file format per image index (default png) */
  format?: (i: number) => 'png' | 'jpeg' | 'tiff';
  /** the size of image i (default `size`), for mixed-size folders */
  sizeOf?: (i: number) => [number, number];
  seed?: number;
}

/** root/<class>/<i>.<ext>; returns the root. */
export function writeFolder(root: string, f: FolderFixture): string {
  const classes = f.classes ?? ['circle', 'square', 'star'];
  let i = 0;
  for (let c = 0; c < classes.length; c++) {
    mkdirSync(join(root, classes[c]), { recursive: true });
    for (let k = 0; k < f.perClass; k++, i++) {
      const [h, w] = f.sizeOf?.(i) ?? f.size;
      const { images } = pixels(1, h, w, f.channels, 1, (f.seed ?? 1) * 1000 + i);
      // brightness by class (pixels() draws one class here)
      for (let p = 0; p < images.length; p++)
        images[p] = Math.min(255, images[p] + Math.round((150 * c) / Math.max(1, classes.length - 1)));
      const px = rgba(images, 0, h, w, f.channels);
      const format = f.format?.(i) ?? 'png';
      const bytes =
        format === 'png' ? encodePng(px, w, h) : format === 'jpeg' ? encodeJpeg(px, w, h, 95) : encodeTiff(px, w, h);
      writeFileSync(
        join(
          root,
          classes[c],
          `${String(k).padStart(3, '0')}.${format === 'jpeg' ? 'jpg' : format === 'tiff' ? 'tif' : 'png'}`,
        ),
        bytes,
      );
    }
  }
  return root;
}

/**
 * CIFAR binary records: the label byte(s) (CIFAR-100: coarse then fine), then 1024 red, 1024 green, 1024 blue bytes.
 */
function cifarRecords(count: number, seed: number, classes: 10 | 100): Uint8Array {
  const { images, labels } = pixels(count, 32, 32, 3, classes, seed);
  const head = classes === 10 ? 1 : 2;
  const size = head + 3072;
  const out = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) {
    if (classes === 100) out[i * size] = labels[i] % 20;
    out[i * size + head - 1] = labels[i];
    for (let p = 0; p < 1024; p++)
      for (let ch = 0; ch < 3; ch++) out[i * size + head + ch * 1024 + p] = images[(i * 1024 + p) * 3 + ch];
  }
  return out;
}

/** A CIFAR-10 binary folder: data_batch_1.bin (n records), test_batch.bin (m records), batches.meta.txt. */
export function writeCifar10(dir: string, n: number, m: number): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'data_batch_1.bin'), cifarRecords(n, 3, 10));
  writeFileSync(join(dir, 'test_batch.bin'), cifarRecords(m, 4, 10));
  writeFileSync(
    join(dir, 'batches.meta.txt'),
    'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n',
  );
  return dir;
}

/** A CIFAR-100 binary folder (train.bin, test.bin) with fine_label_names.txt. */
export function writeCifar100(dir: string, n: number, m: number): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train.bin'), cifarRecords(n, 5, 100));
  writeFileSync(join(dir, 'test.bin'), cifarRecords(m, 6, 100));
  writeFileSync(
    join(dir, 'fine_label_names.txt'),
    Array.from({ length: 100 }, (_, i) => `class${i}`).join('\n') + '\n',
  );
  return dir;
}

/** A MedMNIST-style .npz with train/val/test splits of [N, H, W] grey images and [N, 1] labels. */
export function writeNpz(
  file: string,
  counts: { train: number; val: number; test: number },
  size = 8,
  classes = 3,
): string {
  const arrays: Record<string, { shape: number[]; data: Uint8Array }> = {};
  for (const [split, n] of Object.entries(counts)) {
    const { images, labels } = pixels(n, size, size, 1, classes, split.length);
    arrays[`${split}_images`] = { shape: [n, size, size], data: images };
    arrays[`${split}_labels`] = { shape: [n, 1], data: labels };
  }
  writeFileSync(file, encodeNpz(arrays));
  return file;
}

/** PatchCamelyon-style x/y files for the given splits (camelyonpatch_level_2_split_{split}_{x,y}.h5); returns the train pair. */
export async function writePcam(dir: string, counts: Record<string, number>, size = 8): Promise<[string, string]> {
  mkdirSync(dir, { recursive: true });
  const h5 = await getH5wasm();
  for (const [split, n] of Object.entries(counts)) {
    const { images, labels } = pixels(n, size, size, 3, 2, split.length + 7);
    const fx = new h5.File(join(dir, `camelyonpatch_level_2_split_${split}_x.h5`), 'w');
    fx.create_dataset({ name: 'x', data: images, shape: [n, size, size, 3], dtype: '<B' });
    fx.close();
    const fy = new h5.File(join(dir, `camelyonpatch_level_2_split_${split}_y.h5`), 'w');
    fy.create_dataset({ name: 'y', data: labels, shape: [n, 1, 1, 1], dtype: '<B' });
    fy.close();
  }
  return [join(dir, 'camelyonpatch_level_2_split_train_x.h5'), join(dir, 'camelyonpatch_level_2_split_train_y.h5')];
}

/** An IDX folder: train and t10k pairs of [N, H, W] images. */
export function writeIdx(dir: string, n: number, m: number, size = 8, classes = 4): string {
  mkdirSync(dir, { recursive: true });
  for (const [prefix, count] of [
    ['train', n],
    ['t10k', m],
  ] as const) {
    const { images, labels } = pixels(count, size, size, 1, classes, count);
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), encodeIdx([count, size, size], images));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), encodeIdx([count], labels));
  }
  return dir;
}
