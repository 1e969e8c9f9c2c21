/**
 * Soak (issue 16): thousands of small training steps and inference calls of a GMR-CNN on 'native' with the resident
 * memory sampled. Before the fix the process grew by every byte a step allocated (glibc's aligned_alloc holes) and by
 * Node's Buffer records of each new external ArrayBuffer (finalized only from the event loop, which a synchronous
 * loop never reaches), while tensor and buffer counts stayed flat. Native memory here = RSS − V8's heap (whose size
 * moves with its collector), measured after a warm-up; the bound is a few MB where the leak was tens to hundreds.
 */
import { describe, expect, it } from 'vitest';
import { gmrCNN } from '@gmr-conv/models';
import { liveNativeBuffers } from '../src/index.js';
import { rand, tf } from './helpers.js';

const nativeMB = () => {
  const m = process.memoryUsage();
  return (m.rss - m.heapTotal) / 2 ** 20;
};

/** Runs `step` n times, sampling native memory; returns its growth from the first sample after warm-up to the max. */
function soak(step: () => void, n: number, warmup: number): { growthMB: number; samples: number[] } {
  for (let i = 0; i < warmup; i++) step();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    step();
    if (i % 250 === 0 || i === n - 1) samples.push(nativeMB());
  }
  return { growthMB: Math.max(...samples) - samples[0]!, samples };
}

function smallModel() {
  const original = Math.random;
  let s = 7;
  Math.random = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  try {
    return gmrCNN({ widths: [4, 4, 4], kernelSizes: [5, 3, 3], numClasses: 4, inputSize: [8, 8] });
  } finally {
    Math.random = original;
  }
}

describe('native memory over thousands of steps', () => {
  it('1,500 Adam steps of a small GMR-CNN: no native growth, no tensor or buffer left behind', async () => {
    await tf.setBackend('native');
    const model = smallModel();
    const opt = tf.train.adam(1e-3);
    const x = tf.tensor4d(rand(4 * 8 * 8, 1), [4, 8, 8, 1]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4);
    let first = NaN,
      last = NaN;
    const step = () => {
      const loss = opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        true,
      )!;
      last = loss.dataSync()[0]!;
      if (Number.isNaN(first)) first = last;
      loss.dispose();
    };
    step();
    const tensors = tf.memory().numTensors,
      buffers = liveNativeBuffers().count;
    const r = soak(step, 1500, 50);
    console.log(`[kernels-cuda] soak, training: native MB ${r.samples.map((v) => v.toFixed(0)).join(' ')}`);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(liveNativeBuffers().count).toBe(buffers);
    expect(last).toBeLessThan(first);
    expect(r.growthMB).toBeLessThan(8);
    opt.dispose();
    model.dispose();
    tf.dispose([x, y]);
  }, 120_000);

  it('3,000 inference calls: no native growth', async () => {
    await tf.setBackend('native');
    const model = smallModel();
    const x = tf.tensor4d(rand(4 * 8 * 8, 2), [4, 8, 8, 1]);
    const step = () => {
      const out = model.predict(x) as tf.Tensor;
      out.dataSync();
      out.dispose();
    };
    step(); // the first call builds the inference caches (tensors kept until the weights change)
    const tensors = tf.memory().numTensors;
    const r = soak(step, 3000, 100);
    console.log(`[kernels-cuda] soak, inference: native MB ${r.samples.map((v) => v.toFixed(0)).join(' ')}`);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(r.growthMB).toBeLessThan(8);
    model.dispose();
    x.dispose();
  }, 120_000);
});
