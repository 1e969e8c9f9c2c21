/**
 * GMRMixingWeightsGrad: dθ = dΦ·Pᵀ and d(log σ) from D = θᵀ·dΦ [n, n] (both products in the addon's sgemm):
 * d(log σ)_j = Σ_i D_ji·P_ji·((i − j)²/σ_j² − 1) (∂P_ji/∂σ_j times σ_j = ∂σ_j/∂log σ_j), 0 where σ_j was clipped.
 */
import { invalid } from '@gmr-conv/core';
import { GMR_MIXING_WEIGHTS_GRAD, type MixingWeightsAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { gaussianMixing } from './mixing_weights_impl.js';
import { allF32, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function gmrMixingWeightsGrad({
  inputs,
  backend,
  attrs,
}: NativeKernelArgs<Pick<NamedTensorInfoMap, 'weight' | 'logSigmas' | 'dPhi'>, MixingWeightsAttrs>) {
  const { weight, logSigmas, dPhi } = inputs;
  const n = size(logSigmas!.shape);
  if (
    !allF32(weight, logSigmas, dPhi) ||
    weight!.shape[weight!.shape.length - 1] !== n ||
    size(dPhi!.shape) !== size(weight!.shape)
  ) {
    invalid(
      GMR_MIXING_WEIGHTS_GRAD,
      'inputs',
      `weight [${weight!.shape}], logSigmas [${logSigmas!.shape}], dPhi [${dPhi!.shape}]`,
      'float32 weight [..., n], logSigmas [n] and dPhi of weight’s shape',
    );
  }
  count(GMR_MIXING_WEIGHTS_GRAD);
  const rows = size(weight!.shape) / n;
  const { p, sigmas, inside } = gaussianMixing(backend.f32(logSigmas!), attrs);
  const theta = backend.f32(weight!),
    d = backend.f32(dPhi!);
  const dTheta = backend.allocFloat32(rows * n);
  backend.addon.sgemm(false, true, rows, n, n, 1, d, 0, n, p, 0, n, 0, dTheta, 0, n);
  const dP = new Float32Array(n * n);
  backend.addon.sgemm(true, false, n, n, rows, 1, theta, 0, n, d, 0, n, 0, dP, 0, n);
  const dLogSigmas = backend.allocFloat32(n).fill(0); // a reused buffer: clipped σ get 0
  for (let j = 0; j < n; j++) {
    if (!inside[j]) continue;
    let acc = 0;
    const s2 = sigmas[j]! * sigmas[j]!;
    for (let i = 0; i < n; i++) acc += dP[j * n + i]! * p[j * n + i]! * (((i - j) * (i - j)) / s2 - 1);
    dLogSigmas[j] = acc;
  }
  return [backend.makeNativeOutput(dTheta, weight!.shape), backend.makeNativeOutput(dLogSigmas, [n])];
}

export const gmrMixingWeightsGradConfig = nativeKernel(GMR_MIXING_WEIGHTS_GRAD, gmrMixingWeightsGrad);
