/**
 * The matrix product shared by BatchMatMul and _FusedMatMul: one native SGEMM per batch entry (a batch of 1 on
 * either side is broadcast by reading it at offset 0), then the bias and ReLU in one pass over the result.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BatchMatMulAttrs, BatchMatMulInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { allF32, size, type NativeKernelArgs } from './native_util.js';

/** a·b (+ bias, ReLU when act is 1) natively, or null when the call is not covered (the caller falls back). */
export function matMulImpl(
  args: NativeKernelArgs<BatchMatMulInputs, BatchMatMulAttrs>,
  name: string,
  act: 0 | 1,
  bias: tf.TensorInfo | undefined,
): tf.TensorInfo | null {
  const { backend } = args;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs;
  if (!allF32(a, b, bias) || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length,
    rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const k2 = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== k2) return null; // core's checks refuse this before; let the cpu kernel throw its message
  const batchA = a.shape.slice(0, -2),
    batchB = b.shape.slice(0, -2);
  const ba = size(batchA),
    bb = size(batchB);
  let outBatch: number[];
  if (batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i])) outBatch = batchA;
  else if (bb === 1 && batchB.length <= batchA.length) outBatch = batchA;
  else if (ba === 1 && batchA.length <= batchB.length) outBatch = batchB;
  else return null;
  if (bias && !(size(bias.shape) === n || size(bias.shape) === 1)) return null;
  count(name);
  const batch = Math.max(ba, bb);
  const av = backend.f32(a),
    bv = backend.f32(b);
  const out = backend.allocFloat32(batch * m * n);
  const lda = transposeA ? m : k,
    ldb = transposeB ? k : n;
  for (let i = 0; i < batch; i++) {
    backend.addon.sgemm(
      transposeA,
      transposeB,
      m,
      n,
      k,
      1,
      av,
      ba === 1 ? 0 : i * m * k,
      lda,
      bv,
      bb === 1 ? 0 : i * k * n,
      ldb,
      0,
      out,
      i * m * n,
      n,
    );
  }
  if (bias || act) {
    let bv2: Float32Array | null = bias ? backend.f32(bias) : null;
    if (bv2 && bv2.length === 1 && n > 1) bv2 = new Float32Array(n).fill(bv2[0]!);
    backend.addon.biasAct(out, bv2, batch * m, n, act);
  }
  return backend.makeNativeOutput(out, [...outBatch, m, n]);
}
