/** GMRSteerableConv2D (core's steerable_op.ts) on the native backends: block ring sums, one SGEMM per non-zero block pair. */
import { GMR_STEERABLE_CONV_2D, type SteerableConvAttrs } from '@gmr-conv/core';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { nativeKernel, type NativeKernelArgs } from './native_util.js';
import { blockRingSums, linkWeights, steerablePlan } from './steerable_conv_impl.js';

export function gmrSteerableConv2D({ inputs, backend, attrs }: NativeKernelArgs<Pick<NamedTensorInfoMap, 'x' | 'weight' | 'masks'>, SteerableConvAttrs>) {
  count(GMR_STEERABLE_CONV_2D);
  const plan = steerablePlan(attrs, backend.f32(inputs.masks!));
  const w = backend.f32(inputs.weight!);
  const R = blockRingSums(backend, plan, backend.f32(inputs.x!), attrs.inBlocks);
  const y = backend.allocFloat32(plan.positions * plan.cout);
  // every output block has at least one link in a steerable layer; y starts as the first product of each (beta 0)
  const started = new Set<number>();
  for (const link of plan.links) {
    const [outSize, inSize] = [attrs.outBlocks[link.b]!, attrs.inBlocks[link.a]!];
    const k = link.count * inSize;
    const wba = linkWeights(w, plan, link, outSize, inSize);
    const beta = started.has(link.b) ? 1 : 0;
    started.add(link.b);
    backend.addon.sgemm(false, true, plan.positions, outSize, k, 1, R[link.a]!, link.row * inSize, plan.rows * inSize, wba, 0, k, beta, y, plan.outStart[link.b]!, plan.cout);
  }
  // an output block no link reaches is zero
  attrs.outBlocks.forEach((size, b) => {
    if (!started.has(b)) for (let p = 0; p < plan.positions; p++) y.fill(0, p * plan.cout + plan.outStart[b]!, p * plan.cout + plan.outStart[b]! + size);
  });
  R.forEach((r) => backend.freeScratch(r));
  return backend.makeNativeOutput(y, [plan.batch, plan.outH, plan.outW, plan.cout]);
}

export const gmrSteerableConv2DConfig = nativeKernel(GMR_STEERABLE_CONV_2D, gmrSteerableConv2D);
