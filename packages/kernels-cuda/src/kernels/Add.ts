/** Add: a + b with any broadcast, one strided native loop (binary_impl.ts); other dtypes use the cpu kernel. */
import { Add } from '@tensorflow/tfjs-core';
import { BINARY_OP, binaryKernelFunc } from './binary_impl.js';
import { nativeKernel } from './native_util.js';

export const add = binaryKernelFunc(Add, BINARY_OP.add);

export const addConfig = nativeKernel(Add, add);
