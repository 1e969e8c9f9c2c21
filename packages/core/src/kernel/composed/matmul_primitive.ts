/**
 * Plain (non-transposed) matrix product with a gradient made of plain products
 * of explicitly transposed operands. tfjs's own MatMul gradient multiplies with
 * transposeA/transposeB flags, which the wasm backend runs ~10× slower than the
 * same product on transposed data (measured: 221 ms vs 23 ms for 8192×320·320×64).
 */
import * as tf from '@tensorflow/tfjs-core';

export const MATMUL_PLAIN = 'GMRMatMulPlain';

function swapLast(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return tf.transpose(t, perm);
}

tf.registerGradient({
  kernelName: MATMUL_PLAIN,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved) => {
    const [a, b] = saved;
    const d = dy as tf.Tensor;
    return {
      a: () => tf.matMul(d as tf.Tensor3D, swapLast(b) as tf.Tensor3D),
      b: () => tf.matMul(swapLast(a) as tf.Tensor3D, d as tf.Tensor3D),
    };
  },
});

function ensureKernel(backendName: string): void {
  if (tf.getKernel(MATMUL_PLAIN, backendName)) return;
  tf.registerKernel({
    kernelName: MATMUL_PLAIN,
    backendName,
    kernelFunc: ({ inputs }) => {
      const { a, b } = inputs as { a: tf.Tensor3D; b: tf.Tensor3D };
      return tf.matMul(a, b) as unknown as tf.TensorInfo;
    },
  });
}

/** a [.., M, K] · b [.., K, N] → [.., M, N] (rank 2 or 3). */
export function matMulPlain<T extends tf.Tensor>(a: tf.Tensor, b: tf.Tensor): T {
  ensureKernel(tf.getBackend());
  return tf.engine().runKernel(MATMUL_PLAIN, { a, b }) as T;
}
