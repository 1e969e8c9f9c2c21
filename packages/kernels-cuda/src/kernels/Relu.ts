/** Relu: max(x, 0) in one native pass (its gradient is NativeReluGrad, through gradients/Relu_grad.ts). */
import { Relu, type ReluInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function relu(args: NativeKernelArgs<ReluInputs, unknown>) {
  const { backend } = args;
  const x = args.inputs.x!;
  if (x.dtype !== 'float32') return cpuKernel(Relu, args);
  count(Relu);
  const out = backend.allocFloat32(size(x.shape));
  backend.addon.relu(backend.f32(x), out);
  return backend.makeNativeOutput(out, x.shape);
}

export const reluConfig = nativeKernel(Relu, relu);
