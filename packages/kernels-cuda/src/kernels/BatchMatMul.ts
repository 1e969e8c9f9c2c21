/** BatchMatMul: (batched) a·b through the native SGEMM (matmul_impl.ts); other dtypes and broadcasts use cpu's. */
import { BatchMatMul, type BatchMatMulAttrs, type BatchMatMulInputs } from '@tensorflow/tfjs-core';
import { matMulImpl } from './matmul_impl.js';
import { cpuKernel, nativeKernel, type NativeKernelArgs } from './native_util.js';

export function batchMatMul(args: NativeKernelArgs<BatchMatMulInputs, BatchMatMulAttrs>) {
  return matMulImpl(args, BatchMatMul, 0, undefined) ?? cpuKernel(BatchMatMul, args);
}

export const batchMatMulConfig = nativeKernel(BatchMatMul, batchMatMul);
