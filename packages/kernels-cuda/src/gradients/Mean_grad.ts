/** Mean's gradient as dy / n broadcast to x's shape (one Tile) instead of tfjs's dy · ones / n (a tensor of ones). */
import * as tf from '@tensorflow/tfjs-core';
import { Mean } from '@tensorflow/tfjs-core';
import type { NativeGradConfig } from './gradient_impl.js';

export const meanGradConfig: NativeGradConfig = {
  kernelName: Mean,
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    if (dy.dtype !== 'float32') return null;
    const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x!.shape);
    const expanded = x!.shape.map((s, i) => (axes.includes(i) ? 1 : s));
    const n = axes.reduce((p, a) => p * x!.shape[a]!, 1);
    return { x: () => tf.broadcastTo(tf.div(tf.reshape(dy, expanded), n), x!.shape) };
  },
};
