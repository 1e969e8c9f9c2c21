/** Sigmoid (a gated steerable layer's gates) as a loop over native memory (unary_impl.ts). */
import { Sigmoid } from '@tensorflow/tfjs-core';
import { nativeKernel } from './native_util.js';
import { unaryKernelFunc } from './unary_impl.js';

export const sigmoid = unaryKernelFunc(Sigmoid, (v) => 1 / (1 + Math.exp(-v)));

export const sigmoidConfig = nativeKernel(Sigmoid, sigmoid);
