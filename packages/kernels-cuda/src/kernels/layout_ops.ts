/**
 * Slice, Pad (PadV2), SplitV and Concat as block copies (and Sqrt, a harmonic layer's magnitude; Sigmoid, a gated
 * steerable layer's gates). The cpu backend slices anything but a leading-axis slice element
 * by element through TensorBuffer index arithmetic (about 1.4 µs per value: 220 ms to take 24 channels of a
 * 32×14×14×72 batch); the gradient of a channel concat is such a slice, and the gradient of a slice is a Pad. Here
 * the trailing axes a box covers whole are merged into one contiguous run, and each run is one typed-array copy.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../backend.js';
import { count } from '../counters.js';
import { cpuKernel, kernelConfig, size, type Args } from './fallback.js';


/**
 * Copies the box `box` (extent per axis) starting at `from` in src (shape `srcShape`) to the position `to` of
 * dst (shape `dstShape`). Both arrays are row-major; the ranks are equal.
 */
export function copyBox(src: Float32Array, srcShape: number[], from: number[], box: number[], dst: Float32Array, dstShape: number[], to: number[]): void {
  const rank = srcShape.length;
  if (rank === 0 || size(box) === 0) {
    if (rank === 0) dst[0] = src[0]!;
    return;
  }
  // Merge trailing axes that the box spans whole in both arrays into the run length.
  let axis = rank - 1;
  let run = box[axis]!;
  while (axis > 0 && box[axis] === srcShape[axis] && box[axis] === dstShape[axis]) {
    axis--;
    run *= box[axis]!;
  }
  const srcStride = new Array<number>(rank);
  const dstStride = new Array<number>(rank);
  srcStride[rank - 1] = 1;
  dstStride[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    srcStride[d] = srcStride[d + 1]! * srcShape[d + 1]!;
    dstStride[d] = dstStride[d + 1]! * dstShape[d + 1]!;
  }
  let s0 = 0;
  let d0 = 0;
  for (let d = 0; d < rank; d++) {
    s0 += from[d]! * srcStride[d]!;
    d0 += to[d]! * dstStride[d]!;
  }
  // Odometer over the axes before `axis` (and `axis` itself, whose run is `box[axis]·…` merged above).
  const outer = box.slice(0, axis);
  const idx = new Array<number>(axis).fill(0);
  const total = size(outer);
  let s = s0;
  let t = d0;
  // Short runs (a few channels) copy faster element by element than through a subarray view each.
  const short = run < 32;
  for (let i = 0; i < total; i++) {
    if (short) for (let j = 0; j < run; j++) dst[t + j] = src[s + j]!;
    else dst.set(src.subarray(s, s + run), t);
    for (let d = axis - 1; d >= 0; d--) {
      idx[d]++;
      s += srcStride[d]!;
      t += dstStride[d]!;
      if (idx[d]! < outer[d]!) break;
      s -= srcStride[d]! * outer[d]!;
      t -= dstStride[d]! * outer[d]!;
      idx[d] = 0;
    }
  }
}

/** tfjs's own rules for begin/size (negative size = to the end). */
function sliceBox(shape: number[], begin: number | number[], sizeAttr: number | number[]): [number[], number[]] {
  const [b, s] = tf.slice_util.parseSliceParams({ shape } as tf.TensorInfo, begin, sizeAttr);
  return [b!, s!];
}

function slice(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { begin, size: sz } = args.attrs as { begin: number | number[]; size: number | number[] };
  if (x.dtype !== 'float32' || x.shape.length === 0) return cpuKernel('Slice', args);
  const [b, s] = sliceBox(x.shape, begin, sz);
  tf.slice_util.assertParamsValid(x, b, s);
  count('Slice');
  const out = backend.allocFloat32(size(s));
  copyBox(backend.f32(x), x.shape, b, s, out, s, new Array(s.length).fill(0));
  return backend.makeNativeOutput(out, s);
}

function pad(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { paddings, constantValue } = args.attrs as { paddings: Array<[number, number]>; constantValue: number };
  if (x.dtype !== 'float32' || x.shape.length === 0) return cpuKernel('PadV2', args);
  count('PadV2');
  const outShape = x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]);
  const out = backend.allocFloat32(size(outShape));
  out.fill(constantValue);
  copyBox(backend.f32(x), x.shape, new Array(x.shape.length).fill(0), x.shape, out, outShape, paddings.map((p) => p[0]));
  return backend.makeNativeOutput(out, outShape);
}

function splitV(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
  if (x.dtype !== 'float32' || x.shape.length === 0) return cpuKernel('SplitV', args);
  count('SplitV');
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, $axis);
  const src = backend.f32(x);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const box = x.shape.slice();
    box[$axis] = n;
    const out = backend.allocFloat32(size(box));
    copyBox(src, x.shape, begin, box, out, box, new Array(box.length).fill(0));
    begin[$axis] += n;
    return backend.makeNativeOutput(out, box);
  });
}

function concat(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const ts = args.inputs as unknown as tf.TensorInfo[];
  const { axis } = args.attrs as { axis: number };
  if (ts.length === 0 || ts.some((t) => t.dtype !== 'float32' || t.shape.length === 0)) return cpuKernel('Concat', args);
  const rank = ts[0]!.shape.length;
  const $axis = tf.util.parseAxisParam(axis, ts[0]!.shape)[0]!;
  if (ts.some((t) => t.shape.length !== rank || t.shape.some((d, i) => i !== $axis && d !== ts[0]!.shape[i]))) return cpuKernel('Concat', args);
  count('Concat');
  const outShape = ts[0]!.shape.slice();
  outShape[$axis] = ts.reduce((n, t) => n + t.shape[$axis]!, 0);
  const out = backend.allocFloat32(size(outShape));
  const at = new Array<number>(rank).fill(0);
  for (const t of ts) {
    if (size(t.shape) > 0) copyBox(backend.f32(t), t.shape, new Array(rank).fill(0), t.shape, out, outShape, at);
    at[$axis] += t.shape[$axis]!;
  }
  return backend.makeNativeOutput(out, outShape);
}

/**
 * An element-wise float32 kernel as a loop over native memory (other dtypes go to the cpu kernel): Sqrt (a harmonic
 * layer's magnitude) and Sigmoid (a gated steerable layer's gates; the cpu kernel took ~30 ns a value here).
 */
function elementwise(name: string, f: (v: number) => number) {
  return (args: Args): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as NativeBackend;
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype !== 'float32') return cpuKernel(name, args);
    count(name);
    const v = backend.f32(x);
    const out = backend.allocFloat32(v.length);
    for (let i = 0; i < v.length; i++) out[i] = f(v[i]!);
    return backend.makeNativeOutput(out, x.shape);
  };
}

export function layoutKernelConfigs(backendName: string): tf.KernelConfig[] {
  const k = (kernelName: string, f: (a: Args) => tf.TensorInfo | tf.TensorInfo[]) => kernelConfig(backendName, kernelName, f);
  return [k('Slice', slice), k('PadV2', pad), k('SplitV', splitV), k('Concat', concat), k('Sqrt', elementwise('Sqrt', Math.sqrt)), k('Sigmoid', elementwise('Sigmoid', (v) => 1 / (1 + Math.exp(-v))))];
}
