/** SplitV (a channel concat's gradient): each part one block copy of x (copy_box_impl.ts). */
import * as tf from '@tensorflow/tfjs-core';
import { SplitV, type SplitVAttrs, type SplitVInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { copyBox } from './copy_box_impl.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function splitV(args: NativeKernelArgs<SplitVInputs, SplitVAttrs>) {
  const { backend } = args;
  const x = args.inputs.x!;
  const { numOrSizeSplits, axis } = args.attrs;
  if (x.dtype !== 'float32' || x.shape.length === 0) return cpuKernel(SplitV, args);
  count(SplitV);
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, $axis);
  const src = backend.f32(x);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const box = x.shape.slice();
    box[$axis] = n;
    const out = backend.allocFloat32(size(box));
    copyBox(src, x.shape, begin, box, out, box, new Array(box.length).fill(0));
    begin[$axis] += n;
    return backend.makeNativeOutput(out, box);
  });
}

export const splitVConfig = nativeKernel(SplitV, splitV);
