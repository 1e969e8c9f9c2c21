/**
 * NativeBatchNormGrad (this package's kernel, run by gradients/FusedBatchNorm_grad.ts): per-channel Σdy and
 * Σdy·(x − mean) in one pass, dx in a second, and dmean, dvariance, dscale, doffset from the sums.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { NativeBatchNormGrad, type NativeBatchNormGradAttrs, type NativeBatchNormGradInputs } from '../kernel_names.js';
import { nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function nativeBatchNormGrad(
  args: NativeKernelArgs<NativeBatchNormGradInputs, NativeBatchNormGradAttrs>,
): tf.TensorInfo[] {
  const { backend } = args;
  const { x, dy, mean, variance, scale } = args.inputs;
  count(NativeBatchNormGrad);
  const C = size(mean!.shape);
  const dx = backend.allocFloat32(size(x!.shape));
  const [dmean, dvar, dscale, doffset] = [0, 1, 2, 3].map(() => backend.allocFloat32(C)) as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const f = (t: tf.TensorInfo | undefined) => backend.f32(t!);
  backend.addon.batchNormGrad(
    f(x),
    f(dy),
    f(mean),
    f(variance),
    scale ? f(scale) : null,
    args.attrs.varianceEpsilon,
    dx,
    dmean,
    dvar,
    dscale,
    doffset,
  );
  return [
    backend.makeNativeOutput(dx, x!.shape),
    ...[dmean, dvar, dscale, doffset].map((v) => backend.makeNativeOutput(v, mean!.shape)),
  ];
}

export const nativeBatchNormGradConfig = nativeKernel(NativeBatchNormGrad, nativeBatchNormGrad);
