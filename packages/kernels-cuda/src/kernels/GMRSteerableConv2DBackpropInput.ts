/** GMRSteerableConv2DBackpropInput on the native backends: D_a = Σ_links dy_b·W_ba per input block, dx_a = ringScatter(D_a). */
import { GMR_STEERABLE_CONV_2D_BACKPROP_INPUT, type SteerableConvAttrs } from '@gmr-conv/core';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { nativeKernel, type NativeKernelArgs } from './native_util.js';
import { linkWeights, putBlock, steerablePlan } from './steerable_conv_impl.js';

export function gmrSteerableConv2DBackpropInput({ inputs, backend, attrs }: NativeKernelArgs<Pick<NamedTensorInfoMap, 'dy' | 'weight' | 'masks'>, SteerableConvAttrs>) {
  count(GMR_STEERABLE_CONV_2D_BACKPROP_INPUT);
  const plan = steerablePlan(attrs, backend.f32(inputs.masks!));
  const w = backend.f32(inputs.weight!);
  const dy = backend.f32(inputs.dy!);
  const single = attrs.inBlocks.length === 1;
  const dx = backend.allocFloat32(plan.batch * plan.inH * plan.inW * plan.cin);
  attrs.inBlocks.forEach((inSize, a) => {
    const d = backend.allocFloat32(plan.positions * plan.rows * inSize);
    d.fill(0); // rows no link of this block reads stay zero
    for (const link of plan.links) {
      if (link.a !== a) continue;
      const outSize = attrs.outBlocks[link.b]!;
      const k = link.count * inSize;
      const wba = linkWeights(w, plan, link, outSize, inSize);
      backend.addon.sgemm(false, false, plan.positions, k, outSize, 1, dy, plan.outStart[link.b]!, plan.cout, wba, 0, k, 1, d, link.row * inSize, plan.rows * inSize);
    }
    const dxa = single ? dx : backend.allocFloat32(plan.batch * plan.inH * plan.inW * inSize);
    backend.addon.ringScatter(d, plan.taps, plan.geom[a]!, dxa);
    backend.freeScratch(d);
    if (dxa !== dx) {
      putBlock(dxa, inSize, dx, plan.cin, plan.inStart[a]!);
      backend.freeScratch(dxa);
    }
  });
  return backend.makeNativeOutput(dx, attrs.inputShape);
}

export const gmrSteerableConv2DBackpropInputConfig = nativeKernel(GMR_STEERABLE_CONV_2D_BACKPROP_INPUT, gmrSteerableConv2DBackpropInput);
