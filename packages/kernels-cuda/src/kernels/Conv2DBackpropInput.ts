/**
 * Conv2DBackpropInput (a plain convolution's input gradient, NHWC): dy·Wᵀ as one SGEMM at 1×1 stride 1, else the
 * addon's gathered form (each input pixel sums the dy entries that read it; no col2im pass).
 */
import {
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
} from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { convGemmInfo, convGeom, isPointwise } from './conv_impl.js';
import { allF32, cpuKernel, nativeKernel, type NativeKernelArgs } from './native_util.js';

export function conv2DBackpropInput(args: NativeKernelArgs<Conv2DBackpropInputInputs, Conv2DBackpropInputAttrs>) {
  const { backend } = args;
  const { dy, filter } = args.inputs;
  const at = args.attrs;
  if (at.dataFormat === 'NCHW' || !allF32(dy, filter)) return cpuKernel(Conv2DBackpropInput, args);
  const { c, P, K } = convGemmInfo(at.inputShape, filter!.shape, at.strides, 1, at.pad, at.dimRoundingMode);
  count(Conv2DBackpropInput);
  const dx = backend.allocFloat32(c.batchSize * c.inHeight * c.inWidth * c.inChannels);
  const dyv = backend.f32(dy!),
    wv = backend.f32(filter!);
  if (isPointwise(c)) {
    backend.addon.sgemm(false, true, P, K, c.outChannels, 1, dyv, 0, c.outChannels, wv, 0, c.outChannels, 0, dx, 0, K);
  } else {
    backend.addon.convBackpropInput(dyv, wv, convGeom(c), c.outChannels, dx);
  }
  return backend.makeNativeOutput(dx, at.inputShape);
}

export const conv2DBackpropInputConfig = nativeKernel(Conv2DBackpropInput, conv2DBackpropInput);
