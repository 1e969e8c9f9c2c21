/**
 * GatherV2 along one axis (batchDims 0) for float32 x: a copy loop over [outer, indices, inner] blocks. The cpu
 * kernel reads and writes element by element through TensorBuffer index arithmetic; the rotation protocol's
 * bilinear resampling (core's rotateBatch gathers 4 source pixels per output pixel) spent half of `gmr eval
 * --rotations` there. An index out of range, batchDims > 0 or another dtype run the cpu kernel (and its error).
 */
import * as tf from '@tensorflow/tfjs-core';
import { GatherV2, type GatherV2Attrs, type GatherV2Inputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function gatherV2(args: NativeKernelArgs<GatherV2Inputs, GatherV2Attrs>) {
  const { backend } = args;
  const { x, indices } = args.inputs;
  if (
    x!.dtype !== 'float32' ||
    indices!.dtype !== 'int32' ||
    (args.attrs.batchDims ?? 0) !== 0 ||
    x!.shape.length === 0
  )
    return cpuKernel(GatherV2, args);
  const axis = tf.util.parseAxisParam(args.attrs.axis, x!.shape)[0]!;
  const shape = x!.shape;
  const outer = size(shape.slice(0, axis));
  const extent = shape[axis]!;
  const inner = size(shape.slice(axis + 1));
  const idx = backend.i32(indices!);
  for (let j = 0; j < idx.length; j++) if (idx[j]! < 0 || idx[j]! >= extent) return cpuKernel(GatherV2, args);
  count(GatherV2);
  const src = backend.f32(x!);
  const out = backend.allocFloat32(outer * idx.length * inner);
  for (let o = 0; o < outer; o++) {
    const from = o * extent * inner;
    const to = o * idx.length * inner;
    if (inner === 1) for (let j = 0; j < idx.length; j++) out[to + j] = src[from + idx[j]!]!;
    else
      for (let j = 0; j < idx.length; j++) {
        const s = from + idx[j]! * inner;
        out.set(src.subarray(s, s + inner), to + j * inner);
      }
  }
  return backend.makeNativeOutput(out, [...shape.slice(0, axis), ...indices!.shape, ...shape.slice(axis + 1)]);
}

export const gatherV2Config = nativeKernel(GatherV2, gatherV2);
