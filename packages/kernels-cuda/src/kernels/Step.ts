/** Step (tfjs's ReLU gradient on other backends is Step, then Multiply): 1 where x > 0, alpha elsewhere, one native pass. */
import { Step, type StepAttrs, type StepInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function step(args: NativeKernelArgs<StepInputs, StepAttrs>) {
  const { backend } = args;
  const x = args.inputs.x!;
  if (x.dtype !== 'float32') return cpuKernel(Step, args);
  count(Step);
  const out = backend.allocFloat32(size(x.shape));
  backend.addon.step(backend.f32(x), args.attrs.alpha, out);
  return backend.makeNativeOutput(out, x.shape);
}

export const stepConfig = nativeKernel(Step, step);
