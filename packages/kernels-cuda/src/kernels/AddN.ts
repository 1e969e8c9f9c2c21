/** AddN (summed gradients): the first two inputs added natively, then each further one into the same output. */
import { AddN, type AddNInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { allF32, cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function addN(args: NativeKernelArgs<AddNInputs, unknown>) {
  const { backend } = args;
  const ts = args.inputs;
  if (ts.length < 2 || !allF32(...ts) || ts.some((t) => size(t.shape) !== size(ts[0]!.shape)))
    return cpuKernel(AddN, args);
  count(AddN);
  const out = backend.allocFloat32(size(ts[0]!.shape));
  backend.addon.binary(0, backend.f32(ts[0]!), backend.f32(ts[1]!), out);
  for (let i = 2; i < ts.length; i++) backend.addon.binary(0, out, backend.f32(ts[i]!), out);
  return backend.makeNativeOutput(out, ts[0]!.shape);
}

export const addNConfig = nativeKernel(AddN, addN);
