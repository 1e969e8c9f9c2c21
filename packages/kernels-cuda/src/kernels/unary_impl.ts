/**
 * Element-wise float32 kernels written as a JS loop over native memory (other dtypes go to the cpu kernel): for ops
 * the addon has no loop for, this still beats the cpu kernel, whose per-value overhead (~30 ns for Sigmoid) the
 * gated steerable layers and the harmonic magnitudes paid on every activation.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { UnaryInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { cpuKernel, type NativeKernelArgs, type NativeKernelFunc } from './native_util.js';

/** The kernel function of the tfjs kernel `name` computing f on every value. */
export function unaryKernelFunc(name: string, f: (v: number) => number): NativeKernelFunc<UnaryInputs, unknown> {
  return (args: NativeKernelArgs<UnaryInputs, unknown>): tf.TensorInfo | tf.TensorInfo[] => {
    const { backend } = args;
    const x = args.inputs.x!;
    if (x.dtype !== 'float32') return cpuKernel(name, args);
    count(name);
    const v = backend.f32(x);
    const out = backend.allocFloat32(v.length);
    for (let i = 0; i < v.length; i++) out[i] = f(v[i]!);
    return backend.makeNativeOutput(out, x.shape);
  };
}
