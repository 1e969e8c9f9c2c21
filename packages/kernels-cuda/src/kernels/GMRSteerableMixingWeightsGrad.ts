/**
 * GMRSteerableMixingWeightsGrad: dΦ gathered from dW (sign·dW summed per field pair and ring), then as
 * GMRMixingWeightsGrad: dθ = dΦ·Pᵀ and, from D = θᵀ·dΦ [n, n], d(log σ)_j = Σ_i D_ji·P_ji·((i − j)²/σ_j² − 1),
 * 0 where σ_j was clipped (both products in the addon's sgemm). Without log σ, dθ = dΦ and there is one output.
 */
import { STEERABLE_MIXING_WEIGHTS_GRAD, type SteerableMixingAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { nativeKernel, type NativeKernelArgs } from './native_util.js';
import { gaussianMixing, mixingGradients } from './mixing_weights_impl.js';
import { checkSteerableMixing, gatherMixing } from './steerable_mixing_impl.js';

export function steerableMixingWeightsGrad({
  inputs,
  backend,
  attrs,
}: NativeKernelArgs<Pick<NamedTensorInfoMap, 'weight' | 'logSigmas' | 'dW'>, SteerableMixingAttrs>) {
  const { weight, logSigmas, dW } = inputs;
  const s = checkSteerableMixing(STEERABLE_MIXING_WEIGHTS_GRAD, weight, logSigmas, dW, attrs);
  count(STEERABLE_MIXING_WEIGHTS_GRAD);
  const { n } = s;
  const rows = s.nOut * s.nIn;
  const dPhi = gatherMixing(backend.f32(dW!), s, attrs);
  const dTheta = backend.allocFloat32(rows * n);
  if (!logSigmas) {
    dTheta.set(dPhi);
    return [backend.makeNativeOutput(dTheta, weight!.shape)];
  }
  const mixing = gaussianMixing(backend.f32(logSigmas), attrs);
  const dLogSigmas = mixingGradients(backend, backend.f32(weight!), dPhi, rows, mixing, dTheta);
  return [backend.makeNativeOutput(dTheta, weight!.shape), backend.makeNativeOutput(dLogSigmas, [n])];
}

export const steerableMixingWeightsGradConfig = nativeKernel(STEERABLE_MIXING_WEIGHTS_GRAD, steerableMixingWeightsGrad);
