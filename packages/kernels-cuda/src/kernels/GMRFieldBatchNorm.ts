/**
 * GMRFieldBatchNorm: core's FieldBatchNorm in training in two native passes (native/field_ops.cc): per-channel sums,
 * then y = (x − mean)·invStd·γ + β (with activation 'relu' or 'gate' that activation of it); also the batch statistics (mean [C], stats [F]) and invStd [C] for the gradient
 * (GMRFieldBatchNormGrad, which core's fusedFieldBatchNorm calls).
 */
import { invalid } from '@gmr-conv/core';
import { FIELD_BATCH_NORM, type FieldBatchNormAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { allF32, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

/** Channels C = n0 + 2·(n1 + n2) and fields F = n0 + n1 + n2 of a layout. */
export const fieldSizes = ([n0, n1, n2]: FieldBatchNormAttrs['fields']) => ({ C: n0 + 2 * (n1 + n2), F: n0 + n1 + n2 });

/**
 * The attrs' activation as the addon's code (0 linear, 1 ReLU, 2 gate) and the channels of the output (C, or C − K
 * with the gate); an activation other than these, a ReLU on fields of order m or a gate without its K = n1 + n2 gates
 * among the order-0 channels is refused.
 */
export function activationOf(kernel: string, attrs: FieldBatchNormAttrs): { act: 0 | 1 | 2; outChannels: number } {
  const [n0, n1, n2] = attrs.fields;
  const { C } = fieldSizes(attrs.fields);
  const act = attrs.activation ?? 'linear';
  if (act !== 'linear' && act !== 'relu' && act !== 'gate')
    invalid(kernel, 'activation', act, "'linear', 'relu' or 'gate'");
  if (act === 'relu' && n1 + n2 > 0)
    invalid(
      kernel,
      'activation',
      act,
      `'linear' or 'gate' for fields [${attrs.fields}] (a ReLU takes order-0 fields only)`,
    );
  if (act === 'gate' && n0 < n1 + n2)
    invalid(
      kernel,
      'activation',
      act,
      `'linear' for fields [${attrs.fields}] (a gate needs n1 + n2 = ${n1 + n2} gates among the n0 order-0 channels)`,
    );
  return act === 'gate' ? { act: 2, outChannels: C - n1 - n2 } : { act: act === 'relu' ? 1 : 0, outChannels: C };
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
  const { act, outChannels } = activationOf(FIELD_BATCH_NORM, attrs);
  count(FIELD_BATCH_NORM);
  const yShape = [...x!.shape.slice(0, -1), outChannels];
  const y = backend.allocFloat32(size(yShape));
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
    act,
    y,
    mean,
    stats,
    invStd,
  );
  return [
    backend.makeNativeOutput(y, yShape),
    backend.makeNativeOutput(mean, [C]),
    backend.makeNativeOutput(stats, [F]),
    backend.makeNativeOutput(invStd, [C]),
  ];
}

export const fieldBatchNormConfig = nativeKernel(FIELD_BATCH_NORM, fieldBatchNorm);
