// Host SGEMM, row-major: C = alpha·op(A)·op(B) + beta·C. B packed in 16-column panels (Goto-style blocking), A read
// in place by AVX-512 tiles (8 × 48 and 8 × 32 over several panels, 12 × 16, and 12 × 16 for a transposed A) or by an
// AVX2 6×16 tile, or packed for the AVX2/portable tiles, chosen at run time (cpuid); every FMA tile sums over k in the
// same order, so which one takes a block never changes a bit. The pool's threads over blocks of rows (or of columns when there are few
// rows).
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "host_ops.h"
#include "thread_pool.h"

namespace gmr {
namespace {

constexpr int MR = 6, NR = 16, KC = 256, MC = 120, NC = 2048;

struct Buf {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t want) {
    if (want > n) {
      std::free(p);
      p = (float*)std::aligned_alloc(64, ((want * sizeof(float) + 63) / 64) * 64);
      n = want;
    }
    return p;
  }
  ~Buf() { std::free(p); }
};

thread_local Buf tlsA;
thread_local Buf tlsB;
Buf sharedB;

// Packs rows [i0, i0+mc) × k [k0, k0+kc) of op(A) into MR-row panels (zero padded).
void packA(const float* A, int lda, bool transA, int i0, int mc, int k0, int kc, float* dst) {
  for (int ip = 0; ip < mc; ip += MR) {
    int rows = std::min(MR, mc - ip);
    for (int k = 0; k < kc; k++) {
      float* d = dst + (size_t)ip * kc + (size_t)k * MR;
      for (int r = 0; r < rows; r++) {
        int i = i0 + ip + r, kk = k0 + k;
        d[r] = transA ? A[(size_t)kk * lda + i] : A[(size_t)i * lda + kk];
      }
      for (int r = rows; r < MR; r++) d[r] = 0.f;
    }
  }
}

// Packs k [k0, k0+kc) × columns [j0+jp, ...) of op(B) for NR-column panel jp (zero padded).
void packBPanel(const float* B, int ldb, bool transB, int k0, int kc, int j0, int nc, int jp, float* dst) {
  int cols = std::min(NR, nc - jp);
  float* base = dst + (size_t)jp * kc;
  if (!transB && cols == NR) {
    for (int k = 0; k < kc; k++) std::memcpy(base + (size_t)k * NR, B + (size_t)(k0 + k) * ldb + j0 + jp, NR * sizeof(float));
    return;
  }
  for (int k = 0; k < kc; k++) {
    float* d = base + (size_t)k * NR;
    for (int c = 0; c < cols; c++) {
      int j = j0 + jp + c, kk = k0 + k;
      d[c] = transB ? B[(size_t)j * ldb + kk] : B[(size_t)kk * ldb + j];
    }
    for (int c = cols; c < NR; c++) d[c] = 0.f;
  }
}

// C[rows×cols] += alpha · Ap·Bp (one MR×NR tile), portable version.
void microGeneric(int kc, const float* Ap, const float* Bp, float* C, int ldc, int rows, int cols, float alpha) {
  float acc[MR][NR] = {};
  for (int k = 0; k < kc; k++) {
    const float* a = Ap + k * MR;
    const float* b = Bp + k * NR;
    for (int r = 0; r < MR; r++)
      for (int c = 0; c < NR; c++) acc[r][c] += a[r] * b[c];
  }
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) C[(size_t)r * ldc + c] += alpha * acc[r][c];
}

__attribute__((target("avx2,fma"))) void microAvx2(int kc, const float* Ap, const float* Bp, float* C, int ldc, int rows, int cols, float alpha) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(Bp + k * NR);
    const __m256 b1 = _mm256_loadu_ps(Bp + k * NR + 8);
    const float* a = Ap + k * MR;
    __m256 av = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(av, b0, c00), c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(av, b0, c10), c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(av, b0, c20), c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(av, b0, c30), c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(av, b0, c40), c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(av, b0, c50), c51 = _mm256_fmadd_ps(av, b1, c51);
  }
  const __m256 al = _mm256_set1_ps(alpha);
  __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (cols == NR) {
    for (int r = 0; r < rows; r++) {
      float* c = C + (size_t)r * ldc;
      _mm256_storeu_ps(c, _mm256_fmadd_ps(al, acc[r][0], _mm256_loadu_ps(c)));
      _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(al, acc[r][1], _mm256_loadu_ps(c + 8)));
    }
    return;
  }
  alignas(32) float tmp[NR];
  for (int r = 0; r < rows; r++) {
    _mm256_store_ps(tmp, acc[r][0]);
    _mm256_store_ps(tmp + 8, acc[r][1]);
    float* c = C + (size_t)r * ldc;
    for (int j = 0; j < cols; j++) c[j] += alpha * tmp[j];
  }
}

// The same tile reading A in place (row-major, not transposed): no packing of A. Rows past `rows` repeat the last
// valid row (their results are discarded).
__attribute__((target("avx2,fma"))) void microAvx2Direct(int kc, const float* A, int lda, const float* Bp, float* C, int ldc, int rows, int cols, float alpha) {
  const float* a0p = A;
  const float* a1p = A + (size_t)std::min(1, rows - 1) * lda;
  const float* a2p = A + (size_t)std::min(2, rows - 1) * lda;
  const float* a3p = A + (size_t)std::min(3, rows - 1) * lda;
  const float* a4p = A + (size_t)std::min(4, rows - 1) * lda;
  const float* a5p = A + (size_t)std::min(5, rows - 1) * lda;
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(Bp + k * NR);
    const __m256 b1 = _mm256_loadu_ps(Bp + k * NR + 8);
    __m256 av = _mm256_broadcast_ss(a0p + k);
    c00 = _mm256_fmadd_ps(av, b0, c00), c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a1p + k);
    c10 = _mm256_fmadd_ps(av, b0, c10), c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a2p + k);
    c20 = _mm256_fmadd_ps(av, b0, c20), c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a3p + k);
    c30 = _mm256_fmadd_ps(av, b0, c30), c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a4p + k);
    c40 = _mm256_fmadd_ps(av, b0, c40), c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a5p + k);
    c50 = _mm256_fmadd_ps(av, b0, c50), c51 = _mm256_fmadd_ps(av, b1, c51);
  }
  const __m256 al = _mm256_set1_ps(alpha);
  __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (cols == NR) {
    for (int r = 0; r < rows; r++) {
      float* c = C + (size_t)r * ldc;
      _mm256_storeu_ps(c, _mm256_fmadd_ps(al, acc[r][0], _mm256_loadu_ps(c)));
      _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(al, acc[r][1], _mm256_loadu_ps(c + 8)));
    }
    return;
  }
  alignas(32) float tmp[NR];
  for (int r = 0; r < rows; r++) {
    _mm256_store_ps(tmp, acc[r][0]);
    _mm256_store_ps(tmp + 8, acc[r][1]);
    float* c = C + (size_t)r * ldc;
    for (int j = 0; j < cols; j++) c[j] += alpha * tmp[j];
  }
}

// C[r, 0..cols) += alpha·acc[r] for the tile's first `rows` rows (the columns past `cols` masked off).
__attribute__((target("avx512f"))) inline void storeTile512(const __m512* acc, float* C, int ldc, int rows, int cols, float alpha) {
  const __m512 al = _mm512_set1_ps(alpha);
  const __mmask16 m = cols >= NR ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
  for (int r = 0; r < rows; r++) {
    float* c = C + (size_t)r * ldc;
    _mm512_mask_storeu_ps(c, m, _mm512_fmadd_ps(al, acc[r], _mm512_maskz_loadu_ps(m, c)));
  }
}

// AVX-512: 12 rows × 16 columns (one zmm per row), A read in place and broadcast into each FMA from memory. Twelve
// independent accumulators cover the FMA latency of two ports; the packed-B layout (NR = 16) is the AVX2 one. The
// micro-kernels load B unaligned: packBFull's callers own its buffer (an aligned load of a std::vector's 16-byte
// aligned data segfaulted), and on an aligned address the unaligned load costs nothing.
constexpr int MR512 = 12;
__attribute__((target("avx512f"))) void microAvx512Direct(int kc, const float* A, int lda, const float* Bp, float* C, int ldc, int rows, int cols, float alpha) {
  const float* a[MR512];
  for (int r = 0; r < MR512; r++) a[r] = A + (size_t)std::min(r, rows - 1) * lda;
  __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
  __m512 c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps(), c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps();
  __m512 c8 = _mm512_setzero_ps(), c9 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
  const float *a6 = a[6], *a7 = a[7], *a8 = a[8], *a9 = a[9], *a10 = a[10], *a11 = a[11];
  for (int k = 0; k < kc; k++) {
    const __m512 b = _mm512_loadu_ps(Bp + k * NR);
    c0 = _mm512_fmadd_ps(_mm512_set1_ps(a0[k]), b, c0);
    c1 = _mm512_fmadd_ps(_mm512_set1_ps(a1[k]), b, c1);
    c2 = _mm512_fmadd_ps(_mm512_set1_ps(a2[k]), b, c2);
    c3 = _mm512_fmadd_ps(_mm512_set1_ps(a3[k]), b, c3);
    c4 = _mm512_fmadd_ps(_mm512_set1_ps(a4[k]), b, c4);
    c5 = _mm512_fmadd_ps(_mm512_set1_ps(a5[k]), b, c5);
    c6 = _mm512_fmadd_ps(_mm512_set1_ps(a6[k]), b, c6);
    c7 = _mm512_fmadd_ps(_mm512_set1_ps(a7[k]), b, c7);
    c8 = _mm512_fmadd_ps(_mm512_set1_ps(a8[k]), b, c8);
    c9 = _mm512_fmadd_ps(_mm512_set1_ps(a9[k]), b, c9);
    c10 = _mm512_fmadd_ps(_mm512_set1_ps(a10[k]), b, c10);
    c11 = _mm512_fmadd_ps(_mm512_set1_ps(a11[k]), b, c11);
  }
  const __m512 acc[MR512] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  storeTile512(acc, C, ldc, rows, cols, alpha);
}

// The same tile for a transposed A (op(A)[i, k] = A[k·lda + i]): row r of the tile at A + k·lda + r, so that no
// panel of A is packed (packed, transposed operands ran on the 6-row AVX2 tile). Rows past `rows` repeat the last
// valid row.
__attribute__((target("avx512f"))) void microAvx512DirectT(int kc, const float* A, int lda, const float* Bp, float* C, int ldc, int rows, int cols, float alpha) {
  int o[MR512];
  for (int r = 0; r < MR512; r++) o[r] = std::min(r, rows - 1);
  __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
  __m512 c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps(), c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps();
  __m512 c8 = _mm512_setzero_ps(), c9 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  const int o0 = o[0], o1 = o[1], o2 = o[2], o3 = o[3], o4 = o[4], o5 = o[5], o6 = o[6], o7 = o[7], o8 = o[8], o9 = o[9], o10 = o[10], o11 = o[11];
  for (int k = 0; k < kc; k++) {
    const __m512 b = _mm512_loadu_ps(Bp + k * NR);
    const float* a = A + (size_t)k * lda;
    c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[o0]), b, c0);
    c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[o1]), b, c1);
    c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[o2]), b, c2);
    c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[o3]), b, c3);
    c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[o4]), b, c4);
    c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[o5]), b, c5);
    c6 = _mm512_fmadd_ps(_mm512_set1_ps(a[o6]), b, c6);
    c7 = _mm512_fmadd_ps(_mm512_set1_ps(a[o7]), b, c7);
    c8 = _mm512_fmadd_ps(_mm512_set1_ps(a[o8]), b, c8);
    c9 = _mm512_fmadd_ps(_mm512_set1_ps(a[o9]), b, c9);
    c10 = _mm512_fmadd_ps(_mm512_set1_ps(a[o10]), b, c10);
    c11 = _mm512_fmadd_ps(_mm512_set1_ps(a[o11]), b, c11);
  }
  const __m512 acc[MR512] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  storeTile512(acc, C, ldc, rows, cols, alpha);
}

// AVX-512, wide: 8 rows × V·16 columns (V consecutive packed panels, ps floats apart), A read in place. For V = 3:
// per k three loads of B and eight broadcasts feed 24 FMAs, where the 12 × 16 tile needs 13 loads for 12 FMAs (bound
// by loads rather than FMAs). The sums run over k in the same order as in the other tiles (the same bits).
constexpr int MRW = 8;
template <int V>
__attribute__((target("avx512f"))) void microAvx512Wide(int kc, const float* A, int lda, const float* Bp, long ps, float* C, int ldc, int rows, int cols, float alpha, bool store) {
  const float* a[MRW];
  for (int r = 0; r < MRW; r++) a[r] = A + (size_t)std::min(r, rows - 1) * lda;
  __m512 acc[MRW][V];
  for (int r = 0; r < MRW; r++)
    for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_ps();
  for (int k = 0; k < kc; k++) {
    __m512 b[V];
    for (int v = 0; v < V; v++) b[v] = _mm512_loadu_ps(Bp + v * ps + k * NR);
    for (int r = 0; r < MRW; r++) {
      const __m512 av = _mm512_set1_ps(a[r][k]);
      for (int v = 0; v < V; v++) acc[r][v] = _mm512_fmadd_ps(av, b[v], acc[r][v]);
    }
  }
  const __m512 al = _mm512_set1_ps(alpha);
  for (int v = 0; v < V; v++) {
    const int left = cols - NR * v;
    const __mmask16 m = left >= NR ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
    for (int r = 0; r < rows; r++) {
      float* c = C + (size_t)r * ldc + NR * v;
      // store: C not read (it would be zeros), the same FMA on a zero register: the same bits.
      const __m512 old = store ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, c);
      _mm512_mask_storeu_ps(c, m, _mm512_fmadd_ps(al, acc[r][v], old));
    }
  }
}

using Direct = void (*)(int, const float*, int, const float*, float*, int, int, int, float);
struct DirectKernel {
  Direct fn;  // null: pack A
  int mr;
};

using Micro = void (*)(int, const float*, const float*, float*, int, int, int, float);

Micro pickMicro() {
  if (const char* env = std::getenv("GMR_NATIVE_SIMD"))
    if (std::strcmp(env, "generic") == 0) return microGeneric;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return microAvx2;
  return microGeneric;
}

Micro micro() {
  static Micro m = pickMicro();
  return m;
}

// The kernel that reads A in place: AVX-512 where the CPU has it (GMR_NATIVE_SIMD=avx2 keeps AVX2), else AVX2.
DirectKernel pickDirect() {
  if (micro() != microAvx2) return {nullptr, MR};
  const char* env = std::getenv("GMR_NATIVE_SIMD");
  if (!(env && std::strcmp(env, "avx2") == 0) && __builtin_cpu_supports("avx512f")) return {microAvx512Direct, MR512};
  return {microAvx2Direct, MR};
}

DirectKernel direct() {
  static DirectKernel d = pickDirect();
  return d;
}

// Panels [pb, pe) of C's rows [0, rows) on AVX-512: three panels at a time on the wide tile, two on its 8 × 32 form, a
// last one on the 12 × 16 tile. Bp: the k-block's panels (panel p at p·NR·kc); C and ncols counted from panel pb's
// first column. (24→48 k9 14²'s product, 6272 × 48 × 120 at one thread: 0.63 → 0.52 ms; the fused forward's blocks
// of 196 rows 129 → 170 GFLOP/s.)
void panelsAvx512(int kc, const float* A, int lda, const float* Bp, int pb, int pe, int ncols, float* C, int ldc, int rows, float alpha, bool store) {
  const long ps = (long)NR * kc;
  int p = pb;
  if (store && (pe - pb) % 3 == 1) {  // the last panel's 12 × 16 tile accumulates: its columns zeroed first
    const int jc = (pe - 1 - pb) * NR, cols = std::min(NR, ncols - jc);
    for (int i = 0; i < rows; i++) std::memset(C + (size_t)i * ldc + jc, 0, (size_t)cols * sizeof(float));
  }
  for (; p + 2 < pe; p += 3) {
    const int jc = (p - pb) * NR, cols = std::min(3 * NR, ncols - jc);
    for (int i = 0; i < rows; i += MRW)
      microAvx512Wide<3>(kc, A + (size_t)i * lda, lda, Bp + p * ps, ps, C + (size_t)i * ldc + jc, ldc, std::min(MRW, rows - i), cols, alpha, store);
  }
  if (p + 1 < pe) {
    const int jc = (p - pb) * NR, cols = std::min(2 * NR, ncols - jc);
    for (int i = 0; i < rows; i += MRW)
      microAvx512Wide<2>(kc, A + (size_t)i * lda, lda, Bp + p * ps, ps, C + (size_t)i * ldc + jc, ldc, std::min(MRW, rows - i), cols, alpha, store);
    p += 2;
  }
  if (p < pe) {
    const int jc = (p - pb) * NR, cols = std::min(NR, ncols - jc);
    for (int i = 0; i < rows; i += MR512)
      microAvx512Direct(kc, A + (size_t)i * lda, lda, Bp + p * ps, C + (size_t)i * ldc + jc, ldc, std::min(MR512, rows - i), cols, alpha);
  }
}

// GMR_NATIVE_WIDE=0 keeps the 12 × 16 tile alone (for comparisons).
bool wideOff() {
  static const bool off = [] {
    const char* e = std::getenv("GMR_NATIVE_WIDE");
    return e && std::strcmp(e, "0") == 0;
  }();
  return off;
}

template <int N>
void skinnyRows(const float* A, int lda, const float* bt, float alpha, float beta, float* C, int ldc, long rb, long re) {
  for (long i = rb; i < re; i++) {
    const float* a = A + (size_t)i * lda;
    float* c = C + (size_t)i * ldc;
    float acc[N];
    for (int j = 0; j < N; j++) acc[j] = 0.f;
    for (int k = 0; k < N; k++)
      for (int j = 0; j < N; j++) acc[j] += a[k] * bt[k * N + j];
    for (int j = 0; j < N; j++) c[j] = alpha * acc[j] + (beta == 0.f ? 0.f : beta * c[j]);
  }
}

// Skinny products (few columns and a short inner dimension, or a tiny M×N result) waste most of a 6×16 tile and the
// packing: plain loops instead.
bool skinny(int M, int N, int K) { return (N <= 8 && K <= 32) || (long)M * N <= 64; }

void sgemmSkinny(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  auto a = [&](long i, long k) { return transA ? A[k * lda + i] : A[i * lda + k]; };
  auto b = [&](long k, long j) { return transB ? B[j * ldb + k] : B[k * ldb + j]; };
  if ((long)M * N <= 64) {
    // acc[M×N] over chunks of k (one per thread), then summed in order.
    const int threads = (double)M * N * K > 1e5 ? numThreads() : 1;
    std::vector<double> part((size_t)threads * M * N, 0.0);
    parallelFor(threads, [&](long tb, long te) {
      for (long t = tb; t < te; t++) {
        double* acc = part.data() + (size_t)t * M * N;
        const long k0 = (long)K * t / threads, k1 = (long)K * (t + 1) / threads;
        for (long k = k0; k < k1; k++)
          for (int i = 0; i < M; i++) {
            const double av = a(i, k);
            for (int j = 0; j < N; j++) acc[i * N + j] += av * b(k, j);
          }
      }
    });
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        double s = 0;
        for (int t = 0; t < threads; t++) s += part[(size_t)t * M * N + i * N + j];
        float* c = C + (size_t)i * ldc + j;
        *c = (float)(alpha * s) + (beta == 0.f ? 0.f : beta * *c);
      }
    return;
  }
  // Few columns, short k: one output row at a time (square n×n right factors, as Φ = θ·P, fully unrolled).
  const bool parallel = (double)M * N * K > 64.0 * 64 * 64;
  if (!transA && K == N && K >= 2 && K <= 6) {
    float bt[36];
    for (int k = 0; k < K; k++)
      for (int j = 0; j < N; j++) bt[k * N + j] = b(k, j);
    auto run = [&](auto kn) {
      constexpr int n = decltype(kn)::value;
      auto rowsN = [&](long rb, long re) { skinnyRows<n>(A, lda, bt, alpha, beta, C, ldc, rb, re); };
      if (parallel) parallelFor(M, rowsN, 1024); else rowsN(0, M);
    };
    switch (K) {
      case 2: run(std::integral_constant<int, 2>()); break;
      case 3: run(std::integral_constant<int, 3>()); break;
      case 4: run(std::integral_constant<int, 4>()); break;
      case 5: run(std::integral_constant<int, 5>()); break;
      default: run(std::integral_constant<int, 6>()); break;
    }
    return;
  }
  auto rows = [&](long rb, long re) {
    float bt[8 * 32];
    for (int k = 0; k < K; k++)
      for (int j = 0; j < N; j++) bt[k * N + j] = b(k, j);
    for (long i = rb; i < re; i++) {
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int k = 0; k < K; k++) {
        const float av = a(i, k);
        for (int j = 0; j < N; j++) acc[j] += av * bt[k * N + j];
      }
      float* c = C + (size_t)i * ldc;
      for (int j = 0; j < N; j++) c[j] = alpha * acc[j] + (beta == 0.f ? 0.f : beta * c[j]);
    }
  };
  if (parallel) parallelFor(M, rows, 256); else rows(0, M);
}

}  // namespace

const char* simdLevel() { return direct().fn == microAvx512Direct ? "avx512f" : micro() == microAvx2 ? "avx2+fma" : "generic"; }

int packedBSize(int K, int N) { return ((N + NR - 1) / NR) * NR * K; }

// Layout of packBPanel for every k-block: block k0 starts at k0·Npad, its panel p at p·NR·kc.
void packBFull(int K, int N, const float* B, int ldb, bool transB, float* Bp) {
  const int nPanels = (N + NR - 1) / NR;
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = std::min(KC, K - k0);
    for (int p = 0; p < nPanels; p++) packBPanel(B, ldb, transB, k0, kc, 0, N, p * NR, Bp + (size_t)k0 * nPanels * NR);
  }
}

void gemmPackedB(int M, int N, int K, const float* A, int lda, const float* Bp, float* C, int ldc) {
  // C zeroed in one call where its rows are contiguous (a call per row of 48 floats: 4% of the fused forward).
  if (ldc == N) std::memset(C, 0, (size_t)M * N * sizeof(float));
  else
    for (int i = 0; i < M; i++) std::memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
  if (K <= 0) return;
  const DirectKernel dk = direct();
  const int nPanels = (N + NR - 1) / NR;
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = std::min(KC, K - k0);
    const float* Bk = Bp + (size_t)k0 * nPanels * NR;
    if (dk.fn == microAvx512Direct && !wideOff()) {
      // Rows in blocks that keep A's part in L1 (B's k-block, used by every block, stays in L2 at worst).
      for (int i0 = 0; i0 < M; i0 += 48)
        panelsAvx512(kc, A + (size_t)i0 * lda + k0, lda, Bk, 0, nPanels, N, C + (size_t)i0 * ldc, ldc, std::min(48, M - i0), 1.f, false);
      continue;
    }
    if (dk.fn) {
      for (int i0 = 0; i0 < M; i0 += dk.mr)
        for (int p = 0; p < nPanels; p++)
          dk.fn(kc, A + (size_t)i0 * lda + k0, lda, Bk + (size_t)p * NR * kc, C + (size_t)i0 * ldc + p * NR, ldc, std::min(dk.mr, M - i0), std::min(NR, N - p * NR), 1.f);
      continue;
    }
    float* Ap = tlsA.get((size_t)((M + MR - 1) / MR) * MR * kc);
    packA(A, lda, false, 0, M, k0, kc, Ap);
    for (int i0 = 0; i0 < M; i0 += MR)
      for (int p = 0; p < nPanels; p++)
        micro()(kc, Ap + (size_t)i0 * kc, Bk + (size_t)p * NR * kc, C + (size_t)i0 * ldc + p * NR, ldc, std::min(MR, M - i0), std::min(NR, N - p * NR), 1.f);
  }
}

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  sgemmOn(true, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemmOn(bool threads, bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (threads && K > 0 && alpha != 0.f && skinny(M, N, K)) return sgemmSkinny(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  const bool parallel = threads && (double)M * N * K > 64.0 * 64 * 64;
  static const bool packAlways = std::getenv("GMR_NATIVE_PACK_A") != nullptr;
  const DirectKernel dk = direct();
  const bool inPlace = !transA && dk.fn && !packAlways;
  // One block of k and of columns on the wide AVX-512 tiles with beta = 0: the tiles store C rather than add to it,
  // and C is not zeroed first (that pass, out of cache for 6272 × 120, was 7% of the input gradient's 24→48 k9 14²).
  const bool storeC = beta == 0.f && K > 0 && K <= KC && N <= NC && alpha != 0.f && inPlace && dk.fn == microAvx512Direct && !wideOff();
  // C ← beta·C first, so that every k-block accumulates.
  if (beta != 1.f && !storeC) {
    auto scale = [&](long b, long e) {
      for (long i = b; i < e; i++) {
        float* c = C + (size_t)i * ldc;
        if (beta == 0.f) std::memset(c, 0, (size_t)N * sizeof(float));
        else for (int j = 0; j < N; j++) c[j] *= beta;
      }
    };
    if (parallel) parallelFor(M, scale, 64); else scale(0, M);
  }
  if (K <= 0 || alpha == 0.f) return;
  Micro mk = micro();
  // The direct tile reads A in place (GMR_NATIVE_PACK_A=1 packs it anyway); transposed, on AVX-512, its
  // transposed twin does (a tile's 12 rows are 12 consecutive floats of each row of A).
  const bool transposeA = transA && dk.fn == microAvx512Direct && !packAlways;
  const int icBlocks = (M + MC - 1) / MC;
  for (int j0 = 0; j0 < N; j0 += NC) {
    const int nc = std::min(NC, N - j0);
    const int nPanels = (nc + NR - 1) / NR;
    for (int k0 = 0; k0 < K; k0 += KC) {
      const int kc = std::min(KC, K - k0);
      float* Bp = (parallel ? sharedB : tlsB).get((size_t)nPanels * NR * kc);
      auto packB = [&](long b, long e) {
        for (long p = b; p < e; p++) packBPanel(B, ldb, transB, k0, kc, j0, nc, (int)p * NR, Bp);
      };
      if (parallel) parallelFor(nPanels, packB, 8); else packB(0, nPanels);
      // Tasks: row blocks × column groups (more column groups when there are few row blocks).
      const int threads = parallel ? numThreads() : 1;
      const int jGroups = std::min(nPanels, std::max(1, (2 * threads + icBlocks - 1) / icBlocks));
      auto task = [&](long tb, long te) {
        for (long t = tb; t < te; t++) {
          const int ib = (int)(t / jGroups), jg = (int)(t % jGroups);
          const int i0 = ib * MC, mc = std::min(MC, M - i0);
          const int pb = nPanels * jg / jGroups, pe = nPanels * (jg + 1) / jGroups;
          if (inPlace && dk.fn == microAvx512Direct && !wideOff()) {
            panelsAvx512(kc, A + (size_t)i0 * lda + k0, lda, Bp, pb, pe, nc - pb * NR, C + (size_t)i0 * ldc + j0 + pb * NR, ldc, mc, alpha, storeC);
            continue;
          }
          if (inPlace) {
            for (int p = pb; p < pe; p++) {
              const int jc = p * NR, cols = std::min(NR, nc - jc);
              for (int ip = 0; ip < mc; ip += dk.mr)
                dk.fn(kc, A + (size_t)(i0 + ip) * lda + k0, lda, Bp + (size_t)jc * kc, C + (size_t)(i0 + ip) * ldc + j0 + jc, ldc, std::min(dk.mr, mc - ip), cols, alpha);
            }
            continue;
          }
          if (transposeA) {
            for (int p = pb; p < pe; p++) {
              const int jc = p * NR, cols = std::min(NR, nc - jc);
              for (int ip = 0; ip < mc; ip += MR512)
                microAvx512DirectT(kc, A + (size_t)k0 * lda + i0 + ip, lda, Bp + (size_t)jc * kc, C + (size_t)(i0 + ip) * ldc + j0 + jc, ldc, std::min(MR512, mc - ip), cols, alpha);
            }
            continue;
          }
          float* Ap = tlsA.get((size_t)((mc + MR - 1) / MR) * MR * kc);
          packA(A, lda, transA, i0, mc, k0, kc, Ap);
          for (int p = pb; p < pe; p++) {
            const int jc = p * NR, cols = std::min(NR, nc - jc);
            for (int ip = 0; ip < mc; ip += MR)
              mk(kc, Ap + (size_t)ip * kc, Bp + (size_t)jc * kc, C + (size_t)(i0 + ip) * ldc + j0 + jc, ldc, std::min(MR, mc - ip), cols, alpha);
          }
        }
      };
      const long tasks = (long)icBlocks * jGroups;
      if (parallel) parallelFor(tasks, task); else task(0, tasks);
    }
  }
}

}  // namespace gmr
