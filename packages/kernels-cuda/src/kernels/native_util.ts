/** What every native kernel shares: the kernel-function arguments and the cpu backend's kernel as the fallback. */
import * as tf from '@tensorflow/tfjs-core';
import { count } from '../counters.js';

export type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

export const size = (s: number[]) => s.reduce((p, q) => p * q, 1);

/** The cpu backend's kernel for `name` (the fallback of every native kernel), counted as `name:fallback`. */
export function cpuKernel(name: string, args: Args): tf.TensorInfo | tf.TensorInfo[] {
  count(`${name}:fallback`);
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`@gmr-conv/kernels-cuda: no cpu kernel ${name} to fall back to`);
  return k.kernelFunc(args as never);
}

/** A kernel config for `backendName`. */
export function kernelConfig(backendName: string, kernelName: string, f: (a: Args) => tf.TensorInfo | tf.TensorInfo[]): tf.KernelConfig {
  return { kernelName, backendName, kernelFunc: f as unknown as tf.KernelFunc };
}
