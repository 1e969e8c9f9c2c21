/**
 * DepthwiseConv2dNative (NHWC, float32) natively (native/depthwise_ops.cc); NCHW and other dtypes use the cpu kernel,
 * and so do its gradients (a fixed blur in front of a network needs none).
 */
import {
  DepthwiseConv2dNative,
  backend_util,
  type DepthwiseConv2dNativeAttrs,
  type DepthwiseConv2dNativeInputs,
} from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { convGeom } from './conv_impl.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function depthwiseConv2dNative(args: NativeKernelArgs<DepthwiseConv2dNativeInputs, DepthwiseConv2dNativeAttrs>) {
  const { backend } = args;
  const x = args.inputs.x!;
  const filter = args.inputs.filter!;
  const at = args.attrs;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || at.dataFormat === 'NCHW')
    return cpuKernel(DepthwiseConv2dNative, args);
  const dilations = at.dilations ?? 1;
  const c = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    at.strides,
    dilations,
    at.pad,
    at.dimRoundingMode,
    true,
  );
  count(DepthwiseConv2dNative);
  const mult = c.outChannels / c.inChannels;
  const out = backend.allocFloat32(size(c.outShape));
  backend.addon.depthwiseConv(backend.f32(x), backend.f32(filter), convGeom(c), mult, out);
  return backend.makeNativeOutput(out, c.outShape);
}

export const depthwiseConv2dNativeConfig = nativeKernel(DepthwiseConv2dNative, depthwiseConv2dNative);
