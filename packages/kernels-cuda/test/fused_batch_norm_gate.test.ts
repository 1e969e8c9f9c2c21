/**
 * A steerable field batch norm and the gate after it as one kernel each way (GMRFieldBatchNorm / …Grad with activation
 * 'gate', through core's FieldBatchNorm.trainingCallWithGate and models' TrainingForward) on native: the numbers of the
 * two layers run one after the other on native (forward bit for bit; the gradient's sums in another loop order, to
 * float rounding) and on cpu (composed) to rounding; the steerable CNN's training step through TrainingForward gives
 * model.apply's loss, gradients and moving statistics with no GMRFieldGate kernel left; a gate without its gates is
 * refused; no leaks.
 */
import { describe, expect, it } from 'vitest';
import {
  FieldBatchNorm,
  FieldNonlinearity,
  fieldChannels,
  gatedFields,
  softmaxCrossEntropy,
  type Fields,
} from '@gmr-conv/core';
import { FIELD_BATCH_NORM, FIELD_GATE } from '@gmr-conv/core/kernel';
import { TrainingForward, gmrSteerableCNN } from '@gmr-conv/models';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

/** y, dx, the parameter gradients and the moving statistics of gate(bn(x)) in training, the pair run by `run`. */
function pairStep(
  fields: Fields,
  rows: [number, number, number],
  run: (bn: FieldBatchNorm, act: FieldNonlinearity, x: tf.Tensor) => tf.Tensor,
) {
  return () => {
    const bnFields = gatedFields(fields);
    const shape = [...rows, fieldChannels(bnFields)];
    const bn = new FieldBatchNorm({ fields: bnFields, momentum: 0.6 });
    const act = new FieldNonlinearity({ fields, mode: 'gate' });
    bn.build(shape);
    bn.setWeights(
      bn.weights.map((w, i) => {
        const v = rand(
          w.shape.reduce((p, q) => p! * q!, 1)!,
          50 + i,
        );
        return tf.tensor(/gamma|variance|norm/.test(w.originalName) ? v.map((e) => 1 + e / 2) : v, w.shape as number[]);
      }),
    );
    const size = shape.reduce((p, q) => p * q, 1);
    const x = tf.tensor(rand(size, 51), shape);
    const r = tf.tensor(rand((size / shape[3]!) * fieldChannels(fields), 52), [...rows, fieldChannels(fields)]);
    const vars = bn.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const y = run(bn, act, x);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(run(bn, act, x), r)) as tf.Scalar, vars);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(run(bn, act, t), r)))(x);
    const moving = bn.nonTrainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val.clone());
    return [y, dx, ...vars.map((v) => grads[v.name]!), ...moving];
  };
}

const fused = (bn: FieldBatchNorm, _act: FieldNonlinearity, x: tf.Tensor) => {
  const y = bn.trainingCallWithGate(x);
  if (!y) throw new Error('the fused path did not run');
  return y;
};
const twoLayers = (bn: FieldBatchNorm, act: FieldNonlinearity, x: tf.Tensor) =>
  act.apply(bn.apply(x, { training: true }), { training: true }) as tf.Tensor;

describe('field batch norm + gate as one kernel on native', () => {
  const cases: [Fields, [number, number, number]][] = [
    [
      [8, 8, 8],
      [4, 6, 6],
    ],
    [
      [3, 2, 1],
      [3, 5, 5],
    ],
    [
      [0, 3, 2],
      [2, 7, 3],
    ],
    [
      [32, 16, 16],
      [2, 7, 7],
    ],
  ];
  for (const [fields, rows] of cases) {
    it(`fields [${fields}]: the two layers' numbers on native (forward bit for bit) and on cpu`, async () => {
      resetKernelCallCounts();
      const got = await on('native', pairStep(fields, rows, fused));
      expect(kernelCallCounts()[FIELD_BATCH_NORM]).toBe(3);
      expect(kernelCallCounts()[FIELD_GATE] ?? 0).toBe(0);
      const apart = await on('native', pairStep(fields, rows, twoLayers));
      const ref = await on('cpu', pairStep(fields, rows, twoLayers));
      expect(got.length).toBe(apart.length);
      expect(Array.from(got[0]!), 'y against the unfused pair on native').toEqual(Array.from(apart[0]!));
      got.forEach((g, i) => {
        expect(relErr(g, apart[i]!), `output ${i} against the unfused pair on native`).toBeLessThan(1e-6);
        expect(relErr(g, ref[i]!), `output ${i} against cpu`).toBeLessThan(1e-4);
      });
    });
  }

  it('refuses a gate whose gates are not among the order-0 channels, naming the attribute', async () => {
    await tf.setBackend('native');
    const x = tf.ones([2, 2 + 2 * 3]);
    expect(() =>
      tf.engine().runKernel(FIELD_BATCH_NORM, { x, gamma: tf.ones([5]), beta: tf.zeros([2]) }, {
        fields: [2, 3, 0],
        epsilon: 1e-3,
        activation: 'gate',
      } as never),
    ).toThrow(
      /`activation` must be 'linear' for fields \[2,3,0\] \(a gate needs n1 \+ n2 = 3 gates among the n0 order-0 channels\)/,
    );
    x.dispose();
  });

  it("the steerable CNN's training step through TrainingForward: model.apply's loss, gradients and moving statistics, no gate kernel", async () => {
    const step = async (useForward: boolean) => {
      await tf.setBackend('native');
      const model = gmrSteerableCNN({
        fields: [
          [2, 2, 2],
          [4, 2, 2],
          [4, 2, 2],
        ],
      });
      model.setWeights(
        model.getWeights().map((w, i) =>
          tf.tensor(
            rand(w.size, 20 + i).map((v) => v / 3 + (/variance|norm/.test(model.weights[i]!.originalName) ? 1 : 0)),
            w.shape,
          ),
        ),
      );
      const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const forward = new TrainingForward(model);
      const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 5);
      const y = tf.oneHot(tf.tensor1d([1, 7, 3], 'int32'), 10);
      resetKernelCallCounts();
      const { value, grads } = tf.variableGrads(() => {
        const logits = useForward ? forward.apply(x) : (model.apply(x, { training: true }) as tf.Tensor);
        return softmaxCrossEntropy(y, logits);
      }, vars);
      const gates = kernelCallCounts()[FIELD_GATE] ?? 0;
      const out = [value, ...vars.map((v) => grads[v.name]!)].map((t) => t.dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(grads)]);
      const moving = model.nonTrainableWeights.map((w) => w.read().dataSync() as Float32Array);
      tf.dispose([x, y]);
      model.dispose();
      return { out: [...out, ...moving], gates, fused: forward.fused };
    };
    const want = await step(false);
    const got = await step(true);
    expect(got.fused).toEqual(['bn1→act1', 'bn2→act2', 'bn3→act3']);
    expect(want.gates).toBe(3);
    expect(got.gates).toBe(0);
    expect(got.out.length).toBe(want.out.length);
    got.out.forEach((g, i) => expect(relErr(g, want.out[i]!), `output ${i}`).toBeLessThan(1e-5));
  });

  it('leaks no tensors over training steps', async () => {
    await tf.setBackend('native');
    const bn = new FieldBatchNorm({ fields: gatedFields([2, 1, 1]) });
    bn.build([2, 3, 3, fieldChannels(gatedFields([2, 1, 1]))]);
    const vars = bn.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const x = tf.randomNormal([2, 3, 3, fieldChannels(gatedFields([2, 1, 1]))]);
    expectNoLeaks(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(bn.trainingCallWithGate(x)!) as tf.Scalar, vars);
      tf.dispose([value, ...Object.values(grads)]);
    }, 4);
    x.dispose();
  });
});
