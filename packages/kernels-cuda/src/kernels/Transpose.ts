/** Transpose: one native permuted copy up to rank 8 (channels-first GMR calls and matmul layouts go through it). */
import { Transpose, type TransposeAttrs, type TransposeInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function transpose(args: NativeKernelArgs<TransposeInputs, TransposeAttrs>) {
  const { backend } = args;
  const x = args.inputs.x!;
  const { perm } = args.attrs;
  if (x.dtype !== 'float32' || x.shape.length === 0 || x.shape.length > 8 || size(x.shape) === 0)
    return cpuKernel(Transpose, args);
  count(Transpose);
  const outShape = perm.map((p) => x.shape[p]!);
  const out = backend.allocFloat32(size(x.shape));
  backend.addon.transpose(backend.f32(x), Int32Array.from(x.shape), Int32Array.from(perm), out);
  return backend.makeNativeOutput(out, outShape);
}

export const transposeConfig = nativeKernel(Transpose, transpose);
