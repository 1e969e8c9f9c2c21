/** AvgPool (NHWC, float32) natively; the 1×1 identity pool and other dtypes use the cpu kernel. */
import * as tf from '@tensorflow/tfjs-core';
import { AvgPool, backend_util, type AvgPoolAttrs, type AvgPoolInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';
import { convGeom } from './conv_impl.js';

export function avgPool(args: NativeKernelArgs<AvgPoolInputs, AvgPoolAttrs>) {
  const { backend } = args;
  const x = args.inputs.x!;
  const at = args.attrs;
  if (x.dtype !== 'float32' || x.shape.length !== 4) return cpuKernel(AvgPool, args);
  const c = backend_util.computePool2DInfo(x.shape as never, at.filterSize, at.strides, 1, at.pad, at.dimRoundingMode);
  if (c.filterWidth === 1 && c.filterHeight === 1 && tf.util.arraysEqual(c.inShape, c.outShape))
    return cpuKernel(AvgPool, args);
  count(AvgPool);
  const out = backend.allocFloat32(size(c.outShape));
  backend.addon.avgPool(backend.f32(x), convGeom(c), out);
  return backend.makeNativeOutput(out, c.outShape);
}

export const avgPoolConfig = nativeKernel(AvgPool, avgPool);
