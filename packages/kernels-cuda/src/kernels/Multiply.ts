/** Multiply: a · b with any broadcast, one strided native loop (binary_impl.ts); other dtypes use the cpu kernel. */
import { Multiply } from '@tensorflow/tfjs-core';
import { BINARY_OP, binaryKernelFunc } from './binary_impl.js';
import { nativeKernel } from './native_util.js';

export const multiply = binaryKernelFunc(Multiply, BINARY_OP.mul);

export const multiplyConfig = nativeKernel(Multiply, multiply);
