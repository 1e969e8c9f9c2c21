/** ReLU's gradient dy · step(x) as one native pass (NativeReluGrad) instead of tfjs's Step, then Multiply. */
import * as tf from '@tensorflow/tfjs-core';
import { Relu } from '@tensorflow/tfjs-core';
import { NativeReluGrad } from '../kernel_names.js';
import type { NativeGradConfig } from './gradient_impl.js';

export const reluGradConfig: NativeGradConfig = {
  kernelName: Relu,
  gradFunc: (dy, saved) => {
    const [x] = saved;
    if (dy.dtype !== 'float32' || x!.dtype !== 'float32' || dy.size !== x!.size) return null;
    return { x: () => tf.engine().runKernel(NativeReluGrad, { dy, x: x! }) as tf.Tensor };
  },
};
