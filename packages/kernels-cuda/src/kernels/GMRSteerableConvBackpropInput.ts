/** GMRSteerableConvBackpropInput on the native backends: dx through the plan's blocks of W (native/steerable_ops.cc). */
import { STEERABLE_CONV_BACKPROP_INPUT, type SteerableConvAttrs } from '@gmr-conv/core/kernel';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { nativeKernel, size, type NativeKernelArgs } from './native_util.js';
import { steerGeometry, steerTaps } from './steerable_conv_impl.js';

export function steerableConvBackpropInput({
  inputs,
  backend,
  attrs: a,
}: NativeKernelArgs<{ dy: TensorInfo; weight: TensorInfo; indexMat: TensorInfo }, SteerableConvAttrs>) {
  const { dy, weight, indexMat } = inputs;
  count(STEERABLE_CONV_BACKPROP_INPUT);
  const g = steerGeometry(a, a.inputShape, indexMat.shape[0]!);
  const dx = backend.allocFloat32(size(a.inputShape));
  const taps = steerTaps(backend, indexMat, a);
  backend.addon.steerableInputGrad(backend.f32(dy), taps, g.packed, g.plan, backend.f32(weight), a.cout, dx);
  return backend.makeNativeOutput(dx, [...a.inputShape]);
}

export const steerableConvBackpropInputConfig = nativeKernel(STEERABLE_CONV_BACKPROP_INPUT, steerableConvBackpropInput);
