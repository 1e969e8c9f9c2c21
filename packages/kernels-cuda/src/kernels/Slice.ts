/** Slice (float32) as block copies over merged contiguous runs (copy_box_impl.ts), with tfjs's begin/size rules. */
import * as tf from '@tensorflow/tfjs-core';
import { Slice, type SliceAttrs, type SliceInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { copyBox } from './copy_box_impl.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function slice(args: NativeKernelArgs<SliceInputs, SliceAttrs>) {
  const { backend } = args;
  const x = args.inputs.x!;
  const { begin, size: sz } = args.attrs;
  if (x.dtype !== 'float32' || x.shape.length === 0) return cpuKernel(Slice, args);
  // tfjs's own rules for begin/size (negative size = to the end), and its error for a box outside x.
  const [b, s] = tf.slice_util.parseSliceParams(x, begin, sz) as [number[], number[]];
  tf.slice_util.assertParamsValid(x, b, s);
  count(Slice);
  const out = backend.allocFloat32(size(s));
  copyBox(backend.f32(x), x.shape, b, s, out, s, new Array(s.length).fill(0));
  return backend.makeNativeOutput(out, s);
}

export const sliceConfig = nativeKernel(Slice, slice);
