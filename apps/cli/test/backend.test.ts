/** The wasm Conv2DBackpropFilter kernel the CLI registers (plain convs train on wasm) agrees with tfjs's cpu one. */
import { describe, expect, it } from 'vitest';
import { setupBackend, tf } from '../src/backend.js';

function filterGrad(
  x: number[],
  xs: [number, number, number, number],
  f: number[],
  fs: [number, number, number, number],
  stride: number,
  pad: 'same' | 'valid',
): number[] {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, xs);
    const g = tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xt, w as tf.Tensor4D, stride, pad))))(
      tf.tensor4d(f, fs),
    );
    return Array.from(g.dataSync());
  });
}

describe('wasm Conv2DBackpropFilter', () => {
  it('matches the cpu backend for same/valid padding and strides 1 and 2', async () => {
    const xs: [number, number, number, number] = [2, 9, 8, 3];
    const x = Array.from({ length: 2 * 9 * 8 * 3 }, (_, i) => Math.sin(i * 0.37));
    for (const [k, stride, pad] of [
      [3, 1, 'same'],
      [5, 1, 'same'],
      [4, 1, 'same'],
      [3, 2, 'same'],
      [3, 1, 'valid'],
      [3, 2, 'valid'],
    ] as const) {
      const fs: [number, number, number, number] = [k, k, 3, 4];
      const f = Array.from({ length: k * k * 12 }, (_, i) => Math.cos(i * 0.11));
      await setupBackend('cpu');
      const want = filterGrad(x, xs, f, fs, stride, pad);
      const b = await setupBackend('wasm');
      expect(b.name).toBe('wasm');
      const got = filterGrad(x, xs, f, fs, stride, pad);
      const scale = Math.max(...want.map(Math.abs));
      const err = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
      expect(err / scale, `k${k} s${stride} ${pad}`).toBeLessThan(1e-5);
    }
  });
});
