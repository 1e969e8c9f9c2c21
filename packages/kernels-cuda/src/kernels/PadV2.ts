/** PadV2 (constant padding; a slice's gradient): the output filled once, x copied in by block copies. */
import { PadV2, type PadV2Attrs, type PadV2Inputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { copyBox } from './copy_box_impl.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function padV2(args: NativeKernelArgs<PadV2Inputs, PadV2Attrs>) {
  const { backend } = args;
  const x = args.inputs.x!;
  const { paddings, constantValue } = args.attrs;
  if (x.dtype !== 'float32' || x.shape.length === 0) return cpuKernel(PadV2, args);
  count(PadV2);
  const outShape = x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]);
  const out = backend.allocFloat32(size(outShape));
  out.fill(constantValue);
  copyBox(
    backend.f32(x),
    x.shape,
    new Array(x.shape.length).fill(0),
    x.shape,
    out,
    outShape,
    paddings.map((p) => p[0]),
  );
  return backend.makeNativeOutput(out, outShape);
}

export const padV2Config = nativeKernel(PadV2, padV2);
