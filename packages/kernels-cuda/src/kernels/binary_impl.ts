/**
 * The broadcasting element-wise binary kernels (Add, Sub, Multiply, RealDiv, SquaredDifference): one strided
 * native loop over the output, each operand read with stride 0 along its broadcast axes, after merging the axes
 * along which both operands step alike (a bias added to [N, H, W, C] becomes two axes, not four).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { backend_util, type BinaryInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { cpuKernel, size, type NativeKernelArgs, type NativeKernelFunc } from './native_util.js';

/** The addon's binaryStrided op codes. */
export const BINARY_OP = { add: 0, sub: 1, mul: 2, div: 3, squaredDifference: 4 } as const;
export type BinaryOpCode = (typeof BINARY_OP)[keyof typeof BINARY_OP];

/** Element strides of `shape` read as `outShape` (right-aligned; 0 on broadcast axes). */
export function broadcastStrides(shape: number[], outShape: number[]): number[] {
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
export function collapse(shape: number[], sa: number[], sb: number[]): [number[], number[], number[]] {
  const s: number[] = [],
    a: number[] = [],
    b: number[] = [];
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

/** The kernel function of the tfjs kernel `name` computing `op` (float32 natively, other dtypes with cpu's). */
export function binaryKernelFunc(name: string, op: BinaryOpCode): NativeKernelFunc<BinaryInputs, tf.NamedAttrMap> {
  return (args: NativeKernelArgs<BinaryInputs, tf.NamedAttrMap>): tf.TensorInfo | tf.TensorInfo[] => {
    const { backend } = args;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return cpuKernel(name, args);
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = size(outShape);
    if (n === 0 || outShape.length > 8) return cpuKernel(name, args);
    count(name);
    const [shape, sa, sb] = collapse(
      outShape,
      broadcastStrides(a.shape, outShape),
      broadcastStrides(b.shape, outShape),
    );
    const out = backend.allocFloat32(n);
    backend.addon.binaryStrided(
      op,
      backend.f32(a),
      Int32Array.from(sa),
      backend.f32(b),
      Int32Array.from(sb),
      out,
      Int32Array.from(shape),
    );
    return backend.makeNativeOutput(out, outShape);
  };
}
