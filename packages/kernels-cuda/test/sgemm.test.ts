/**
 * The host SGEMM (native/sgemm_host.cc) straight from the addon against a double-precision product: every
 * transA/transB combination, alpha and beta, on shapes that reach each tile (the 12 × 16 one, the wide 8 × 48 and
 * 8 × 32 ones with masked last columns, the transposed-A tile, the skinny loops, rows that leave a partial tile,
 * several k-blocks of 256), with operands at offsets in larger arrays; the same bits at 1 and 2 threads.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../src/index.js';
import { rand, relErr } from './helpers.js';

describe('host sgemm', () => {
  // [M, N, K]
  const shapes: [number, number, number][] = [
    [196, 48, 120], // the fused forward's blocks of the GMR-CNN's 24→48 layer: the wide tile alone
    [61, 96, 144], // two wide tiles, rows past the last full tile
    [37, 70, 300], // wide 3 + wide 2 with a masked last panel, two k-blocks
    [50, 20, 33], // wide 2 with 4 columns in its second panel
    [13, 13, 600], // one masked 12 × 16 tile, three k-blocks
    [300, 5, 5], // skinny
    [48, 120, 700], // dyᵀ·R's form: transposed A, few rows, long k
    [200, 120, 48], // the input gradient's D = dy·Φ (24→48): one k-block, C stored rather than zeroed and added to
    [30, 64, 100], // four panels: the last one on the 12 × 16 tile (and one panel per task at 2 threads)
  ];
  const cases = shapes.flatMap((s) =>
    [false, true].flatMap((tA) =>
      [false, true].map((tB) => [...s, tA, tB] as [number, number, number, boolean, boolean]),
    ),
  );
  it.each(cases)('%i×%i×%i transA %s transB %s', (M, N, K, tA, tB) => {
    const { addon } = loadAddon('host');
    const lda = (tA ? M : K) + 3,
      ldb = (tB ? K : N) + 5,
      ldc = N + 2;
    const aOff = 7,
      bOff = 1,
      cOff = 3;
    const A = rand(aOff + (tA ? K : M) * lda, 41),
      B = rand(bOff + (tB ? N : K) * ldb, 42),
      C0 = rand(cOff + M * ldc, 43);
    const alpha = 0.75,
      beta = -0.5;
    const ref = new Float32Array(M * N),
      refBeta0 = new Float32Array(M * N);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++)
          s += A[aOff + (tA ? k * lda + i : i * lda + k)]! * B[bOff + (tB ? j * ldb + k : k * ldb + j)]!;
        ref[i * N + j] = alpha * s + beta * C0[cOff + i * ldc + j]!;
        refBeta0[i * N + j] = alpha * s;
      }
    const before = addon!.info().threads;
    const got: Float32Array[] = [];
    try {
      for (const threads of [1, 2]) {
        addon!.setThreads(threads);
        for (const b of [beta, 0]) {
          const C = C0.slice();
          addon!.sgemm(tA, tB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, b, C, cOff, ldc);
          // Padding columns and the elements before the offset are left alone.
          for (let i = 0; i < M; i++)
            for (let j = N; j < ldc && cOff + i * ldc + j < C.length; j++)
              expect(C[cOff + i * ldc + j]).toBe(C0[cOff + i * ldc + j]);
          for (let j = 0; j < cOff; j++) expect(C[j]).toBe(C0[j]);
          const out = new Float32Array(M * N);
          for (let i = 0; i < M; i++) out.set(C.subarray(cOff + i * ldc, cOff + i * ldc + N), i * N);
          got.push(out);
        }
      }
    } finally {
      addon!.setThreads(before);
    }
    expect(relErr(got[0]!, ref)).toBeLessThan(1e-5);
    expect(relErr(got[1]!, refBeta0)).toBeLessThan(1e-5);
    expect(Array.from(got[2]!)).toEqual(Array.from(got[0]!));
    expect(Array.from(got[3]!)).toEqual(Array.from(got[1]!));
  });
});
