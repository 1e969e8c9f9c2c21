/**
 * Sum and Mean over a contiguous run of axes: x viewed as [outer, red, inner] and reduced over the middle axis in
 * one native pass (double accumulation); other axis sets, empty reductions and other dtypes use the cpu kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SumAttrs, SumInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { cpuKernel, size, type NativeKernelArgs, type NativeKernelFunc } from './native_util.js';

/** The kernel function of `name`, summing (mean false) or averaging (mean true). */
export function reduceKernelFunc(name: string, mean: boolean): NativeKernelFunc<SumInputs, SumAttrs> {
  return (args: NativeKernelArgs<SumInputs, SumAttrs>): tf.TensorInfo | tf.TensorInfo[] => {
    const { backend } = args;
    const x = args.inputs.x!;
    const { axis, keepDims } = args.attrs;
    if (x.dtype !== 'float32') return cpuKernel(name, args);
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    if (axes.length === 0 || axes.some((v, i) => i > 0 && v !== axes[i - 1]! + 1)) return cpuKernel(name, args);
    const first = axes[0]!,
      last = axes[axes.length - 1]!;
    const outer = size(x.shape.slice(0, first)),
      red = size(x.shape.slice(first, last + 1)),
      inner = size(x.shape.slice(last + 1));
    if (red === 0) return cpuKernel(name, args);
    count(name);
    const out = backend.allocFloat32(outer * inner);
    backend.addon.reduce(backend.f32(x), outer, red, inner, out, mean);
    const shape = keepDims
      ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d))
      : x.shape.filter((_, i) => i < first || i > last);
    return backend.makeNativeOutput(out, shape);
  };
}
