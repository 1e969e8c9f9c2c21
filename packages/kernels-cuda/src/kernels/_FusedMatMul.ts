/** _FusedMatMul (tfjs-layers' Dense): a·b, + bias, then linear or ReLU natively; other activations use cpu's. */
import { _FusedMatMul, type _FusedMatMulAttrs, type _FusedMatMulInputs } from '@tensorflow/tfjs-core';
import { matMulImpl } from './matmul_impl.js';
import { cpuKernel, nativeKernel, type NativeKernelArgs } from './native_util.js';

export function fusedMatMul(args: NativeKernelArgs<_FusedMatMulInputs, _FusedMatMulAttrs>) {
  const { activation } = args.attrs;
  const act = activation === 'relu' ? 1 : activation == null || activation === 'linear' ? 0 : -1;
  if (act < 0) return cpuKernel(_FusedMatMul, args);
  return matMulImpl(args, _FusedMatMul, act as 0 | 1, args.inputs.bias) ?? cpuKernel(_FusedMatMul, args);
}

export const fusedMatMulConfig = nativeKernel(_FusedMatMul, fusedMatMul);
