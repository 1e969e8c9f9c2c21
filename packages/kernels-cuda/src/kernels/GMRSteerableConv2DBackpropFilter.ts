/** GMRSteerableConv2DBackpropFilter on the native backends: dW_ba = dy_bᵀ·R_a over each link's rows, zero elsewhere. */
import { GMR_STEERABLE_CONV_2D_BACKPROP_FILTER, type SteerableConvAttrs } from '@gmr-conv/core';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { nativeKernel, type NativeKernelArgs } from './native_util.js';
import { blockRingSums, putLinkWeights, steerablePlan } from './steerable_conv_impl.js';

export function gmrSteerableConv2DBackpropFilter({ inputs, backend, attrs }: NativeKernelArgs<Pick<NamedTensorInfoMap, 'x' | 'dy' | 'masks'>, SteerableConvAttrs>) {
  count(GMR_STEERABLE_CONV_2D_BACKPROP_FILTER);
  const plan = steerablePlan(attrs, backend.f32(inputs.masks!));
  const dy = backend.f32(inputs.dy!);
  const R = blockRingSums(backend, plan, backend.f32(inputs.x!), attrs.inBlocks);
  const dw = backend.allocFloat32(plan.cout * plan.cin * plan.rows);
  dw.fill(0);
  for (const link of plan.links) {
    const [outSize, inSize] = [attrs.outBlocks[link.b]!, attrs.inBlocks[link.a]!];
    const k = link.count * inSize;
    const d = new Float32Array(outSize * k);
    backend.addon.sgemm(true, false, outSize, k, plan.positions, 1, dy, plan.outStart[link.b]!, plan.cout, R[link.a]!, link.row * inSize, plan.rows * inSize, 0, d, 0, k);
    putLinkWeights(d, plan, link, outSize, inSize, dw);
  }
  R.forEach((r) => backend.freeScratch(r));
  return backend.makeNativeOutput(dw, [plan.cout, plan.cin, plan.rows]);
}

export const gmrSteerableConv2DBackpropFilterConfig = nativeKernel(GMR_STEERABLE_CONV_2D_BACKPROP_FILTER, gmrSteerableConv2DBackpropFilter);
