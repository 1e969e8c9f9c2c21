/** Sqrt (a harmonic layer's magnitude) as a loop over native memory (unary_impl.ts). */
import { Sqrt } from '@tensorflow/tfjs-core';
import { nativeKernel } from './native_util.js';
import { unaryKernelFunc } from './unary_impl.js';

export const sqrt = unaryKernelFunc(Sqrt, Math.sqrt);

export const sqrtConfig = nativeKernel(Sqrt, sqrt);
