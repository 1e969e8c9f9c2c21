/**
 * GMRSteerableConv on the native backends: the steerable layer's GMR convolution reading only the non-zero blocks of
 * its mixing weights (native/steerable_ops.cc). Under a gradient tape the plan's ring sums are kept for the filter
 * gradient.
 */
import { STEERABLE_CONV, type SteerableConvAttrs } from '@gmr-conv/core/kernel';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { nativeKernel, type NativeKernelArgs } from './native_util.js';
import { steerGeometry, steerKey, steerTaps } from './steerable_conv_impl.js';

export function steerableConv({
  inputs,
  backend,
  attrs: a,
}: NativeKernelArgs<{ x: TensorInfo; weight: TensorInfo; indexMat: TensorInfo }, SteerableConvAttrs>) {
  const { x, weight, indexMat } = inputs;
  count(STEERABLE_CONV);
  const g = steerGeometry(a, x.shape, indexMat.shape[0]!);
  const rp = backend.allocFloat32(g.P * g.kt);
  const y = backend.allocFloat32(g.P * a.cout);
  const taps = steerTaps(backend, indexMat, a);
  backend.addon.steerableForward(backend.f32(x), taps, g.packed, g.plan, backend.f32(weight), a.cout, y, rp);
  if (backend.recordingGradients()) backend.keepRingSums(x.dataId, steerKey(g, indexMat), rp);
  else backend.freeScratch(rp);
  return backend.makeNativeOutput(y, [g.batch, g.outH, g.outW, a.cout]);
}

export const steerableConvConfig = nativeKernel(STEERABLE_CONV, steerableConv);
