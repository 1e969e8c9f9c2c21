/** GMRMixingWeights: Φ = θ·P (core's mixing_weights.ts) with P built in JS (n × n) and the product in the addon's sgemm. */
import { invalid } from '@gmr-conv/core';
import { GMR_MIXING_WEIGHTS, type MixingWeightsAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { gaussianMixing } from './mixing_weights_impl.js';
import { allF32, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function gmrMixingWeights({
  inputs,
  backend,
  attrs,
}: NativeKernelArgs<Pick<NamedTensorInfoMap, 'weight' | 'logSigmas'>, MixingWeightsAttrs>) {
  const { weight, logSigmas } = inputs;
  const n = size(logSigmas!.shape);
  if (!allF32(weight, logSigmas) || weight!.shape[weight!.shape.length - 1] !== n)
    invalid(
      GMR_MIXING_WEIGHTS,
      'inputs',
      `weight [${weight!.shape}], logSigmas [${logSigmas!.shape}]`,
      'float32 weight [..., n] and logSigmas [n]',
    );
  count(GMR_MIXING_WEIGHTS);
  const rows = size(weight!.shape) / n;
  const { p } = gaussianMixing(backend.f32(logSigmas!), attrs);
  const phi = backend.allocFloat32(rows * n);
  backend.addon.sgemm(false, false, rows, n, n, 1, backend.f32(weight!), 0, n, p, 0, n, 0, phi, 0, n);
  return backend.makeNativeOutput(phi, weight!.shape);
}

export const gmrMixingWeightsConfig = nativeKernel(GMR_MIXING_WEIGHTS, gmrMixingWeights);
