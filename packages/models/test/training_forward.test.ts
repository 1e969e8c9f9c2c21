/**
 * TrainingForward (a training batch without tfjs-layers' executor, batch norm → ReLU pairs fused where the backend has
 * the kernels) on cpu, where the pairs run as their two layers: the same logits, gradients and moving statistics as
 * model.apply(x, {training: true}) bit for bit; which pairs it fuses (not a batch norm whose output is also used
 * elsewhere, nor into a capped ReLU); tfjs-layers' own call for a model it cannot run directly; no leaks. The fused kernels' numbers are
 * tested on native in kernels-cuda (fused_batch_norm_relu.test.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { FusedBatchNormalization } from '@gmr-conv/core';
import { TrainingForward, gmrCNN, gmrSteerableCNN, plainCNN } from '../src/index.js';
import { seeded, tf, useBackend } from './helpers/backend.js';

beforeAll(async () => {
  await useBackend('cpu');
});

/** Loss, gradients and moving statistics of one training step of a fresh model (seeded) through `run`. */
function step(build: () => tfl.LayersModel, run: (m: tfl.LayersModel) => (x: tf.Tensor) => tf.Tensor): Float32Array[] {
  const m = seeded(7, build);
  const vars = m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const f = run(m);
  const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 3);
  const y = tf.oneHot(tf.tensor1d([2, 5], 'int32'), 10);
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, f(x)) as tf.Scalar, vars);
  const out = [value, ...vars.map((v) => grads[v.name]!)].map((t) => t.dataSync() as Float32Array);
  const moving = m.nonTrainableWeights.map((w) => w.read().dataSync() as Float32Array);
  tf.dispose([value, ...Object.values(grads), x, y]);
  m.dispose();
  return [...out, ...moving];
}

describe('TrainingForward', () => {
  for (const [name, build] of [
    ['GMR-CNN', () => gmrCNN({ widths: [4, 6, 8] })],
    ['plain CNN', () => plainCNN({ widths: [4, 6, 8] })],
    [
      'steerable GMR-CNN',
      () =>
        gmrSteerableCNN({
          fields: [
            [2, 2, 2],
            [4, 2, 2],
            [4, 2, 2],
          ],
        }),
    ],
  ] as const) {
    it(`${name}: the loss, every gradient and the moving statistics are model.apply's bit for bit`, () => {
      const want = step(build, (m) => (x) => m.apply(x, { training: true }) as tf.Tensor);
      const got = step(build, (m) => {
        const f = new TrainingForward(m);
        expect(f.fused).toEqual(name === 'steerable GMR-CNN' ? [] : ['bn1→relu1', 'bn2→relu2', 'bn3→relu3']);
        return (x) => f.apply(x);
      });
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => expect(Array.from(g), `output ${i}`).toEqual(Array.from(want[i]!)));
    });
  }

  it('fuses a batch norm only into a plain ReLU that is its one consumer', () => {
    const input = tfl.input({ shape: [4, 4, 3] });
    const c = tfl.layers
      .conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c' })
      .apply(input) as tfl.SymbolicTensor;
    const bnA = new FusedBatchNormalization({ name: 'bnA' }).apply(c) as tfl.SymbolicTensor;
    const reluA = tfl.layers.reLU({ name: 'reluA' }).apply(bnA) as tfl.SymbolicTensor;
    // bnB feeds a ReLU and an add: its un-rectified output is needed
    const bnB = new FusedBatchNormalization({ name: 'bnB' }).apply(reluA) as tfl.SymbolicTensor;
    const reluB = tfl.layers.activation({ activation: 'relu', name: 'reluB' }).apply(bnB) as tfl.SymbolicTensor;
    const sum = tfl.layers.add({ name: 'sum' }).apply([reluB, bnB]) as tfl.SymbolicTensor;
    // bnC feeds a capped ReLU: not a plain ReLU
    const bnC = new FusedBatchNormalization({ name: 'bnC' }).apply(sum) as tfl.SymbolicTensor;
    const out = tfl.layers.reLU({ maxValue: 6, name: 'relu6' }).apply(bnC) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: out });
    const f = new TrainingForward(m);
    expect(f.fused).toEqual(['bnA→reluA']);
    const x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 1);
    const want = (m.apply(x, { training: true }) as tf.Tensor).dataSync();
    expect(Array.from(tf.tidy(() => f.apply(x)).dataSync())).toEqual(Array.from(want));
    x.dispose();
    m.dispose();
  });

  it("runs a model it cannot run directly (a shared layer) through tfjs-layers' own call", () => {
    const input = tfl.input({ shape: [5] });
    const dense = tfl.layers.dense({ units: 5, name: 'shared' });
    const out = dense.apply(dense.apply(input)) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: out });
    const f = new TrainingForward(m);
    expect(f.fused).toEqual([]);
    const x = tf.randomNormal([3, 5], 0, 1, 'float32', 2);
    const want = (m.apply(x, { training: true }) as tf.Tensor).dataSync();
    expect(Array.from(tf.tidy(() => f.apply(x)).dataSync())).toEqual(Array.from(want));
    x.dispose();
    m.dispose();
  });

  it('refuses what is not a LayersModel, naming the parameter', () => {
    expect(() => new TrainingForward({} as tfl.LayersModel)).toThrow(
      /TrainingForward: `model` must be a tf.LayersModel/,
    );
  });

  it('keeps no tensor that model.apply does not (inside tf.tidy, as a training step runs it)', () => {
    const m = seeded(3, () => plainCNN({ widths: [4, 6, 8] }));
    const f = new TrainingForward(m);
    const x = tf.randomUniform([2, 28, 28, 1]);
    // Tensors left after three tidied calls. On cpu both run tfjs-layers' own batch-norm training code, which keeps
    // one tensor per call of its own; on native (kernels-cuda's test) TrainingForward keeps none.
    const kept = (run: () => tf.Tensor) => {
      tf.tidy(run);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) tf.tidy(run);
      return tf.memory().numTensors - before;
    };
    expect(kept(() => f.apply(x))).toBe(kept(() => m.apply(x, { training: true }) as tf.Tensor));
    x.dispose();
    m.dispose();
  });
});
