/**
 * GMRSteerableConvBackpropFilter on the native backends: dW [Cout, Cin, rows] over the plan's blocks (zero elsewhere),
 * from the ring sums the forward kept under the tape, recomputed from x otherwise (native/steerable_ops.cc).
 */
import { STEERABLE_CONV_BACKPROP_FILTER, type SteerableConvAttrs } from '@gmr-conv/core/kernel';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { nativeKernel, type NativeKernelArgs } from './native_util.js';
import { steerGeometry, steerKey, steerTaps } from './steerable_conv_impl.js';

/** Counter of filter gradients that found the forward's ring sums (tests read it through kernelCallCounts()). */
export const STEERABLE_RING_SUMS_REUSED = 'GMRSteerableConv:ringSumsReused';

export function steerableConvBackpropFilter({
  inputs,
  backend,
  attrs: a,
}: NativeKernelArgs<{ x: TensorInfo; dy: TensorInfo; indexMat: TensorInfo }, SteerableConvAttrs>) {
  const { x, dy, indexMat } = inputs;
  count(STEERABLE_CONV_BACKPROP_FILTER);
  const rows = indexMat.shape[0]!;
  const g = steerGeometry(a, x.shape, rows);
  const rp = backend.takeRingSums(x.dataId, steerKey(g, indexMat));
  if (rp) count(STEERABLE_RING_SUMS_REUSED);
  const dW = backend.allocFloat32(a.cout * g.cin * rows);
  const taps = steerTaps(backend, indexMat, a);
  backend.addon.steerableFilterGrad(
    rp ? null : backend.f32(x),
    rp,
    backend.f32(dy),
    taps,
    g.packed,
    g.plan,
    a.cout,
    dW,
  );
  if (rp) backend.freeScratch(rp);
  return backend.makeNativeOutput(dW, [a.cout, g.cin, rows]);
}

export const steerableConvBackpropFilterConfig = nativeKernel(
  STEERABLE_CONV_BACKPROP_FILTER,
  steerableConvBackpropFilter,
);
