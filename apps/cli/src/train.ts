/**
 * The training loop: seeded order and augmentation per (seed, epoch, image), own optimiser, checkpoint after
 * every epoch, JSONL log, progress bar. A run resumed from the checkpoint of epoch e continues exactly as the
 * uninterrupted run would (same weights, optimiser state, BN statistics, step counter and data order).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Rng, deriveSeed, permutation, type ImageSet } from '@gmr-conv/datasets';
import { softmaxCrossEntropy } from '@gmr-conv/core';
import { BatchNormFolding, TrainingForward, recalibrateBatchNorm } from '@gmr-conv/models';
import { tf } from './backend.js';
import { loadCheckpoint, removeStaleTemps, saveCheckpoint, type Checkpoint, type LoadOptions } from './checkpoint.js';
import { checkBatchMemory, checkImageSet, checkSameShape } from './data_checks.js';
import { augmentation, datasetClassCount, pick, pixelScale, subset, type Augmentation } from './data.js';
import { channelStats, loadDataSource, parseDataSource } from './data_source.js';
import { CliError, fileError, makeFolder } from './errors.js';
import { classificationMetrics, type Metrics } from './metrics.js';
import {
  buildModel,
  describeSpec,
  downsampling,
  headerOfSpec,
  readWeights,
  sameSpec,
  specFromHeader,
  writeWeights,
  type ModelKind,
  type ModelSpec,
  type Normalization,
  type Pooling,
} from './model.js';
import { Optimizer, learningRate, type OptimConfig } from './optim.js';
import { progressBar } from './progress.js';
import { appendLog, readLog, reconcileLog } from './run_log.js';
import type { ResNetOptions } from './train_options.js';

/** The optimizer settings a run chooses (the rest of OptimConfig is derived from the data and the epochs). */
export interface TrainConfig
  extends
    ResNetOptions,
    Pick<OptimConfig, 'optimizer' | 'lr' | 'minLr' | 'momentum' | 'nesterov' | 'weightDecay' | 'clipNorm'> {
  model: ModelKind;
  widths: [number, number, number];
  /** 'average' (default) or 'rings' */
  pooling?: Pooling;
  /** gmr-cnn: harmonic-magnitude channels per conv (default none) */
  harmonicChannels?: [number, number, number];
  /** gmr-steerable: output fields [order 0, 1, 2] of each conv (default: the models package's) */
  fields?: [number, number, number][];
  /** gmr-steerable: σ in pixels of the fixed input blur (default 0) */
  inputBlur?: number;
  /** the embedded dataset (--dataset); runs started with --data keep the source text here too */
  dataset: string;
  /** the --data source, paths made absolute (data_source.ts); absent in runs of earlier versions */
  data?: string;
  /** folder sources: resize every image to [height, width] */
  size?: [number, number];
  /** fraction of the training images held out for validation when the source has none (data_source.ts's default when absent) */
  valFraction?: number;
  /** put a per-channel normalisation of the input, from the training images, in front of the model */
  normalize?: boolean;
  dataDir?: string;
  /** keep only these classes, relabelled 0..k-1 (binary when two) */
  classes?: number[];
  limit?: number;
  testLimit: number;
  epochs: number;
  batchSize: number;
  warmupEpochs: number;
  labelSmoothing: number;
  augment: Augmentation;
  /** training images (first ones, no augmentation) for the batch-norm recalibration after every epoch; 0 = off */
  bnRecalibration?: number;
  seed: number;
  /** the run folder */
  out: string;
  /** stop (exit) after this many epochs of this invocation; for tests and time-boxed runs */
  stopAfter?: number;
}

export interface EpochRecord extends Metrics {
  epoch: number;
  /** which images the metrics are measured on: the validation split, or the test split when there is none */
  evaluatedOn?: 'validation' | 'test';
  step: number;
  loss: number;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface TrainResult {
  model: tf.LayersModel;
  spec: ModelSpec;
  history: EpochRecord[];
  checkpoint: string;
  seconds: number;
  finished: boolean;
}

export interface TrainHooks {
  /** print progress (a bar on stderr) */
  progress: boolean;
  /** print per-epoch lines */
  log: (line: string) => void;
  /** called as image files are read (done of total) */
  onReadProgress?: (done: number, total: number) => void;
}

/** The folder a resumed run writes to: the one holding its checkpoint (a moved or copied run resumes in place). */
export function resumeFolder(checkpoint: string): string {
  return dirname(resolve(checkpoint));
}

/** Images used to recalibrate batch norm after every epoch unless the run says otherwise. */
export const DEFAULT_BN_RECALIBRATION = 2000;

/**
 * Replaces the BN moving statistics by those of the first `count` training images in inference mode
 * (models' recalibrateBatchNorm): the moving averages lag behind the weights, and GMR features amplify the lag.
 */
function recalibrate(model: tf.LayersModel, set: ImageSet, count: number): void {
  const n = Math.min(count, set.count);
  if (n <= 0) return;
  const size = set.height * set.width * set.channels;
  const scale = pixelScale(set);
  const x = tf.tidy(() =>
    tf.mul(
      tf.tensor4d(Float32Array.from(set.images.subarray(0, n * size)), [n, set.height, set.width, set.channels]),
      scale,
    ),
  );
  try {
    recalibrateBatchNorm(model, x);
  } finally {
    x.dispose();
  }
}

export function checkpointPath(out: string): string {
  return join(out, 'checkpoint.gmrckpt');
}

function batchOf(
  set: ImageSet,
  idx: Int32Array,
  seed: number,
  epoch: number,
  transform: ReturnType<typeof augmentation>,
): { xs: Float32Array; labels: Int32Array } {
  const { height: H, width: W, channels: C } = set;
  const size = H * W * C;
  const xs = new Float32Array(idx.length * size);
  const labels = new Int32Array(idx.length);
  const scratch = new Float32Array(size);
  const scale = pixelScale(set);
  idx.forEach((i, k) => {
    labels[k] = set.labels[i];
    for (let j = 0; j < size; j++) scratch[j] = set.images[i * size + j] * scale;
    if (!transform) {
      xs.set(scratch, k * size);
      return;
    }
    const img = transform(
      { data: scratch.slice(), height: H, width: W, channels: C },
      new Rng(deriveSeed(seed, epoch, i)),
    );
    xs.set(img.data, k * size);
  });
  return { xs, labels };
}

/** Softmax probabilities [count × classes] of `set` (pixels scaled to [0, 1]), in batches. */
export async function predictProbabilities(
  model: tf.LayersModel,
  set: ImageSet,
  batchSize = 500,
): Promise<Float32Array> {
  const size = set.height * set.width * set.channels;
  const scale = pixelScale(set);
  let out: Float32Array | undefined;
  // batch norm folded into the convolutions (models' BatchNormFolding): the same outputs to float rounding, faster
  const folding = new BatchNormFolding(model);
  try {
    for (let s = 0; s < set.count; s += batchSize) {
      const n = Math.min(batchSize, set.count - s);
      const p = tf.tidy(() => {
        const x = tf.tensor4d(
          Float32Array.from(set.images.subarray(s * size, (s + n) * size), (v) => v * scale),
          [n, set.height, set.width, set.channels],
        );
        return tf.softmax(folding.predict(x));
      });
      const k = p.shape[1] as number;
      out ??= new Float32Array(set.count * k);
      out.set((await p.data()) as Float32Array, s * k);
      p.dispose();
    }
  } finally {
    folding.dispose();
  }
  return out ?? new Float32Array(0);
}

/** Number of classes a run on embedded data trains on: the dataset's (20 for mnist+fashion-mnist), or the --classes it selected. */
export function numClassesOf(c: Pick<TrainConfig, 'classes' | 'dataset'>): number {
  return c.classes?.length ?? datasetClassCount(c.dataset);
}

/** What the data decides about the model: classes, input shape, normalisation. */
export interface DataShape {
  numClasses: number;
  inputShape: [number, number, number];
  normalization?: Normalization;
}

export function modelSpecOf(c: TrainConfig, d?: DataShape): ModelSpec {
  const {
    kind,
    widths,
    pooling,
    harmonicChannels,
    fields,
    inputBlur,
    inplanes,
    gmrConvSize,
    skipFirstPool,
    stemKernel,
    stemStride,
    maxPool,
  } = { ...c, kind: c.model };
  return specFromHeader({
    kind,
    widths,
    numClasses: d?.numClasses ?? numClassesOf(c),
    pooling,
    harmonicChannels,
    fields,
    inputBlur,
    inplanes,
    gmrConvSize,
    skipFirstPool,
    stemKernel,
    stemStride,
    maxPool,
    inputShape: d?.inputShape,
    normalization: d?.normalization,
  });
}

/** The images a run trains on and measures every epoch, with the class names. */
export interface RunData {
  train: ImageSet;
  /** the per-epoch set: the validation split, or the test split when there is none */
  evaluation: ImageSet;
  evaluatedOn: 'validation' | 'test';
  classNames: string[];
}

/** n images of a set drawn by a seeded permutation, kept in the set's order (a class folder is sorted by class). */
function sample(set: ImageSet, n: number | undefined, seed: number): ImageSet {
  if (n === undefined || n >= set.count) return set;
  const idx = Array.from(permutation(set.count, new Rng(deriveSeed(seed, 0x11e17))).subarray(0, n)).sort(
    (a, b) => a - b,
  );
  return pick(set, idx);
}

/**
 * Reads a run's data (data_source.ts). --limit and --test-limit take the first images of the embedded data (already
 * in random order; as every earlier run did) and a seeded sample of a file source.
 */
export async function loadRunData(
  c: TrainConfig,
  onProgress?: (done: number, total: number) => void,
): Promise<RunData> {
  const source = parseDataSource(c.data ?? c.dataset);
  const d = await loadDataSource(source, {
    size: c.size,
    valFraction: c.valFraction,
    seed: c.seed,
    classes: c.classes,
    dataDir: c.dataDir,
    onProgress,
  });
  const embedded = source.paths.length === 0;
  const take = (set: ImageSet, n: number | undefined) => (embedded ? subset(set, n) : sample(set, n, c.seed));
  const train = take(d.train, c.limit);
  if (d.validation.count > 0)
    return { train, evaluation: take(d.validation, c.testLimit), evaluatedOn: 'validation', classNames: d.classNames };
  if (d.test) return { train, evaluation: take(d.test, c.testLimit), evaluatedOn: 'test', classNames: d.classNames };
  throw new CliError(
    `--data ${source.text} has no validation or test split and --val-fraction is 0: nothing to measure the epochs on; give --val-fraction a value in (0, 1)`,
  );
}

/** Checks a checkpoint's model against the one asked for. */
export function assertSameModel(ck: Checkpoint, spec: ModelSpec, path: string): void {
  const held = specFromHeader(ck.header.model);
  if (!sameSpec(held, spec))
    throw new CliError(`${path} holds a ${describeSpec(held)}, not the requested ${describeSpec(spec)}`);
}

export async function train(
  config: TrainConfig,
  hooks: TrainHooks,
  resume?: string,
  load: LoadOptions = {},
): Promise<TrainResult> {
  const t0 = performance.now();
  let c = config;
  let ck: Checkpoint | undefined;
  if (resume !== undefined) {
    ck = loadCheckpoint(resume, load);
    // The run continues with the configuration it was started with, in the folder that holds the checkpoint
    // (never the folder stored in it: that may now be another run's); only stopAfter may change.
    c = { ...(ck.header.config as unknown as TrainConfig), out: resumeFolder(resume), stopAfter: config.stopAfter };
  }
  const ckPath = checkpointPath(c.out);
  const logPath = join(c.out, 'log.jsonl');
  if (!ck && existsSync(ckPath))
    throw new CliError(
      `${ckPath} already exists: pass --resume ${ckPath} to continue that run, or choose another --out`,
    );
  if (!ck && readLog(logPath).lines.length > 0)
    throw new CliError(
      `${logPath} already holds the log of an earlier run (that never saved a checkpoint): move it away or choose another --out`,
    );
  const runId = ck ? (ck.header.runId ?? '') : randomUUID();
  if (ck && !runId) throw new CliError(`${resume}: the checkpoint has no run id; it was not written by gmr train`);

  // everything is checked before the run folder is made, so a refusal leaves nothing behind
  const reading = progressBar('reading', 0, { unit: 'img', enabled: hooks.progress });
  let data: RunData;
  try {
    data = await loadRunData(c, (done, total) => {
      reading.update(done, undefined, total);
      hooks.onReadProgress?.(done, total);
    });
  } finally {
    reading.stop();
  }
  const trainSet = data.train;
  const testSet = data.evaluation;
  const numClassesOfData = c.data ? data.classNames.length : numClassesOf(c);
  checkImageSet(trainSet, 'training', numClassesOfData);
  checkImageSet(testSet, data.evaluatedOn, numClassesOfData);
  checkSameShape(trainSet, testSet);
  // a resumed run keeps the normalisation it started with (read from its checkpoint, not computed again)
  const heldNorm = ck?.header.model.normalization;
  const normalization = heldNorm ?? (c.normalize ? channelStats(trainSet) : undefined);
  const spec = modelSpecOf(c, {
    numClasses: numClassesOfData,
    inputShape: [trainSet.height, trainSet.width, trainSet.channels],
    normalization,
  });
  checkBatchMemory(c.batchSize, trainSet, spec.widths);
  const model = buildModel(spec, c.seed);
  const { factor } = downsampling(spec);
  // a 'valid' pool over an odd size drops the last row or column, which a rotation moves to the other side
  if (spec.kind.startsWith('gmr-') && (trainSet.height % factor !== 0 || trainSet.width % factor !== 0))
    hooks.log(
      `note: ${trainSet.height}×${trainSet.width} is not a multiple of ${factor}, the pooling of ${spec.kind}: it drops edge pixels, so the model is not exactly invariant to 90° rotations and flips${c.data?.startsWith('folder:') ? '; --size can make it a multiple' : ''}`,
    );
  const trainable = model.trainableWeights;
  const vars = trainable.map((w) => (w as unknown as { val: tf.Variable }).val);
  const names = trainable.map((w) => w.originalName);
  const stepsPerEpoch = Math.ceil(trainSet.count / c.batchSize);
  const opt = new Optimizer(
    {
      optimizer: c.optimizer,
      lr: c.lr,
      minLr: c.minLr,
      momentum: c.momentum,
      nesterov: c.nesterov,
      weightDecay: c.weightDecay,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      warmupSteps: Math.round(c.warmupEpochs * stepsPerEpoch),
      totalSteps: c.epochs * stepsPerEpoch,
      clipNorm: c.clipNorm,
    },
    vars,
    names,
  );
  let epochStart = 0;
  let step = 0;
  const history: EpochRecord[] = [];
  if (ck) {
    assertSameModel(ck, spec, resume!);
    writeWeights(model, ck.weights, resume!);
    opt.load(ck.optimizer);
    epochStart = ck.header.epochsDone;
    step = ck.header.step;
    history.push(...(ck.header.history as EpochRecord[]));
    removeStaleTemps(ckPath);
    const recovered = reconcileLog(logPath, runId, history, { model: c.model, checkpoint: ckPath });
    hooks.log(
      `resuming ${resume} after epoch ${epochStart}/${c.epochs} (step ${step}) in ${c.out}${recovered.length ? `; log lines of epoch(s) ${recovered.join(', ')} written again from the checkpoint` : ''}`,
    );
  } else {
    try {
      makeFolder(c.out);
      writeFileSync(join(c.out, 'config.json'), JSON.stringify({ ...c, run: runId }, null, 2) + '\n');
    } catch (e) {
      model.dispose();
      opt.dispose();
      throw fileError(e, join(c.out, 'config.json'));
    }
  }
  const transform = augmentation(c.augment, trainSet.height, trainSet.width);
  // model.apply(x, {training: true}) with each batch norm and its ReLU as one kernel, without tfjs-layers' executor.
  const forward = new TrainingForward(model);
  const numClasses = spec.numClasses;
  let epochsThisRun = 0;
  for (let epoch = epochStart; epoch < c.epochs; epoch++) {
    if (c.stopAfter !== undefined && epochsThisRun >= c.stopAfter) break;
    const te = performance.now();
    const order = permutation(trainSet.count, new Rng(deriveSeed(c.seed, epoch, 0x5eed)));
    const bar = progressBar(`epoch ${epoch + 1}/${c.epochs}`, trainSet.count, {
      unit: 'img',
      enabled: hooks.progress,
      fields: { loss: '-' },
    });
    let lossSum = 0;
    let seen = 0;
    for (let b = 0; b < stepsPerEpoch; b++) {
      const idx = order.subarray(b * c.batchSize, Math.min((b + 1) * c.batchSize, order.length));
      const { xs, labels } = batchOf(trainSet, idx, c.seed, epoch, transform);
      const n = idx.length;
      const { value, grads } = tf.tidy(() => {
        const x = tf.tensor4d(xs, [n, trainSet.height, trainSet.width, trainSet.channels]);
        const y = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses);
        return tf.variableGrads(() => {
          const logits = forward.apply(x);
          // tf.losses.softmaxCrossEntropy's loss, as one kernel each way where the backend has them (native)
          return softmaxCrossEntropy(y, logits, c.labelSmoothing);
        }, vars);
      });
      await opt.apply(grads, step);
      const loss = (await value.data())[0];
      tf.dispose([value, ...Object.values(grads)]);
      if (!Number.isFinite(loss))
        throw new CliError(
          `training diverged at epoch ${epoch + 1}, step ${step + 1} (loss ${loss}); try a smaller --lr or --clip-norm`,
          3,
        );
      step++;
      lossSum += loss * n;
      seen += n;
      bar.update(seen, { loss: (lossSum / seen).toFixed(4) });
    }
    bar.stop();
    recalibrate(model, trainSet, c.bnRecalibration ?? DEFAULT_BN_RECALIBRATION);
    const seconds = (performance.now() - te) / 1000;
    const m = classificationMetrics(await predictProbabilities(model, testSet), testSet.labels, numClasses);
    const rec: EpochRecord = {
      epoch: epoch + 1,
      evaluatedOn: data.evaluatedOn,
      step,
      loss: lossSum / Math.max(1, seen),
      lr: learningRate(opt.config, step - 1),
      ...m,
      seconds,
      imagesPerSecond: seen / seconds,
    };
    history.push(rec);
    saveCheckpoint(
      ckPath,
      {
        runId,
        model: headerOfSpec(spec),
        classNames: data.classNames,
        config: c as unknown as Record<string, unknown>,
        epochsDone: epoch + 1,
        step,
        history,
      },
      await readWeights(model),
      await opt.state(),
    );
    appendLog(logPath, { event: 'epoch', run: runId, model: c.model, ...rec, checkpoint: ckPath });
    hooks.log(
      `epoch ${rec.epoch}/${c.epochs}: loss ${rec.loss.toFixed(4)}, ${data.evaluatedOn} acc ${(100 * rec.accuracy).toFixed(2)} % (balanced ${(100 * rec.balancedAccuracy).toFixed(2)} %, macro-F1 ${(100 * rec.macroF1).toFixed(2)} %, ${numClasses === 2 ? 'ROC-AUC' : 'ROC-AUC one-vs-rest'} ${rec.rocAuc.toFixed(4)}, n=${testSet.count}), ${rec.imagesPerSecond.toFixed(0)} img/s, ${seconds.toFixed(1)} s; checkpoint ${ckPath}`,
    );
    epochsThisRun++;
  }
  opt.dispose();
  const done = history.length >= c.epochs;
  if (done && (epochsThisRun > 0 || !readLog(logPath).lines.some((l) => l.event === 'done')))
    appendLog(logPath, {
      event: 'done',
      run: runId,
      model: c.model,
      epochs: c.epochs,
      final: history[history.length - 1],
    });
  return { model, spec, history, checkpoint: ckPath, seconds: (performance.now() - t0) / 1000, finished: done };
}
