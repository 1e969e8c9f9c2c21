// The operations the addon exposes. Implemented for the host (host_ops.cc, sgemm_host.cc) and for CUDA
// (cuda_ops.cu: same signatures, host pointers in and out). All row-major, channels-last.
#pragma once
#include "gmr_common.h"

namespace gmr {

const char* simdLevel();

// C = alpha·op(A)·op(B) + beta·C, C [M×N].
void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc);

// The same on the calling thread only (threads = false), for use inside a parallel task.
void sgemmOn(bool threads, bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc);

// GEMM with B packed once (for many products against the same B, as a convolution's blocks of rows):
// packBFull writes op(B) [K × N] into packedBSize(K, N) floats; gemmPackedB then sets C [M × N] = A [M × K] · B on the
// calling thread (A row-major, read in place by the AVX2/AVX-512 kernels). Bp needs no particular alignment (64 bytes
// is fastest: the tiles' loads of B then never split a cache line).
int packedBSize(int K, int N);
void packBFull(int K, int N, const float* B, int ldb, bool transB, float* Bp);
void gemmPackedB(int M, int N, int K, const float* A, int lda, const float* Bp, float* C, int ldc);

// Forward without keeping R: ring sums of a block of positions (in cache), then its mixing product, block by block.
// phiT [Cout, n·Cin/groups] (per output channel: ring-major, then input channel of its group); y [B·Ho·Wo, Cout].
// With keepR (under a gradient tape) R is written whole there too: one input channel in the same pass, otherwise
// ringSum then one product per group. bias [Cout] (or null) and act (1 = ReLU) applied to y on the way.
void gmrForwardFused(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, const float* phiT, int cout, float* y, float* keepR = nullptr,
                     const float* bias = nullptr, int act = 0);

// Filter gradient dΦ [Cout, Cin/groups, n] = Σ over positions of dy[p]ᵀ · R[p] per group, R [B·Ho·Wo, groups, n,
// Cin/groups] as ringSum writes it, or recomputed chunk by chunk from x when R is null. Same bits at any thread count.
void gmrFilterGrad(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, const float* R, const float* dy, int cout, float* dphi);

// R [B·Ho·Wo, groups, n, Cin/groups] = binary (or weighted) ring sums of x [B, H, W, Cin].
void ringSum(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, float* R);
// dx [B, H, W, Cin] = Σ over positions and taps of the ring values D (layout of R), through the padding mode.
void ringScatter(const RingGeom& g, const RingTap* taps, int nTaps, const float* D, float* dx);

// Plain conv helpers (zero padding, groups 1): col [B·Ho·Wo, kh·kw·Cin] and its transpose-scatter.
void im2col(const RingGeom& g, const float* x, float* col);
void col2im(const RingGeom& g, const float* col, float* dx);

// Element-wise (n elements).
void relu(const float* x, float* y, long n);
void reluGrad(const float* dy, const float* x, float* dx, long n);
// y[r, c] = act(y[r, c] + bias[c]) (act 0: none, 1: relu); bias may be null.
void biasAct(float* y, const float* bias, long rows, long cols, int act);
// op 0: add, 1: sub, 2: mul; b broadcast with period bn (bn == n: same shape; 1: scalar; else last-axis vector).
void binary(int op, const float* a, long an, const float* b, long bn, float* out, long n);

// x viewed as [outer, red, inner]: out[o, i] = Σ_r x[o, r, i] (÷ red when mean), accumulated in double.
void reduceMiddle(const float* x, long outer, long red, long inner, float* out, bool mean);

// out[i] = a[·] op b[·] with broadcasting: shape/strides of rank ≤ 8 (stride 0 on broadcast axes), the last axis
// innermost. op 0 add, 1 sub, 2 mul, 3 div, 4 squared difference.
void binaryStrided(int op, const float* a, const int* aStrides, const float* b, const int* bStrides, float* out, const int* shape, int rank);
// Repeats x [shape] reps times per axis (rank ≤ 8).
void tile(const float* x, const int* shape, const int* reps, int rank, float* out);
// Average pooling, channels-last, over kh×kw windows (geometry as RingGeom; zeros padding, the in-bounds count).
void avgPool(const RingGeom& g, const float* x, float* y);
// Its gradient as tfjs defines it: dy / (kh·kw) summed into every input of each window.
void avgPoolGrad(const RingGeom& g, const float* dy, float* dx);
// y = offset + (x − mean)·scale / sqrt(var + eps), every parameter of length C (the last axis).
void batchNorm(const float* x, long n, long C, const float* mean, const float* var, const float* offset, const float* scale, float eps, float* y);
// Its gradients for dy (every parameter of length C; scale may be null = 1): dx [n], and per channel dmean, dvar,
// dscale, doffset, from one pass of per-channel sums (Σ dy, Σ dy·(x − mean), in double) and one pass writing dx.
void batchNormGrad(const float* x, const float* dy, long n, long C, const float* mean, const float* var, const float* scale, float eps, float* dx, float* dmean,
                   float* dvar, float* dscale, float* doffset);
// out = x with its axes permuted (out axis d is x axis perm[d]), rank ≤ 8.
void transpose(const float* x, const int* shape, const int* perm, int rank, float* out);
// y = x > 0 ? 1 : (x is NaN ? NaN : alpha).
void step(const float* x, float alpha, float* y, long n);

}  // namespace gmr
