/**
 * GMRSteerableMixingWeights: the steerable layer's op weights W [Cout, Cin, rows] from θ and log σ in one call
 * (core's steerable_basis.ts mixingWeights; Φ = θ·P in the addon's sgemm, its placement in JS).
 */
import { STEERABLE_MIXING_WEIGHTS, type SteerableMixingAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { nativeKernel, type NativeKernelArgs } from './native_util.js';
import { checkSteerableMixing, phiOf, placeMixing } from './steerable_mixing_impl.js';

export function steerableMixingWeights({
  inputs,
  backend,
  attrs,
}: NativeKernelArgs<Pick<NamedTensorInfoMap, 'weight' | 'logSigmas'>, SteerableMixingAttrs>) {
  const { weight, logSigmas } = inputs;
  const s = checkSteerableMixing(STEERABLE_MIXING_WEIGHTS, weight, logSigmas, null, attrs);
  count(STEERABLE_MIXING_WEIGHTS);
  const { phi } = phiOf(backend, weight!, logSigmas, s, attrs);
  const out = backend.allocFloat32(attrs.cout * attrs.cin * attrs.rows);
  placeMixing(phi, out, s, attrs);
  return backend.makeNativeOutput(out, [attrs.cout, attrs.cin, attrs.rows]);
}

export const steerableMixingWeightsConfig = nativeKernel(STEERABLE_MIXING_WEIGHTS, steerableMixingWeights);
