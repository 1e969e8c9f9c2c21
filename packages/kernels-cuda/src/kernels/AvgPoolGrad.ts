/** AvgPoolGrad: dy spread back evenly over each window, natively (NHWC, float32). */
import { AvgPoolGrad, backend_util, type AvgPoolGradAttrs, type AvgPoolGradInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';
import { convGeom } from './conv_impl.js';

export function avgPoolGrad(args: NativeKernelArgs<AvgPoolGradInputs, AvgPoolGradAttrs>) {
  const { backend } = args;
  const dy = args.inputs.dy!;
  const input = args.inputs.input!;
  const at = args.attrs;
  if (dy.dtype !== 'float32' || input.shape.length !== 4) return cpuKernel(AvgPoolGrad, args);
  const c = backend_util.computePool2DInfo(input.shape as never, at.filterSize, at.strides, 1, at.pad);
  count(AvgPoolGrad);
  const dx = backend.allocFloat32(size(input.shape));
  backend.addon.avgPoolGrad(backend.f32(dy), convGeom(c), dx);
  return backend.makeNativeOutput(dx, input.shape);
}

export const avgPoolGradConfig = nativeKernel(AvgPoolGrad, avgPoolGrad);
