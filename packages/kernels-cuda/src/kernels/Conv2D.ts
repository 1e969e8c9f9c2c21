/** Conv2D (NHWC, float32): an implicit GEMM in the addon, or one SGEMM at 1×1 stride 1 (conv_impl.ts). */
import { Conv2D, type Conv2DAttrs, type Conv2DInputs } from '@tensorflow/tfjs-core';
import { convForwardImpl } from './conv_impl.js';
import { cpuKernel, nativeKernel, type NativeKernelArgs } from './native_util.js';

export function conv2D(args: NativeKernelArgs<Conv2DInputs, Conv2DAttrs>) {
  return convForwardImpl(args, Conv2D) ?? cpuKernel(Conv2D, args);
}

export const conv2DConfig = nativeKernel(Conv2D, conv2D);
