/** Sum over a contiguous run of axes, natively (reduce_impl.ts). */
import { Sum } from '@tensorflow/tfjs-core';
import { nativeKernel } from './native_util.js';
import { reduceKernelFunc } from './reduce_impl.js';

export const sum = reduceKernelFunc(Sum, false);

export const sumConfig = nativeKernel(Sum, sum);
