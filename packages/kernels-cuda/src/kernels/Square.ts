/** Square: x·x through the addon's element-wise product (the cpu kernel is a JS loop). */
import { Square, type SquareInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { BINARY_OP } from './binary_impl.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function square(args: NativeKernelArgs<SquareInputs, unknown>) {
  const { backend } = args;
  const x = args.inputs.x!;
  const n = size(x.shape);
  if (x.dtype !== 'float32' || n === 0) return cpuKernel(Square, args);
  count(Square);
  const out = backend.allocFloat32(n);
  const v = backend.f32(x);
  const one = Int32Array.from([1]);
  backend.addon.binaryStrided(BINARY_OP.mul, v, one, v, one, out, Int32Array.from([n]));
  return backend.makeNativeOutput(out, x.shape);
}

export const squareConfig = nativeKernel(Square, square);
