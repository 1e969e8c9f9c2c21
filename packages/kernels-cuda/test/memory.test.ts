/**
 * Native memory and errors: tensors made by native kernels live in native buffers, disposing frees them at once,
 * 1,000 training steps leave the buffer count where it was, a read stays valid after dispose, native errors
 * are JavaScript errors (the process goes on), and the CUDA build's absence or 'no device' is reported, not fatal.
 */
import { describe, expect, it } from 'vitest';
import { gmrConv2d, initialLogSigmas } from '@gmr-conv/core';
import {
  liveNativeBuffers,
  loadAddon,
  nativeStatus,
  registerNativeBackends,
  type NativeBackend,
} from '../src/index.js';
import { rand, tf } from './helpers.js';

describe('native memory', () => {
  it('a native kernel output is a native buffer, freed on dispose', async () => {
    await tf.setBackend('native');
    const a = tf.tensor2d(rand(64 * 32, 1), [64, 32]);
    const b = tf.tensor2d(rand(32 * 16, 2), [32, 16]);
    const before = liveNativeBuffers().count;
    const c = tf.matMul(a, b);
    expect(liveNativeBuffers().count).toBe(before + 1);
    const backend = tf.backend() as NativeBackend;
    expect(backend.nativeBufferCount()).toBeGreaterThan(0);
    const kept = c.dataSync();
    const view = tf.reshape(c, [16, 64]); // shares the data (refcount)
    c.dispose();
    expect(liveNativeBuffers().count).toBe(before + 1);
    view.dispose();
    expect(liveNativeBuffers().count).toBe(before);
    // What was read before dispose is a copy and stays valid.
    expect(kept.length).toBe(64 * 16);
    expect(Number.isFinite(kept[5]!)).toBe(true);
    tf.dispose([a, b]);
  });

  it('a cpu kernel slicing a native tensor keeps the buffer alive until both are gone', async () => {
    await tf.setBackend('native');
    const a = tf.tensor2d(rand(8 * 4, 3), [8, 4]);
    const y = tf.relu(a); // native
    // StridedSlice runs the cpu kernel, which returns a subarray view of y's buffer for a leading-axis slice.
    const s = tf.stridedSlice(y, [2, 0], [5, 4], [1, 1]);
    const before = liveNativeBuffers().count;
    const expected = Array.from(s.dataSync());
    y.dispose();
    expect(liveNativeBuffers().count).toBe(before);
    expect(Array.from(s.dataSync())).toEqual(expected);
    s.dispose();
    expect(liveNativeBuffers().count).toBe(before - 1);
    a.dispose();
  });

  it('1,000 GMR training steps leave no native buffer and no tensor behind', async () => {
    await tf.setBackend('native');
    const x = tf.tensor4d(rand(2 * 8 * 8 * 3, 4), [2, 8, 8, 3]);
    const target = tf.tensor4d(rand(2 * 8 * 8 * 4, 5), [2, 8, 8, 4]);
    const weight = tf.variable(tf.tensor3d(rand(4 * 3 * 3, 6), [4, 3, 3]).mul(0.1));
    const logSigmas = tf.variable(tf.tensor1d(initialLogSigmas(5, 3)));
    const bias = tf.variable(tf.zeros([4]));
    const opt = tf.train.momentum(0.01, 0.9);
    const stepOnce = () => {
      const loss = opt.minimize(() => {
        const y = gmrConv2d(x, { weight, logSigmas, bias }, { kernelSize: 5, padding: 'same' });
        return tf.mean(tf.square(tf.sub(tf.relu(y), target))) as tf.Scalar;
      }, true)!;
      const v = loss.dataSync()[0]!;
      loss.dispose();
      return v;
    };
    const first = stepOnce();
    stepOnce();
    const buffers = liveNativeBuffers().count;
    const tensors = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 1000; i++) last = stepOnce();
    expect(liveNativeBuffers().count).toBe(buffers);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(last).toBeLessThan(first);
    opt.dispose();
    tf.dispose([x, target, weight, logSigmas, bias]);
  }, 120_000);
});

describe('errors', () => {
  it('a native error is a JavaScript error with the message, and the process goes on', async () => {
    const { addon } = loadAddon('host');
    expect(() =>
      addon!.sgemm(
        false,
        false,
        4,
        4,
        4,
        1,
        new Float32Array(3),
        0,
        4,
        new Float32Array(16),
        0,
        4,
        0,
        new Float32Array(16),
        0,
        4,
      ),
    ).toThrow(/kernels-cuda: Float32Array argument 6 has 3 elements, needs 16/);
    expect(() =>
      addon!.ringSum(
        new Float32Array(4),
        new Float32Array([0, 0, 9, 1]),
        Int32Array.from([1, 2, 2, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]),
        new Float32Array(4),
      ),
    ).toThrow(/tap out of range/);
    expect(() => addon!.alloc(-1)).toThrow(/bad allocation size/);
    // Still working afterwards.
    await tf.setBackend('native');
    expect(Array.from(tf.relu(tf.tensor1d([-1, 2])).dataSync())).toEqual([0, 2]);
  });

  it('bad input is refused by core before native code', async () => {
    await tf.setBackend('native');
    const x = tf.zeros([1, 8, 8, 3]);
    expect(() => gmrConv2d(x, { weight: tf.zeros([4, 2, 3]) }, { kernelSize: 5 })).toThrow();
    x.dispose();
  });
});

describe('the CUDA build', () => {
  it("reports why 'cuda' is missing (no build or no device) without throwing", () => {
    const st = registerNativeBackends();
    expect(st.native.ok).toBe(true);
    const cuda = loadAddon('cuda');
    if (!cuda.addon) {
      expect(st.cuda.ok).toBe(false);
      expect(st.cuda.detail).toMatch(/not built|cannot load/);
      console.log(`[kernels-cuda] cuda: ${st.cuda.detail}`);
      return;
    }
    const d = cuda.addon.deviceInfo!();
    console.log(`[kernels-cuda] cuda deviceInfo: ${JSON.stringify(d)}; status: ${nativeStatus().cuda.detail}`);
    if (!d.ok) {
      expect(d.error.length).toBeGreaterThan(0);
      expect(st.cuda.ok).toBe(false);
      expect(st.cuda.detail).toMatch(/no CUDA device/);
      expect(tf.findBackendFactory('cuda')).toBeNull();
      // The CUDA build's host code still runs (its kernels fall back to the host loops without a device).
      const c = new Float32Array(4);
      cuda.addon.sgemm(
        false,
        false,
        2,
        2,
        2,
        1,
        new Float32Array([1, 2, 3, 4]),
        0,
        2,
        new Float32Array([1, 0, 0, 1]),
        0,
        2,
        0,
        c,
        0,
        2,
      );
      expect(Array.from(c)).toEqual([1, 2, 3, 4]);
    } else {
      expect(st.cuda.ok).toBe(true);
    }
  });
});
