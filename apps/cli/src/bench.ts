/** gmr bench: median time of one training step and of one inference batch for the CLI's models. */
import { tf } from './backend.js';
import { buildModel, type ModelKind } from './model.js';
import { Optimizer } from './optim.js';

export interface BenchResult {
  model: ModelKind;
  widths: number[];
  params: number;
  batch: number;
  trainStepMs: number;
  inferenceMs: number;
  trainImagesPerSecond: number;
  inferenceImagesPerSecond: number;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

export async function bench(kind: ModelKind, widths: [number, number, number], batch: number, runs: number, warmup: number): Promise<BenchResult> {
  const model = buildModel({ kind, widths, numClasses: 10 }, 1);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const names = model.trainableWeights.map((w) => w.originalName);
  const opt = new Optimizer({ optimizer: 'adam', lr: 1e-3, minLr: 1e-3, momentum: 0.9, nesterov: false, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, warmupSteps: 0, totalSteps: 1, clipNorm: 0 }, vars, names);
  const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
  const train: number[] = [];
  const infer: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
    await opt.apply(grads, i);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
    const t1 = performance.now();
    const out = model.predict(x) as tf.Tensor;
    await out.data();
    out.dispose();
    const t2 = performance.now();
    if (i >= warmup) {
      train.push(t1 - t0);
      infer.push(t2 - t1);
    }
  }
  const r: BenchResult = {
    model: kind,
    widths,
    params: model.trainableWeights.reduce((a, w) => a + w.shape.reduce((p: number, q) => p * (q ?? 1), 1), 0),
    batch,
    trainStepMs: median(train),
    inferenceMs: median(infer),
    trainImagesPerSecond: 0,
    inferenceImagesPerSecond: 0,
  };
  r.trainImagesPerSecond = (1000 * batch) / r.trainStepMs;
  r.inferenceImagesPerSecond = (1000 * batch) / r.inferenceMs;
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  return r;
}
