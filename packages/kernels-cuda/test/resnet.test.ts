/**
 * GMR-ResNet-18 (small input) on 'native' against cpu: the loss and the gradient of every trainable weight of a
 * training step, from the same weights, then a few training steps (finite losses, no leaked tensor or buffer).
 * Several steps are not compared loss for loss: with batch-norm statistics over 2×2×4 values in the last stage, a
 * 1e-6 relative change of the weights already moves the third loss by tens of percent on either backend.
 */
import { describe, expect, it } from 'vitest';
import { gmrResNet18 } from '@gmr-conv/models';
import { kernelCallCounts, liveNativeBuffers, resetKernelCallCounts } from '../src/index.js';
import { rand, relErr, tf } from './helpers.js';

/** tfjs initialisers draw their seeds from Math.random: a seeded one makes every run check the same weights. */
function seededModel() {
  const original = Math.random;
  let state = 0x5eed;
  Math.random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  try {
    return gmrResNet18({ numClasses: 10, gmrConvSize: [9, 9, 5, 5], inputSize: [16, 16] });
  } finally {
    Math.random = original;
  }
}

function setup(weights?: Float32Array[]) {
  const model = seededModel();
  const start = model.getWeights().map((w, i) => (weights ? weights[i]! : (w.dataSync() as Float32Array).slice()));
  if (weights) {
    const init = model.getWeights().map((w, i) => tf.tensor(weights[i]!, w.shape));
    model.setWeights(init);
    tf.dispose(init);
  }
  const x = tf.tensor4d(rand(4 * 16 * 16 * 3, 100), [4, 16, 16, 3]);
  const y = tf.oneHot(tf.tensor1d([1, 4, 7, 9], 'int32'), 10);
  const lossFn = () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
  return { model, start, x, y, lossFn };
}

async function lossAndGrads(backend: string, weights?: Float32Array[]) {
  await tf.setBackend(backend);
  const s = setup(weights);
  const { value, grads } = tf.variableGrads(s.lossFn);
  const out = {
    loss: value.dataSync()[0]!,
    grads: Object.values(grads).map((g) => g.dataSync() as Float32Array),
    names: Object.keys(grads),
    weights: s.start,
  };
  tf.dispose([value, ...Object.values(grads), s.x, s.y]);
  s.model.dispose();
  return out;
}

describe('GMR-ResNet-18 on native', () => {
  it('a training step (batch 4, 16×16): loss and every weight gradient match cpu', async () => {
    const ref = await lossAndGrads('cpu');
    resetKernelCallCounts();
    const got = await lossAndGrads('native', ref.weights);
    const counts = kernelCallCounts();
    expect(counts.gmrForward).toBeGreaterThan(0);
    expect(counts.gmrBackpropInput).toBeGreaterThan(0);
    expect(counts.gmrBackpropFilter).toBeGreaterThan(0);
    expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-5);
    expect(got.grads.length).toBe(ref.grads.length);
    let worst = 0;
    for (let i = 0; i < ref.grads.length; i++) {
      const e = relErr(got.grads[i]!, ref.grads[i]!);
      worst = Math.max(worst, e);
      expect(e, `gradient ${i} (${ref.names[i]})`).toBeLessThan(2e-3);
    }
    console.log(
      `[kernels-cuda resnet] loss cpu ${ref.loss} native ${got.loss}; worst gradient rel err ${worst.toExponential(2)} over ${ref.grads.length} weights`,
    );
  }, 170_000);

  it('trains a few steps with momentum: finite losses, no leaked tensor or native buffer', async () => {
    await tf.setBackend('native');
    const s = setup();
    const opt = tf.train.momentum(0.01, 0.9);
    const stepOnce = () => {
      const loss = opt.minimize(s.lossFn, true)!;
      const v = loss.dataSync()[0]!;
      loss.dispose();
      return v;
    };
    stepOnce();
    const tensors = tf.memory().numTensors;
    const buffers = liveNativeBuffers().count;
    const losses = [stepOnce(), stepOnce(), stepOnce()];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(liveNativeBuffers().count).toBe(buffers);
    opt.dispose();
    tf.dispose([s.x, s.y]);
    s.model.dispose();
  }, 170_000);
});
