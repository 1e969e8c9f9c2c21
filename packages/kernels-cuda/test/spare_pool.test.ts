/**
 * The native backend's pool of spare buffers (freed tensors' native memory kept for the next allocation of the same
 * byte length): a freed buffer is what the next tensor of its size gets; when the pool is full, the sizes used longest
 * ago make room, so a new phase's sizes (an evaluation after training) are pooled and reused rather than allocated and
 * freed on every batch; the pool never holds more than its limit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NativeBackend } from '../src/index.js';
import { tf } from './helpers.js';

/** A native kernel's output of `n` floats, and the ArrayBuffer behind it. */
function nativeTensor(n: number): { t: tf.Tensor; buf: ArrayBufferLike } {
  const t = tf.relu(tf.fill([n], 1));
  const backend = tf.backend() as NativeBackend;
  return { t, buf: backend.f32(t as unknown as tf.TensorInfo).buffer };
}

/** The backend's pool limit, set for a test (restored after each). */
let savedLimit: number | null = null;
function setPoolLimit(bytes: number): void {
  const b = tf.backend() as unknown as { spareLimit: number; releaseSpares(): void };
  savedLimit ??= b.spareLimit;
  b.releaseSpares();
  b.spareLimit = bytes;
}
afterEach(() => {
  const b = tf.backend() as unknown as { spareLimit: number; releaseSpares(): void };
  if (savedLimit != null) b.spareLimit = savedLimit;
  savedLimit = null;
  b.releaseSpares();
});

describe('the spare-buffer pool', () => {
  it('gives a freed buffer to the next tensor of its size', async () => {
    await tf.setBackend('native');
    setPoolLimit(64 << 20);
    const a = nativeTensor(1 << 16);
    a.t.dispose();
    const b = nativeTensor(1 << 16);
    expect(b.buf).toBe(a.buf);
    b.t.dispose();
  });

  it('when full, frees the sizes used longest ago so that a new size is pooled and reused', async () => {
    await tf.setBackend('native');
    const n = 1 << 18; // 1 MiB buffers
    setPoolLimit(4 << 20);
    // fill the pool with one size (the "training" phase)
    const old = Array.from({ length: 4 }, () => nativeTensor(n));
    old.forEach((o) => o.t.dispose());
    const backend = tf.backend() as NativeBackend;
    expect(backend.spareBuffers().bytes).toBe(4 << 20);
    // another size (the "evaluation" phase): its freed buffer is pooled (an old one is freed for it) and reused
    const first = nativeTensor(n + 1024);
    first.t.dispose();
    const again = nativeTensor(n + 1024);
    expect(again.buf).toBe(first.buf);
    again.t.dispose();
    // two of the old size made room (one did not leave enough), and the new one is in
    expect(backend.spareBuffers()).toEqual({ count: 3, bytes: (2 << 20) + (n + 1024) * 4 });
  });
});
