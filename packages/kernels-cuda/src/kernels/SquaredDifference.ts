/** SquaredDifference: (a − b)² with any broadcast, one strided native loop (binary_impl.ts); other dtypes use the cpu kernel. */
import { SquaredDifference } from '@tensorflow/tfjs-core';
import { BINARY_OP, binaryKernelFunc } from './binary_impl.js';
import { nativeKernel } from './native_util.js';

export const squaredDifference = binaryKernelFunc(SquaredDifference, BINARY_OP.squaredDifference);

export const squaredDifferenceConfig = nativeKernel(SquaredDifference, squaredDifference);
