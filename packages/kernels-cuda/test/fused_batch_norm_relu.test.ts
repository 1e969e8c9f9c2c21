/**
 * A batch norm and the ReLU after it as one kernel each way (GMRFieldBatchNorm / …Grad with activation 'relu', through
 * core's FusedBatchNormalization.trainingCallWithRelu and models' TrainingForward) on native: the same bits as the two
 * layers run one after the other on native (the forward computes the same floats, the gradient recomputes the ReLU's
 * mask from x exactly as the forward made it) and tfjs-layers' BatchNormalization + ReLU on cpu to rounding; a whole
 * CNN's training step through TrainingForward gives model.apply's loss, gradients and moving statistics bit for bit,
 * with no Relu kernel left; bad activations are refused by name; no leaks.
 */
import { describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { FusedBatchNormalization } from '@gmr-conv/core';
import { FIELD_BATCH_NORM, FIELD_BATCH_NORM_GRAD } from '@gmr-conv/core/kernel';
import { TrainingForward, gmrCNN, plainCNN } from '@gmr-conv/models';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

/** y, dx, dγ, dβ and the moving statistics of relu(bn(x)) in training, the pair given by `run`. */
function pairStep(shape: number[], run: (bn: tfl.layers.Layer, x: tf.Tensor) => tf.Tensor, stock = false) {
  return () => {
    const bn = stock
      ? tfl.layers.batchNormalization({ momentum: 0.7 })
      : new FusedBatchNormalization({ momentum: 0.7 });
    bn.build(shape);
    bn.setWeights(
      bn.weights.map((w, i) => {
        const v = rand(
          w.shape.reduce((p, q) => p! * q!, 1)!,
          80 + i,
        );
        return tf.tensor(/gamma|variance/.test(w.originalName) ? v.map((e) => 1 + e / 2) : v, w.shape as number[]);
      }),
    );
    const size = shape.reduce((p, q) => p * q, 1);
    // centred data: about half of the normalised values are negative, so the mask matters
    const x = tf.tensor(rand(size, 81), shape);
    const r = tf.tensor(rand(size, 82), shape);
    const vars = bn.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const y = run(bn, x);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(run(bn, x), r)) as tf.Scalar, vars);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(run(bn, t), r)))(x);
    const moving = bn.nonTrainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val.clone());
    return [y, dx, ...vars.map((v) => grads[v.name]!), ...moving];
  };
}

const fused = (bn: tfl.layers.Layer, x: tf.Tensor) => {
  const y = (bn as FusedBatchNormalization).trainingCallWithRelu(x);
  if (!y) throw new Error('the fused path did not run');
  return y;
};
const twoLayers = (bn: tfl.layers.Layer, x: tf.Tensor) => tf.relu(bn.apply(x, { training: true }) as tf.Tensor);
const names = ['y', 'dx', 'dgamma', 'dbeta', 'moving_mean', 'moving_variance'];

describe('batch norm + ReLU as one kernel on native', () => {
  for (const shape of [
    [4, 7, 6, 16],
    [3, 5, 5, 13],
    [6, 9],
  ]) {
    it(`[${shape}]: the same bits as the batch norm and ReLU run one after the other, and tfjs-layers' pair on cpu`, async () => {
      const { kernelCallCounts, resetKernelCallCounts } = await import('../src/index.js');
      resetKernelCallCounts();
      const got = await on('native', pairStep(shape, fused));
      expect(kernelCallCounts()[FIELD_BATCH_NORM]).toBe(3);
      expect(kernelCallCounts()[FIELD_BATCH_NORM_GRAD]).toBe(2);
      const apart = await on('native', pairStep(shape, twoLayers));
      const ref = await on('cpu', pairStep(shape, twoLayers, true));
      expect(got.length).toBe(names.length);
      got.forEach((g, i) => {
        expect(Array.from(g), `${names[i]} against the unfused pair on native`).toEqual(Array.from(apart[i]!));
        expect(relErr(g, ref[i]!), `${names[i]} against cpu`).toBeLessThan(1e-4);
      });
      // the ReLU did something: some outputs are exactly 0 and some dx entries of those rows differ from the
      // un-rectified gradient
      expect(got[0]!.some((v) => v === 0) && got[0]!.some((v) => v > 0)).toBe(true);
    });
  }

  it('refuses an activation other than linear or relu, and a ReLU on fields of order m, naming the attribute', async () => {
    await tf.setBackend('native');
    const x = tf.ones([2, 4]);
    const gamma = tf.ones([4]);
    const beta = tf.zeros([4]);
    expect(() =>
      tf.engine().runKernel(FIELD_BATCH_NORM, { x, gamma, beta }, {
        fields: [4, 0, 0],
        epsilon: 1e-3,
        activation: 'gelu',
      } as never),
    ).toThrow(/`activation` must be 'linear' or 'relu', got .*gelu/);
    const x2 = tf.ones([2, 6]);
    expect(() =>
      tf.engine().runKernel(FIELD_BATCH_NORM, { x: x2, gamma: tf.ones([4]), beta: tf.zeros([2]) }, {
        fields: [2, 2, 0],
        epsilon: 1e-3,
        activation: 'relu',
      } as never),
    ).toThrow(/`activation` must be 'linear' for fields \[2,2,0\] \(a ReLU takes order-0 fields only\)/);
    expect(() =>
      tf.engine().runKernel(FIELD_BATCH_NORM_GRAD, { x, dy: x, mean: beta, invStd: gamma, gamma }, {
        fields: [4, 0, 0],
        epsilon: 1e-3,
        activation: 'relu',
      } as never),
    ).toThrow(/beta \[4\] with activation 'relu'/);
    tf.dispose([x, gamma, beta, x2]);
  });
});

describe('TrainingForward on native', () => {
  for (const [name, build] of [
    ['plain CNN', plainCNN],
    ['GMR-CNN', gmrCNN],
  ] as const) {
    it(`${name}: a training step's loss, gradients and moving statistics are model.apply's bit for bit, with no Relu kernel`, async () => {
      await tf.setBackend('native');
      const step = async (useForward: boolean) => {
        tf.setBackend('native');
        const model = build({ widths: [4, 6, 8] });
        // the same initial weights for both runs
        model.setWeights(
          model.getWeights().map((w, i) =>
            tf.tensor(
              rand(w.size, 90 + i).map((v) => v / 3),
              w.shape,
            ),
          ),
        );
        const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
        const forward = new TrainingForward(model);
        const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 5);
        const y = tf.oneHot(tf.tensor1d([1, 7, 3], 'int32'), 10);
        const kernels: string[] = [];
        let out: Float32Array[] = [];
        const p = await tf.profile(() => {
          const { value, grads } = tf.variableGrads(() => {
            const logits = useForward ? forward.apply(x) : (model.apply(x, { training: true }) as tf.Tensor);
            return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
          }, vars);
          out = [value.dataSync() as Float32Array, ...vars.map((v) => grads[v.name]!.dataSync() as Float32Array)];
          tf.dispose([value, ...Object.values(grads)]);
        });
        for (const k of p.kernels) kernels.push(k.name);
        const moving = model.nonTrainableWeights.map((w) => w.read().dataSync() as Float32Array);
        tf.dispose([x, y]);
        model.dispose();
        return { out: [...out, ...moving], kernels, fused: forward.fused };
      };
      const want = await step(false);
      const got = await step(true);
      expect(got.fused).toEqual(['bn1→relu1', 'bn2→relu2', 'bn3→relu3']);
      expect(want.kernels.filter((k) => k === 'Relu').length).toBe(3);
      expect(got.kernels.filter((k) => k === 'Relu').length).toBe(0);
      expect(got.out.length).toBe(want.out.length);
      got.out.forEach((g, i) => expect(Array.from(g), `output ${i}`).toEqual(Array.from(want.out[i]!)));
    });
  }

  it('leaks no tensors over training steps', async () => {
    await tf.setBackend('native');
    const model = plainCNN({ widths: [4, 6, 8] });
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const forward = new TrainingForward(model);
    const x = tf.randomUniform([2, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d([1, 7], 'int32'), 10);
    expectNoLeaks(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, forward.apply(x)) as tf.Scalar,
        vars,
      );
      tf.dispose([value, ...Object.values(grads)]);
    }, 4);
    tf.dispose([x, y]);
    model.dispose();
  });
});
