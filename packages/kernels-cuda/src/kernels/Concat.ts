/** Concat (float32, equal ranks): each input one block copy into the output (copy_box_impl.ts). */
import * as tf from '@tensorflow/tfjs-core';
import { Concat, type ConcatAttrs, type ConcatInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { copyBox } from './copy_box_impl.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function concat(args: NativeKernelArgs<ConcatInputs, ConcatAttrs>) {
  const { backend } = args;
  const ts = args.inputs;
  const { axis } = args.attrs;
  if (ts.length === 0 || ts.some((t) => t.dtype !== 'float32' || t.shape.length === 0)) return cpuKernel(Concat, args);
  const rank = ts[0]!.shape.length;
  const $axis = tf.util.parseAxisParam(axis, ts[0]!.shape)[0]!;
  if (ts.some((t) => t.shape.length !== rank || t.shape.some((d, i) => i !== $axis && d !== ts[0]!.shape[i])))
    return cpuKernel(Concat, args);
  count(Concat);
  const outShape = ts[0]!.shape.slice();
  outShape[$axis] = ts.reduce((n, t) => n + t.shape[$axis]!, 0);
  const out = backend.allocFloat32(size(outShape));
  const at = new Array<number>(rank).fill(0);
  for (const t of ts) {
    if (size(t.shape) > 0) copyBox(backend.f32(t), t.shape, new Array(rank).fill(0), t.shape, out, outShape, at);
    at[$axis] += t.shape[$axis]!;
  }
  return backend.makeNativeOutput(out, outShape);
}

export const concatConfig = nativeKernel(Concat, concat);
