/**
 * Native versions of the ops a GMR network's training step spends its time in: matrix products (BatchMatMul,
 * _FusedMatMul), plain convolutions and their gradients (Conv2D, FusedConv2D, Conv2DBackpropInput/Filter: 1×1 as
 * one GEMM, larger kernels through im2col + GEMM), ReLU and the element-wise Add/Sub/Mul/AddN. A call these do not
 * cover (NCHW, an unusual broadcast, int32, another activation) runs the cpu backend's kernel on the same data.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../backend.js';
import { count } from '../counters.js';
import { nativeGradientKernelConfigs } from './native_gradients.js';
import { cpuKernel, kernelConfig, size, type Args } from './fallback.js';

const allF32 = (...ts: (tf.TensorInfo | undefined)[]) => ts.every((t) => t == null || t.dtype === 'float32');

// ---- matrix products -----------------------------------------------------------------------------

function matMul(args: Args, name: string, act: 0 | 1, bias: tf.TensorInfo | undefined): tf.TensorInfo | null {
  const backend = args.backend as NativeBackend;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (!allF32(a, b, bias) || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const k2 = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== k2) return null; // core's checks refuse this before; let the cpu kernel throw its message
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const ba = size(batchA), bb = size(batchB);
  let outBatch: number[];
  if (batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i])) outBatch = batchA;
  else if (bb === 1 && batchB.length <= batchA.length) outBatch = batchA;
  else if (ba === 1 && batchA.length <= batchB.length) outBatch = batchB;
  else return null;
  if (bias && !(size(bias.shape) === n || size(bias.shape) === 1)) return null;
  count(name);
  const batch = Math.max(ba, bb);
  const av = backend.f32(a), bv = backend.f32(b);
  const out = backend.allocFloat32(batch * m * n);
  const lda = transposeA ? m : k, ldb = transposeB ? k : n;
  for (let i = 0; i < batch; i++) {
    backend.addon.sgemm(transposeA, transposeB, m, n, k, 1, av, ba === 1 ? 0 : i * m * k, lda, bv, bb === 1 ? 0 : i * k * n, ldb, 0, out, i * m * n, n);
  }
  if (bias || act) {
    let bv2: Float32Array | null = bias ? backend.f32(bias) : null;
    if (bv2 && bv2.length === 1 && n > 1) bv2 = new Float32Array(n).fill(bv2[0]!);
    backend.addon.biasAct(out, bv2, batch * m, n, act);
  }
  return backend.makeNativeOutput(out, [...outBatch, m, n]);
}

function batchMatMul(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  return matMul(args, 'BatchMatMul', 0, undefined) ?? cpuKernel('BatchMatMul', args);
}

function fusedMatMul(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { activation } = args.attrs as { activation?: string };
  const { bias } = args.inputs as { bias?: tf.TensorInfo };
  const act = activation === 'relu' ? 1 : activation == null || activation === 'linear' ? 0 : -1;
  if (act < 0) return cpuKernel('_FusedMatMul', args);
  return matMul(args, '_FusedMatMul', act as 0 | 1, bias) ?? cpuKernel('_FusedMatMul', args);
}

// ---- plain 2D convolutions (NHWC) --------------------------------------------------------------

function convGeom(c: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, 1, 1, c.filterHeight, c.filterWidth,
    c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth, c.padInfo.top, c.padInfo.left, 0,
  ]);
}

const isPointwise = (c: backend_util.Conv2DInfo) =>
  c.filterHeight === 1 && c.filterWidth === 1 && c.strideHeight === 1 && c.strideWidth === 1 && c.padInfo.top === 0 && c.padInfo.left === 0 &&
  c.padInfo.bottom === 0 && c.padInfo.right === 0 && c.outHeight === c.inHeight && c.outWidth === c.inWidth;

type ConvAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
};

function convForward(args: Args, name: string): tf.TensorInfo | null {
  const backend = args.backend as NativeBackend;
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const at = args.attrs as unknown as ConvAttrs;
  const act = at.activation === 'relu' ? 1 : at.activation == null || at.activation === 'linear' ? 0 : -1;
  if (act < 0 || preluActivationWeights || at.dataFormat === 'NCHW' || !allF32(x, filter, bias)) return null;
  const c = backend_util.computeConv2DInfo(x!.shape as never, filter!.shape as never, at.strides, at.dilations ?? 1, at.pad, at.dimRoundingMode, false, 'channelsLast');
  if (bias && size(bias.shape) !== c.outChannels) return null;
  count(name);
  const P = c.batchSize * c.outHeight * c.outWidth;
  const K = c.filterHeight * c.filterWidth * c.inChannels;
  const out = backend.allocFloat32(P * c.outChannels);
  const xv = backend.f32(x!), wv = backend.f32(filter!);
  if (isPointwise(c)) {
    backend.addon.sgemm(false, false, P, c.outChannels, K, 1, xv, 0, K, wv, 0, c.outChannels, 0, out, 0, c.outChannels);
    if (bias || act) backend.addon.biasAct(out, bias ? backend.f32(bias) : null, P, c.outChannels, act as 0 | 1);
  } else {
    backend.addon.convForward(xv, wv, convGeom(c), c.outChannels, bias ? backend.f32(bias) : null, act as 0 | 1, out);
  }
  return backend.makeNativeOutput(out, [c.batchSize, c.outHeight, c.outWidth, c.outChannels]);
}

function conv2D(args: Args) {
  return convForward(args, 'Conv2D') ?? cpuKernel('Conv2D', args);
}
function fusedConv2D(args: Args) {
  return convForward(args, 'FusedConv2D') ?? cpuKernel('FusedConv2D', args);
}

function conv2DBackpropInput(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const at = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
  if (at.dataFormat === 'NCHW' || !allF32(dy, filter)) return cpuKernel('Conv2DBackpropInput', args);
  const c = backend_util.computeConv2DInfo(at.inputShape, filter.shape as never, at.strides, 1, at.pad, at.dimRoundingMode, false, 'channelsLast');
  count('Conv2DBackpropInput');
  const P = c.batchSize * c.outHeight * c.outWidth;
  const K = c.filterHeight * c.filterWidth * c.inChannels;
  const dx = backend.allocFloat32(c.batchSize * c.inHeight * c.inWidth * c.inChannels);
  const dyv = backend.f32(dy), wv = backend.f32(filter);
  if (isPointwise(c)) {
    backend.addon.sgemm(false, true, P, K, c.outChannels, 1, dyv, 0, c.outChannels, wv, 0, c.outChannels, 0, dx, 0, K);
  } else {
    backend.addon.convBackpropInput(dyv, wv, convGeom(c), c.outChannels, dx);
  }
  return backend.makeNativeOutput(dx, at.inputShape);
}

function conv2DBackpropFilter(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const at = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
  if (at.dataFormat === 'NCHW' || !allF32(x, dy)) return cpuKernel('Conv2DBackpropFilter', args);
  const c = backend_util.computeConv2DInfo(x.shape as never, at.filterShape, at.strides, 1, at.pad, at.dimRoundingMode, false, 'channelsLast');
  count('Conv2DBackpropFilter');
  const P = c.batchSize * c.outHeight * c.outWidth;
  const K = c.filterHeight * c.filterWidth * c.inChannels;
  const dw = backend.allocFloat32(K * c.outChannels);
  const xv = backend.f32(x), dyv = backend.f32(dy);
  if (isPointwise(c)) {
    backend.addon.sgemm(true, false, K, c.outChannels, P, 1, xv, 0, K, dyv, 0, c.outChannels, 0, dw, 0, c.outChannels);
  } else {
    backend.addon.convBackpropFilter(xv, dyv, convGeom(c), c.outChannels, dw);
  }
  return backend.makeNativeOutput(dw, at.filterShape);
}

// ---- element-wise ------------------------------------------------------------------------------

function relu(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype !== 'float32') return cpuKernel('Relu', args);
  count('Relu');
  const out = backend.allocFloat32(size(x.shape));
  backend.addon.relu(backend.f32(x), out);
  return backend.makeNativeOutput(out, x.shape);
}

/** Element strides of `shape` read as `outShape` (right-aligned; 0 on broadcast axes). */
function broadcastStrides(shape: number[], outShape: number[]): number[] {
  const r = outShape.length;
  const st = new Array<number>(r).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = r - shape.length + i;
    st[o] = shape[i] === 1 ? 0 : acc;
    acc *= shape[i]!;
  }
  return st;
}

/** Merges neighbouring axes along which both operands step the same way (fewer, longer rows). */
function collapse(shape: number[], sa: number[], sb: number[]): [number[], number[], number[]] {
  const s: number[] = [], a: number[] = [], b: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const k = s.length - 1;
    if (k >= 0 && a[k] === sa[i]! * shape[i]! && b[k] === sb[i]! * shape[i]!) {
      s[k]! *= shape[i]!;
      a[k] = sa[i]!;
      b[k] = sb[i]!;
    } else if (k >= 0 && a[k] === 0 && sa[i] === 0 && b[k] === sb[i]! * shape[i]!) {
      s[k]! *= shape[i]!;
      b[k] = sb[i]!;
    } else if (k >= 0 && b[k] === 0 && sb[i] === 0 && a[k] === sa[i]! * shape[i]!) {
      s[k]! *= shape[i]!;
      a[k] = sa[i]!;
    } else {
      s.push(shape[i]!);
      a.push(sa[i]!);
      b.push(sb[i]!);
    }
  }
  if (s.length === 0) return [[1], [0], [0]];
  return [s, a, b];
}

const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4 } as const;

function binaryOp(name: keyof typeof BINARY_OPS) {
  const op = BINARY_OPS[name];
  return (args: Args): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as NativeBackend;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return cpuKernel(name, args);
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = size(outShape);
    if (n === 0 || outShape.length > 8) return cpuKernel(name, args);
    count(name);
    const [shape, sa, sb] = collapse(outShape, broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape));
    const out = backend.allocFloat32(n);
    backend.addon.binaryStrided(op, backend.f32(a), Int32Array.from(sa), backend.f32(b), Int32Array.from(sb), out, Int32Array.from(shape));
    return backend.makeNativeOutput(out, outShape);
  };
}

/** x·x through the element-wise product (the cpu kernel is a JS loop). */
function square(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const n = size(x.shape);
  if (x.dtype !== 'float32' || n === 0) return cpuKernel('Square', args);
  count('Square');
  const out = backend.allocFloat32(n);
  const v = backend.f32(x);
  const one = Int32Array.from([1]);
  backend.addon.binaryStrided(2, v, one, v, one, out, Int32Array.from([n]));
  return backend.makeNativeOutput(out, x.shape);
}

function tile(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { reps } = args.attrs as { reps: number[] };
  if (x.dtype !== 'float32' || x.shape.length === 0 || x.shape.length > 8 || size(x.shape) === 0 || reps.some((r) => r < 1)) return cpuKernel('Tile', args);
  count('Tile');
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  const out = backend.allocFloat32(size(outShape));
  backend.addon.tile(backend.f32(x), Int32Array.from(x.shape), Int32Array.from(reps), out);
  return backend.makeNativeOutput(out, outShape);
}

function transpose(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { perm } = args.attrs as { perm: number[] };
  if (x.dtype !== 'float32' || x.shape.length === 0 || x.shape.length > 8 || size(x.shape) === 0) return cpuKernel('Transpose', args);
  count('Transpose');
  const outShape = perm.map((p) => x.shape[p]!);
  const out = backend.allocFloat32(size(x.shape));
  backend.addon.transpose(backend.f32(x), Int32Array.from(x.shape), Int32Array.from(perm), out);
  return backend.makeNativeOutput(out, outShape);
}

function step(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { alpha } = args.attrs as { alpha: number };
  if (x.dtype !== 'float32') return cpuKernel('Step', args);
  count('Step');
  const out = backend.allocFloat32(size(x.shape));
  backend.addon.step(backend.f32(x), alpha, out);
  return backend.makeNativeOutput(out, x.shape);
}

// ---- pooling and batch norm (NHWC) -------------------------------------------------------------

function poolGeom(c: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, 1, 1, c.filterHeight, c.filterWidth,
    c.strideHeight, c.strideWidth, 1, 1, c.padInfo.top, c.padInfo.left, 0,
  ]);
}

type PoolAttrs = { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

function avgPool(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const at = args.attrs as unknown as PoolAttrs;
  if (x.dtype !== 'float32' || x.shape.length !== 4) return cpuKernel('AvgPool', args);
  const c = backend_util.computePool2DInfo(x.shape as never, at.filterSize, at.strides, 1, at.pad, at.dimRoundingMode);
  if (c.filterWidth === 1 && c.filterHeight === 1 && tf.util.arraysEqual(c.inShape, c.outShape)) return cpuKernel('AvgPool', args);
  count('AvgPool');
  const out = backend.allocFloat32(size(c.outShape));
  backend.addon.avgPool(backend.f32(x), poolGeom(c), out);
  return backend.makeNativeOutput(out, c.outShape);
}

function avgPoolGrad(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const at = args.attrs as unknown as PoolAttrs;
  if (dy.dtype !== 'float32' || input.shape.length !== 4) return cpuKernel('AvgPoolGrad', args);
  const c = backend_util.computePool2DInfo(input.shape as never, at.filterSize, at.strides, 1, at.pad);
  count('AvgPoolGrad');
  const dx = backend.allocFloat32(size(input.shape));
  backend.addon.avgPoolGrad(backend.f32(dy), poolGeom(c), dx);
  return backend.makeNativeOutput(dx, input.shape);
}

function fusedBatchNorm(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { varianceEpsilon } = args.attrs as { varianceEpsilon: number };
  const C = x!.shape[x!.shape.length - 1] ?? 1;
  const params = [mean, variance, offset, scale].filter((t): t is tf.TensorInfo => t != null);
  if (!allF32(x, ...params) || params.some((t) => size(t.shape) !== C && size(t.shape) !== 1) || size(x!.shape) % C !== 0) {
    return cpuKernel('FusedBatchNorm', args);
  }
  count('FusedBatchNorm');
  const full = (t: tf.TensorInfo | undefined): Float32Array | null => {
    if (!t) return null;
    const v = backend.f32(t);
    return v.length === C ? v : new Float32Array(C).fill(v[0]!);
  };
  const out = backend.allocFloat32(size(x!.shape));
  backend.addon.batchNorm(backend.f32(x!), full(mean)!, full(variance)!, full(offset), full(scale), varianceEpsilon ?? 0.001, out);
  return backend.makeNativeOutput(out, x!.shape);
}

/** Sum / Mean over a contiguous run of axes (as [outer, red, inner]); other axis sets use the cpu kernel. */
function reduce(name: 'Sum' | 'Mean', mean: boolean) {
  return (args: Args): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as NativeBackend;
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32') return cpuKernel(name, args);
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    if (axes.length === 0 || axes.some((v, i) => i > 0 && v !== axes[i - 1]! + 1)) return cpuKernel(name, args);
    const first = axes[0]!, last = axes[axes.length - 1]!;
    const outer = size(x.shape.slice(0, first)), red = size(x.shape.slice(first, last + 1)), inner = size(x.shape.slice(last + 1));
    if (red === 0) return cpuKernel(name, args);
    count(name);
    const out = backend.allocFloat32(outer * inner);
    backend.addon.reduce(backend.f32(x), outer, red, inner, out, mean);
    const shape = keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : x.shape.filter((_, i) => i < first || i > last);
    return backend.makeNativeOutput(out, shape);
  };
}

function addN(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const ts = args.inputs as unknown as tf.TensorInfo[];
  if (ts.length < 2 || !allF32(...ts) || ts.some((t) => size(t.shape) !== size(ts[0]!.shape))) return cpuKernel('AddN', args);
  count('AddN');
  const out = backend.allocFloat32(size(ts[0]!.shape));
  backend.addon.binary(0, backend.f32(ts[0]!), backend.f32(ts[1]!), out);
  for (let i = 2; i < ts.length; i++) backend.addon.binary(0, out, backend.f32(ts[i]!), out);
  return backend.makeNativeOutput(out, ts[0]!.shape);
}

export function hotKernelConfigs(backendName: string): tf.KernelConfig[] {
  const k = (kernelName: string, f: (a: Args) => tf.TensorInfo | tf.TensorInfo[]) => kernelConfig(backendName, kernelName, f);
  return [
    k('BatchMatMul', batchMatMul),
    k('_FusedMatMul', fusedMatMul),
    k('Conv2D', conv2D),
    k('FusedConv2D', fusedConv2D),
    k('Conv2DBackpropInput', conv2DBackpropInput),
    k('Conv2DBackpropFilter', conv2DBackpropFilter),
    k('Relu', relu),
    k('Add', binaryOp('Add')),
    k('Sub', binaryOp('Sub')),
    k('Multiply', binaryOp('Multiply')),
    k('RealDiv', binaryOp('RealDiv')),
    k('SquaredDifference', binaryOp('SquaredDifference')),
    k('Square', square),
    k('Tile', tile),
    k('Transpose', transpose),
    k('Step', step),
    k('AvgPool', avgPool),
    k('AvgPoolGrad', avgPoolGrad),
    k('FusedBatchNorm', fusedBatchNorm),
    k('Sum', reduce('Sum', false)),
    k('Mean', reduce('Mean', true)),
    k('AddN', addN),
    ...nativeGradientKernelConfigs(backendName),
  ];
}
