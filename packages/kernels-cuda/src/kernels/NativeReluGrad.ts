/** NativeReluGrad (this package's kernel, run by gradients/Relu_grad.ts): dy · step(x) in one native pass. */
import { count } from '../counters.js';
import { NativeReluGrad, type NativeReluGradInputs } from '../kernel_names.js';
import { nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function nativeReluGrad(args: NativeKernelArgs<NativeReluGradInputs, unknown>) {
  const { backend } = args;
  const { dy, x } = args.inputs;
  count(NativeReluGrad);
  const dx = backend.allocFloat32(size(x!.shape));
  backend.addon.reluGrad(backend.f32(dy!), backend.f32(x!), dx);
  return backend.makeNativeOutput(dx, x!.shape);
}

export const nativeReluGradConfig = nativeKernel(NativeReluGrad, nativeReluGrad);
