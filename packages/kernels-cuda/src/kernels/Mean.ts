/** Mean over a contiguous run of axes, natively (reduce_impl.ts); its gradient is gradients/Mean_grad.ts. */
import { Mean } from '@tensorflow/tfjs-core';
import { nativeKernel } from './native_util.js';
import { reduceKernelFunc } from './reduce_impl.js';

export const mean = reduceKernelFunc(Mean, true);

export const meanConfig = nativeKernel(Mean, mean);
