/**
 * `gmr predict --checkpoint CK IMAGE…|FOLDER…`: the class and the top-k probabilities of each image, and with
 * --rotations how the prediction holds when the image is turned through the paper's 37 angles (bilinear, zero fill,
 * as `gmr eval --rotations`): the fraction of angles that give the upright class, and the angle where the upright
 * class is least probable.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readImageFiles, rotateBatch, type ImageSet } from '@gmr-conv/datasets';
import { tf } from './backend.js';
import { CliError } from './errors.js';
import { progressBar } from './progress.js';

const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.tif', '.tiff'];

/** The image files named on the command line: files as given, folders searched (recursively) for images, sorted. */
export function expandImagePaths(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string, found: string[]) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p, found);
      else if (IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e))) found.push(p);
    }
  };
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new CliError(`image not found: ${p}`);
    }
    if (!isDir) {
      out.push(p);
      continue;
    }
    const found: string[] = [];
    walk(p, found);
    if (found.length === 0)
      throw new CliError(`${p}: no image files (${IMAGE_EXTENSIONS.join(' ')}) in the folder or below it`);
    out.push(...found);
  }
  return out;
}

export interface RotationHold {
  /** fraction of the angles whose predicted class is the upright one */
  agreement: number;
  /** the angle where the upright class is least probable, its probability there, and what is predicted there */
  worstAngle: number;
  worstProbability: number;
  worstClass: string;
}

export interface Prediction {
  file: string;
  label: number;
  className: string;
  probability: number;
  top: { className: string; probability: number }[];
  rotations?: RotationHold;
}

export interface PredictOptions {
  classNames: string[];
  topK: number;
  /** angles of --rotations (none: upright only) */
  angles?: number[];
  batchSize?: number;
  progress: boolean;
}

/** The model's input size [height, width, channels], from its input layer. */
export function inputShapeOf(model: tf.LayersModel): [number, number, number] {
  const s = model.inputs[0].shape;
  const [h, w, c] = [s[1], s[2], s[3]];
  if (!h || !w || !c)
    throw new CliError(
      `the model's input has no fixed size (${JSON.stringify(s)}): cannot tell what size to resize images to`,
    );
  return [h, w, c];
}

/**
 * Softmax probabilities [n × classes] of images [start, start + n) of `set`, each batch passed through `alter` (a
 * rotation). Pixels go in as [0, 1]: a run's normalisation is the model's own first layer, so it follows the
 * rotation and the zero-filled corners are black as in training.
 */
async function probabilities(
  model: tf.LayersModel,
  set: ImageSet,
  start: number,
  n: number,
  alter: (x: tf.Tensor4D) => tf.Tensor4D,
): Promise<Float32Array> {
  const size = set.height * set.width * set.channels;
  const p = tf.tidy(() => {
    const x = tf.tensor4d(
      Float32Array.from(set.images.subarray(start * size, (start + n) * size), (v) => v / 255),
      [n, set.height, set.width, set.channels],
    );
    return tf.softmax(model.predict(alter(x)) as tf.Tensor);
  });
  try {
    return (await p.data()) as Float32Array;
  } finally {
    p.dispose();
  }
}

const argMax = (v: Float32Array, from: number, k: number) => {
  let best = 0;
  for (let j = 1; j < k; j++) if (v[from + j] > v[from + best]) best = j;
  return best;
};

/** Predicts every image file; reading, prediction and the rotations each show a progress bar on a terminal. */
export async function predictFiles(model: tf.LayersModel, files: string[], o: PredictOptions): Promise<Prediction[]> {
  const [height, width, channels] = inputShapeOf(model);
  if (channels !== 1 && channels !== 3)
    throw new CliError(
      `the model takes ${channels}-channel images; image files are read as 1 (grey) or 3 (RGB) channels`,
    );
  const reading = progressBar('reading', files.length, { unit: 'img', enabled: o.progress });
  let set: ImageSet;
  try {
    set = await readImageFiles(files, { channels, size: [height, width], onProgress: (d) => reading.update(d) });
  } finally {
    reading.stop();
  }
  const k = o.classNames.length;
  const topK = Math.min(o.topK, k);
  const batch = o.batchSize ?? 128;
  const upright = new Float32Array(set.count * k);
  const bar = progressBar('predicting', set.count, { unit: 'img', enabled: o.progress });
  for (let s = 0; s < set.count; s += batch) {
    const n = Math.min(batch, set.count - s);
    const p = await probabilities(model, set, s, n, (x) => x);
    if (p.length !== n * k)
      throw new CliError(`the model gives ${p.length / n} outputs per image, the checkpoint names ${k} classes`);
    upright.set(p, s * k);
    bar.update(s + n);
  }
  bar.stop();
  const out: Prediction[] = files.map((file, i) => {
    const order = Array.from({ length: k }, (_, j) => j).sort((a, b) => upright[i * k + b] - upright[i * k + a]);
    const label = order[0];
    return {
      file,
      label,
      className: o.classNames[label],
      probability: upright[i * k + label],
      top: order.slice(0, topK).map((j) => ({ className: o.classNames[j], probability: upright[i * k + j] })),
    };
  });
  if (!o.angles?.length) return out;
  // per image: how many angles agree with the upright class, and where its probability is lowest
  const agree = new Int32Array(set.count);
  const worst = out.map(() => ({ angle: 0, probability: Infinity, label: 0 }));
  const turning = progressBar('rotations', o.angles.length * set.count, { unit: 'img', enabled: o.progress });
  let done = 0;
  for (const angle of o.angles) {
    for (let s = 0; s < set.count; s += batch) {
      const n = Math.min(batch, set.count - s);
      const p = await probabilities(model, set, s, n, (x) => rotateBatch(x, angle));
      for (let m = 0; m < n; m++) {
        const i = s + m;
        const predicted = argMax(p, m * k, k);
        if (predicted === out[i].label) agree[i]++;
        const q = p[m * k + out[i].label];
        if (q < worst[i].probability) worst[i] = { angle, probability: q, label: predicted };
      }
      turning.update((done += n));
    }
  }
  turning.stop();
  out.forEach((r, i) => {
    r.rotations = {
      agreement: agree[i] / o.angles!.length,
      worstAngle: worst[i].angle,
      worstProbability: worst[i].probability,
      worstClass: o.classNames[worst[i].label],
    };
  });
  return out;
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** The table `gmr predict` prints: one row per image. */
export function predictionRows(preds: Prediction[], angles?: number): string[][] {
  const rotations = preds.some((p) => p.rotations);
  const head = ['image', 'class', 'probability', `top ${preds[0]?.top.length ?? 0}`];
  if (rotations) head.push(`same class over ${angles} angles`, 'worst angle', 'p(class) there', 'predicted there');
  return [
    head,
    ...preds.map((p) => {
      const row = [
        p.file,
        p.className,
        pct(p.probability),
        p.top.map((t) => `${t.className} ${pct(t.probability)}`).join(', '),
      ];
      if (p.rotations)
        row.push(
          pct(p.rotations.agreement),
          `${p.rotations.worstAngle}°`,
          pct(p.rotations.worstProbability),
          p.rotations.worstClass,
        );
      return row;
    }),
  ];
}

export interface PredictCommandOptions {
  checkpoint: string;
  topK: number;
  rotations: boolean;
  angles?: string;
  json: boolean;
  progress: boolean;
  backend: string;
  allowNonFinite: boolean;
}

/** A checkpoint's model, its header and its configuration (main.ts's loader, passed in to keep this module leaf). */
export type CheckpointLoader = (
  path: string,
  o: { allowNonFinite: boolean },
) => Promise<{
  model: tf.LayersModel;
  header: { model: { numClasses: number }; config: Record<string, unknown>; [k: string]: unknown };
}>;

/** `gmr predict`: prints the table (or JSON) of predictions of every image named. */
export async function runPredict(
  paths: string[],
  o: PredictCommandOptions,
  load: CheckpointLoader,
  angles: number[] | undefined,
): Promise<void> {
  const { classNamesOf } = await import('./evaluate.js');
  if (paths.length === 0) throw new CliError('gmr predict needs one or more image files or folders after the options');
  if (o.angles !== undefined && !o.rotations)
    throw new CliError(`--angles ${o.angles} sets the angles of --rotations; add --rotations`);
  const files = expandImagePaths(paths);
  const { model, header } = await load(o.checkpoint, { allowNonFinite: o.allowNonFinite });
  try {
    const classNames = classNamesOf(header);
    const preds = await predictFiles(model, files, {
      classNames,
      topK: o.topK,
      angles: o.rotations ? angles : undefined,
      progress: o.progress,
    });
    if (o.json)
      console.log(
        JSON.stringify({
          checkpoint: o.checkpoint,
          classes: classNames,
          angles: o.rotations ? angles : undefined,
          predictions: preds,
        }),
      );
    else {
      const { formatTable } = await import('./report.js');
      console.log(formatTable(predictionRows(preds, angles?.length)));
    }
  } finally {
    model.dispose();
  }
}
