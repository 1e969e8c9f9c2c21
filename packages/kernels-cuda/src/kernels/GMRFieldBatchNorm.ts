/**
 * GMRFieldBatchNorm: core's FieldBatchNorm in training in two native passes (native/field_ops.cc): per-channel sums,
 * then y = (x − mean)·invStd·γ + β (relu of it with activation 'relu'); also the batch statistics (mean [C], stats [F]) and invStd [C] for the gradient
 * (GMRFieldBatchNormGrad, which core's fusedFieldBatchNorm calls).
 */
import { invalid } from '@gmr-conv/core';
import { FIELD_BATCH_NORM, type FieldBatchNormAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { allF32, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

/** Channels C = n0 + 2·(n1 + n2) and fields F = n0 + n1 + n2 of a layout. */
export const fieldSizes = ([n0, n1, n2]: FieldBatchNormAttrs['fields']) => ({ C: n0 + 2 * (n1 + n2), F: n0 + n1 + n2 });

/** The attrs' activation as the addon's flag (1: ReLU); anything but 'linear', 'relu' or absent, or a ReLU on fields of order m, is refused. */
export function reluFlag(kernel: string, attrs: FieldBatchNormAttrs): 0 | 1 {
  const act = attrs.activation ?? 'linear';
  if (act !== 'linear' && act !== 'relu') invalid(kernel, 'activation', act, "'linear' or 'relu'");
  if (act === 'relu' && attrs.fields[1] + attrs.fields[2] > 0)
    invalid(kernel, 'activation', act, `'linear' for fields [${attrs.fields}] (a ReLU takes order-0 fields only)`);
  return act === 'relu' ? 1 : 0;
}

export function fieldBatchNorm({
  inputs,
  backend,
  attrs,
}: NativeKernelArgs<Pick<NamedTensorInfoMap, 'x' | 'gamma' | 'beta'>, FieldBatchNormAttrs>) {
  const { x, gamma, beta } = inputs;
  const [n0, n1, n2] = attrs.fields;
  const { C, F } = fieldSizes(attrs.fields);
  if (
    !allF32(x, gamma, beta) ||
    x!.shape[x!.shape.length - 1] !== C ||
    size(gamma!.shape) !== F ||
    n0 > 0 !== (beta != null) ||
    (beta != null && size(beta.shape) !== n0)
  ) {
    invalid(
      FIELD_BATCH_NORM,
      'inputs',
      `x [${x!.shape}], gamma [${gamma!.shape}], beta ${beta ? `[${beta.shape}]` : 'none'}`,
      `float32 x [..., ${C}], gamma [${F}] and beta [${n0}] (none when n0 = 0) for fields [${attrs.fields}]`,
    );
  }
  const relu = reluFlag(FIELD_BATCH_NORM, attrs);
  count(FIELD_BATCH_NORM);
  const y = backend.allocFloat32(size(x!.shape));
  const [mean, stats, invStd] = [C, F, C].map((n) => backend.allocFloat32(n)) as [
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  backend.addon.fieldBatchNorm(
    backend.f32(x!),
    n0,
    n1,
    n2,
    backend.f32(gamma!),
    beta ? backend.f32(beta) : null,
    attrs.epsilon,
    relu,
    y,
    mean,
    stats,
    invStd,
  );
  return [
    backend.makeNativeOutput(y, x!.shape),
    backend.makeNativeOutput(mean, [C]),
    backend.makeNativeOutput(stats, [F]),
    backend.makeNativeOutput(invStd, [C]),
  ];
}

export const fieldBatchNormConfig = nativeKernel(FIELD_BATCH_NORM, fieldBatchNorm);
