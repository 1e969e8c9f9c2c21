/**
 * FusedBatchNorm over the last axis in one native pass; per-channel parameters of length C or 1 (broadcast here),
 * anything else with the cpu kernel. Its gradient is NativeBatchNormGrad (gradients/FusedBatchNorm_grad.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { FusedBatchNorm, type FusedBatchNormAttrs, type FusedBatchNormInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { allF32, cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function fusedBatchNorm(args: NativeKernelArgs<FusedBatchNormInputs, FusedBatchNormAttrs>) {
  const { backend } = args;
  const { x, mean, variance, offset, scale } = args.inputs;
  const { varianceEpsilon } = args.attrs;
  const C = x!.shape[x!.shape.length - 1] ?? 1;
  const params = [mean, variance, offset, scale].filter((t): t is tf.TensorInfo => t != null);
  if (
    !allF32(x, ...params) ||
    params.some((t) => size(t.shape) !== C && size(t.shape) !== 1) ||
    size(x!.shape) % C !== 0
  ) {
    return cpuKernel(FusedBatchNorm, args);
  }
  count(FusedBatchNorm);
  const full = (t: tf.TensorInfo | undefined): Float32Array | null => {
    if (!t) return null;
    const v = backend.f32(t);
    return v.length === C ? v : new Float32Array(C).fill(v[0]!);
  };
  const out = backend.allocFloat32(size(x!.shape));
  backend.addon.batchNorm(
    backend.f32(x!),
    full(mean)!,
    full(variance)!,
    full(offset),
    full(scale),
    varianceEpsilon ?? 0.001,
    out,
  );
  return backend.makeNativeOutput(out, x!.shape);
}

export const fusedBatchNormConfig = nativeKernel(FusedBatchNorm, fusedBatchNorm);
