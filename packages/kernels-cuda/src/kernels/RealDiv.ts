/** RealDiv: a / b with any broadcast, one strided native loop (binary_impl.ts); other dtypes use the cpu kernel. */
import { RealDiv } from '@tensorflow/tfjs-core';
import { BINARY_OP, binaryKernelFunc } from './binary_impl.js';
import { nativeKernel } from './native_util.js';

export const realDiv = binaryKernelFunc(RealDiv, BINARY_OP.div);

export const realDivConfig = nativeKernel(RealDiv, realDiv);
