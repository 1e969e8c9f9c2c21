/**
 * GMRFieldBatchNormGrad: dx, dγ [F] and dβ [n0] of GMRFieldBatchNorm in two native passes (native/field_ops.cc); with
 * activation 'relu' of the normalisation and its ReLU (dy masked by the forward's output, recomputed from x, γ and β).
 */
import { invalid } from '@gmr-conv/core';
import { FIELD_BATCH_NORM_GRAD, type FieldBatchNormAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { fieldSizes, reluFlag } from './GMRFieldBatchNorm.js';
import { allF32, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function fieldBatchNormGrad({
  inputs,
  backend,
  attrs,
}: NativeKernelArgs<Pick<NamedTensorInfoMap, 'x' | 'dy' | 'mean' | 'invStd' | 'gamma' | 'beta'>, FieldBatchNormAttrs>) {
  const { x, dy, mean, invStd, gamma, beta } = inputs;
  const relu = reluFlag(FIELD_BATCH_NORM_GRAD, attrs);
  const [n0, n1, n2] = attrs.fields;
  const { C, F } = fieldSizes(attrs.fields);
  if (
    !allF32(x, dy, mean, invStd, gamma) ||
    x!.shape[x!.shape.length - 1] !== C ||
    size(dy!.shape) !== size(x!.shape) ||
    size(mean!.shape) !== C ||
    size(invStd!.shape) !== C ||
    size(gamma!.shape) !== F ||
    (relu === 1 && (beta == null || beta.dtype !== 'float32' || size(beta.shape) !== n0))
  ) {
    invalid(
      FIELD_BATCH_NORM_GRAD,
      'inputs',
      `x [${x!.shape}], dy [${dy!.shape}], mean [${mean!.shape}], invStd [${invStd!.shape}], gamma [${gamma!.shape}], beta ${beta ? `[${beta.shape}]` : 'none'}`,
      `float32 x and dy [..., ${C}], mean and invStd [${C}], gamma [${F}] for fields [${attrs.fields}]${relu ? `, and beta [${n0}] with activation 'relu'` : ''}`,
    );
  }
  count(FIELD_BATCH_NORM_GRAD);
  const dx = backend.allocFloat32(size(x!.shape));
  const dgamma = backend.allocFloat32(F);
  const dbeta = n0 > 0 ? backend.allocFloat32(n0) : null;
  backend.addon.fieldBatchNormGrad(
    backend.f32(x!),
    backend.f32(dy!),
    n0,
    n1,
    n2,
    backend.f32(mean!),
    backend.f32(invStd!),
    backend.f32(gamma!),
    relu ? backend.f32(beta!) : null,
    relu,
    dx,
    dgamma,
    dbeta,
  );
  const out = [backend.makeNativeOutput(dx, x!.shape), backend.makeNativeOutput(dgamma, [F])];
  return dbeta ? [...out, backend.makeNativeOutput(dbeta, [n0])] : out;
}

export const fieldBatchNormGradConfig = nativeKernel(FIELD_BATCH_NORM_GRAD, fieldBatchNormGrad);
