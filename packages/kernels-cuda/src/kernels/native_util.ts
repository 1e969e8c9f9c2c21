/**
 * What every native kernel file shares: the typed kernel-function arguments, the config helper, and the cpu
 * backend's kernel as the fallback for calls a native kernel does not cover (another dtype, layout or activation).
 */
import * as tf from '@tensorflow/tfjs-core';
import { invalid } from '@gmr-conv/core';
import type { NativeBackend } from '../backend.js';
import { count } from '../counters.js';

/** A kernel function's arguments with tfjs-core's input and attribute types of its kernel (e.g. AddInputs). */
export interface NativeKernelArgs<I = tf.NamedTensorInfoMap, A = tf.NamedAttrMap> {
  inputs: I;
  backend: NativeBackend;
  attrs: A;
}

export type NativeKernelFunc<I, A> = (args: NativeKernelArgs<I, A>) => tf.TensorInfo | tf.TensorInfo[];

/**
 * A kernel of the native backends without its backend name: index.ts registers each one for 'native' and 'cuda'
 * (the kernel reads the addon from its backend argument, so one function serves both builds).
 */
export type NativeKernelConfig = Omit<tf.KernelConfig, 'backendName'>;

export function nativeKernel<I, A>(kernelName: string, kernelFunc: NativeKernelFunc<I, A>): NativeKernelConfig {
  return { kernelName, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

export const size = (s: number[]) => s.reduce((p, q) => p * q, 1);

/** True when every given tensor is float32 (absent optional inputs count as float32): what the addon computes in. */
export const allF32 = (...ts: (tf.TensorInfo | undefined | null)[]) =>
  ts.every((t) => t == null || t.dtype === 'float32');

/** The cpu backend's kernel for `name` (the fallback of every native kernel), counted as `name:fallback`. */
export function cpuKernel(name: string, args: NativeKernelArgs<unknown, unknown>): tf.TensorInfo | tf.TensorInfo[] {
  count(`${name}:fallback`);
  const k = tf.getKernel(name, 'cpu');
  if (!k)
    invalid('@gmr-conv/kernels-cuda fallback', 'kernelName', name, 'a kernel that the tfjs cpu backend registers');
  return k.kernelFunc(args as never);
}
