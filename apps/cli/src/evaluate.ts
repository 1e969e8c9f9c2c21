/** The paper's test protocol on a trained model: 37 angles (bilinear, zero fill) and flips. */
import {
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
  ROTATION_ANGLES,
  evaluateFlips,
  evaluateRotations,
  type ImageSet,
} from '@gmr-conv/datasets';
import { BatchNormFolding } from '@gmr-conv/models';
import type { tf } from './backend.js';
import { loadSplit, subset } from './data.js';
import { loadDataSource, parseDataSource } from './data_source.js';
import { CliError } from './errors.js';
import { progressBar } from './progress.js';
export { parseAngles } from './angles.js';

/**
 * The class names a checkpoint predicts, in label order: the names it stores (header or config "classNames"),
 * the digits for the embedded digit sets, else the labels as text.
 */
export function classNamesOf(header: {
  classNames?: unknown;
  config?: Record<string, unknown>;
  model: { numClasses: number };
}): string[] {
  const k = header.model.numClasses;
  const stored = (header.classNames ?? header.config?.classNames) as unknown;
  if (Array.isArray(stored) && stored.length === k && stored.every((c) => typeof c === 'string'))
    return stored as string[];
  const c = header.config ?? {};
  const classes = c.classes as number[] | undefined;
  const digits =
    typeof c.dataset === 'string' &&
    c.dataset.split('+').every((p) => p === 'mnist' || p === 'mnist-rot') &&
    c.data === undefined;
  const named = digits
    ? MNIST_CLASSES
    : c.dataset === 'fashion-mnist' && c.data === undefined
      ? FASHION_MNIST_CLASSES
      : undefined;
  if (named) return classes ? classes.map((i) => named[i] ?? String(i)) : [...named];
  return Array.from({ length: k }, (_, i) => String(i));
}

/**
 * The test images of an evaluation: those of --data SOURCE when given, else the data the checkpoint was trained
 * on (its --data, or its --dataset / --data-dir); image folders are resized to the model's input size, and the test
 * set's classes must be the checkpoint's (else every accuracy would compare unrelated labels).
 */
export async function loadTestSet(
  o: { data?: string; dataDir?: string; testLimit?: number; progress?: boolean },
  config: Record<string, unknown>,
  input: [number, number, number],
  classNames: string[],
): Promise<{ set: ImageSet; dataset: string }> {
  const text = o.data ?? (typeof config.data === 'string' ? config.data : undefined);
  if (text === undefined) {
    const dataset = (config.dataset as string | undefined) ?? 'mnist';
    const set = await loadSplit(
      {
        dataset,
        dataDir: o.dataDir ?? (config.dataDir as string | undefined),
        classes: config.classes as number[] | undefined,
      },
      'test',
    );
    return { set: subset(set, o.testLimit), dataset };
  }
  const source = parseDataSource(text);
  const bar = progressBar('reading', 0, { unit: 'img', enabled: o.progress ?? false });
  let loaded;
  try {
    loaded = await loadDataSource(source, {
      splits: ['test'],
      size: source.kind === 'folder' ? [input[0], input[1]] : undefined,
      classes: o.data === undefined ? (config.classes as number[] | undefined) : undefined,
      dataDir: o.dataDir,
      onProgress: (done, total) => bar.update(done, undefined, total),
    });
  } finally {
    bar.stop();
  }
  let set = loaded.test!;
  if (JSON.stringify(loaded.classNames) !== JSON.stringify(classNames))
    throw new CliError(
      `--data ${text}: its classes [${loaded.classNames.join(', ')}] are not the checkpoint's [${classNames.join(', ')}] (same names in the same order)`,
    );
  // a folder of grey images is read as one channel; a model trained on colour takes it as three equal channels
  if (set.channels !== input[2]) {
    if (set.channels !== 1 || input[2] !== 3)
      throw new CliError(`--data ${text}: ${set.channels}-channel images, the model takes ${input[2]} channels`);
    const rgb = new Uint8Array(set.images.length * 3);
    for (let i = 0; i < set.images.length; i++) rgb.fill(set.images[i], 3 * i, 3 * i + 3);
    set = { ...set, images: rgb, channels: 3 };
  }
  if (set.height !== input[0] || set.width !== input[1])
    throw new CliError(`--data ${text}: ${set.height}×${set.width} images, the model takes ${input[0]}×${input[1]}`);
  return { set: subset(set, o.testLimit), dataset: text };
}

export interface ModelEval {
  label: string;
  model: string;
  checkpoint?: string;
  testImages: number;
  upright: number;
  /** images of the upright accuracy when it was measured on another (larger) set than the angles */
  uprightImages?: number;
  rotations?: { angles: number[]; accuracy: number[]; mean: number; std: number };
  flips?: { none: number; vertical: number; horizontal: number; flippedMean: number; mean: number };
  seconds: number;
  /** rows of the report's table that describe the run (a comparison: model, epochs), in order */
  details?: Record<string, string>;
}

export async function evaluateModel(
  model: tf.LayersModel,
  set: ImageSet,
  opts: {
    label: string;
    model: string;
    checkpoint?: string;
    angles?: number[];
    rotations: boolean;
    flips: boolean;
    batchSize?: number;
    uprightSet?: ImageSet;
    /** a progress bar over every image pass (angles, flips) on a terminal */
    progress?: boolean;
  },
): Promise<ModelEval> {
  const t0 = performance.now();
  const angles = opts.angles ?? [...ROTATION_ANGLES];
  // every pass over the images, counted ahead for the progress bar: the angles, the three flips, the upright set
  const uprightPass = !opts.uprightSet && !opts.flips && !(opts.rotations && angles.includes(0));
  const total =
    ((opts.rotations ? angles.length : 0) + (opts.flips ? 3 : 0) + (uprightPass ? 1 : 0)) * set.count +
    (opts.uprightSet?.count ?? 0);
  const bar = progressBar(`evaluating ${opts.label}`, total, { unit: 'img', enabled: opts.progress ?? false });
  let seen = 0;
  // Batch norm (and the ReLU after it) folded into the convolutions: the model's inference outputs to float rounding,
  // a pass less per layer (models' BatchNormFolding; the folded weights are built once for the whole evaluation).
  const folding = new BatchNormFolding(model);
  const predict = (x: tf.Tensor4D) => {
    bar.update((seen += x.shape[0]));
    return folding.predict(x);
  };
  const batchSize = opts.batchSize ?? 500;
  const out: ModelEval = {
    label: opts.label,
    model: opts.model,
    checkpoint: opts.checkpoint,
    testImages: set.count,
    upright: NaN,
    seconds: 0,
  };
  try {
    if (opts.rotations) {
      const r = await evaluateRotations(set, predict, { angles, batchSize });
      out.rotations = r;
      const i0 = r.angles.indexOf(0);
      if (i0 >= 0) out.upright = r.accuracy[i0];
    }
    if (opts.flips) {
      const f = await evaluateFlips(set, predict, { batchSize });
      const at = (k: string) => f.accuracy[f.flips.indexOf(k as (typeof f.flips)[number])];
      out.flips = {
        none: at('none'),
        vertical: at('vertical'),
        horizontal: at('horizontal'),
        flippedMean: f.flippedMean,
        mean: f.mean,
      };
      out.upright = at('none');
    }
    if (opts.uprightSet) {
      out.upright = (await evaluateRotations(opts.uprightSet, predict, { angles: [0], batchSize })).accuracy[0]!;
      out.uprightImages = opts.uprightSet.count;
    }
    if (Number.isNaN(out.upright))
      out.upright = (await evaluateRotations(set, predict, { angles: [0], batchSize })).accuracy[0];
  } finally {
    bar.stop();
    folding.dispose();
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}
