/** Sub: a − b with any broadcast, one strided native loop (binary_impl.ts); other dtypes use the cpu kernel. */
import { Sub } from '@tensorflow/tfjs-core';
import { BINARY_OP, binaryKernelFunc } from './binary_impl.js';
import { nativeKernel } from './native_util.js';

export const sub = binaryKernelFunc(Sub, BINARY_OP.sub);

export const subConfig = nativeKernel(Sub, sub);
