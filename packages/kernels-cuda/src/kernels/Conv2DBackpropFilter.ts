/**
 * Conv2DBackpropFilter (a plain convolution's filter gradient, NHWC): xᵀ·dy as one SGEMM at 1×1 stride 1, else
 * dWᵀ = dyᵀ·col per block of output positions in the addon, partial sums added in order (deterministic).
 */
import {
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
} from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { convGemmInfo, convGeom, isPointwise } from './conv_impl.js';
import { allF32, cpuKernel, nativeKernel, type NativeKernelArgs } from './native_util.js';

export function conv2DBackpropFilter(args: NativeKernelArgs<Conv2DBackpropFilterInputs, Conv2DBackpropFilterAttrs>) {
  const { backend } = args;
  const { x, dy } = args.inputs;
  const at = args.attrs;
  if (at.dataFormat === 'NCHW' || !allF32(x, dy)) return cpuKernel(Conv2DBackpropFilter, args);
  const { c, P, K } = convGemmInfo(x!.shape, at.filterShape, at.strides, 1, at.pad, at.dimRoundingMode);
  count(Conv2DBackpropFilter);
  const dw = backend.allocFloat32(K * c.outChannels);
  const xv = backend.f32(x!),
    dyv = backend.f32(dy!);
  if (isPointwise(c)) {
    backend.addon.sgemm(true, false, K, c.outChannels, P, 1, xv, 0, K, dyv, 0, c.outChannels, 0, dw, 0, c.outChannels);
  } else {
    backend.addon.convBackpropFilter(xv, dyv, convGeom(c), c.outChannels, dw);
  }
  return backend.makeNativeOutput(dw, at.filterShape);
}

export const conv2DBackpropFilterConfig = nativeKernel(Conv2DBackpropFilter, conv2DBackpropFilter);
