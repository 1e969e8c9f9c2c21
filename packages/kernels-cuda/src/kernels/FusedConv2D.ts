/** FusedConv2D: Conv2D with its bias and a linear or ReLU activation applied in the same native pass. */
import { FusedConv2D, type FusedConv2DAttrs, type FusedConv2DInputs } from '@tensorflow/tfjs-core';
import { convForwardImpl } from './conv_impl.js';
import { cpuKernel, nativeKernel, type NativeKernelArgs } from './native_util.js';

export function fusedConv2D(args: NativeKernelArgs<FusedConv2DInputs, FusedConv2DAttrs>) {
  return convForwardImpl(args, FusedConv2D) ?? cpuKernel(FusedConv2D, args);
}

export const fusedConv2DConfig = nativeKernel(FusedConv2D, fusedConv2D);
