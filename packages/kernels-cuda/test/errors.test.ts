/** Core's error style in this package: a GMRValueError naming the parameter, the value and what is allowed. */
import { describe, expect, it } from 'vitest';
import { GMRValueError } from '@gmr-conv/core';
import { liveNativeBuffers, loadAddon, setNumThreads } from '../src/index.js';
import { cpuKernel } from '../src/kernels/native_util.js';
import { tf } from './helpers.js';

const thrown = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
};

describe('errors', () => {
  it('a backend name that is not a registered native backend', () => {
    const e = thrown(() => liveNativeBuffers('tpu' as never));
    expect(e).toBeInstanceOf(GMRValueError);
    expect(e.message).toMatch(
      /^@gmr-conv\/kernels-cuda liveNativeBuffers: `name` must be a registered native backend \('native'.*, got "tpu"\.$/,
    );
    const s = thrown(() => setNumThreads(2, 'tpu' as never));
    expect(s.message).toContain('setNumThreads: `name`');
  });

  it('a thread count outside 1..256 (the pool would clamp it silently)', () => {
    for (const n of [0, -1, 2.5, 257, NaN]) {
      const e = thrown(() => setNumThreads(n));
      expect(e).toBeInstanceOf(GMRValueError);
      expect(e.message).toContain('setNumThreads: `n` must be an integer from 1 to 256, got');
    }
    const before = loadAddon('host').addon!.info().threads;
    expect(setNumThreads(1)).toBe(1);
    expect(setNumThreads(before)).toBe(before);
  });

  it('a fallback to a kernel the cpu backend does not have', () => {
    const x = tf.tensor1d([1, 2]);
    const e = thrown(() => cpuKernel('NoSuchKernel', { inputs: { x }, backend: tf.backend() as never, attrs: {} }));
    expect(e).toBeInstanceOf(GMRValueError);
    expect(e.message).toBe(
      '@gmr-conv/kernels-cuda fallback: `kernelName` must be a kernel that the tfjs cpu backend registers, got "NoSuchKernel".',
    );
    x.dispose();
  });
});
