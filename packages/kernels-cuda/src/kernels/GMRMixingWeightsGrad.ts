/** GMRMixingWeightsGrad: dθ = dΦ·Pᵀ and d(log σ), 0 where σ was clipped (mixing_weights_impl.ts's mixingGradients). */
import { invalid } from '@gmr-conv/core';
import { GMR_MIXING_WEIGHTS_GRAD, type MixingWeightsAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { gaussianMixing, mixingGradients } from './mixing_weights_impl.js';
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
  const dTheta = backend.allocFloat32(rows * n);
  const mixing = gaussianMixing(backend.f32(logSigmas!), attrs);
  const dLogSigmas = mixingGradients(backend, backend.f32(weight!), backend.f32(dPhi!), rows, mixing, dTheta);
  return [backend.makeNativeOutput(dTheta, weight!.shape), backend.makeNativeOutput(dLogSigmas, [n])];
}

export const gmrMixingWeightsGradConfig = nativeKernel(GMR_MIXING_WEIGHTS_GRAD, gmrMixingWeightsGrad);
