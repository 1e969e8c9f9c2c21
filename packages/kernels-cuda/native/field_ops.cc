// The gated non-linearity of steerable feature fields (core's field_gate.ts) on the host. tfjs composes it from
// SplitV, Sigmoid, Multiply, ReLU and Concat (and their gradients from Slice, Concat and element-wise passes): on short
// channel runs each of those is a full pass over the activations with per-row bookkeeping, and together they cost a
// steerable network more than its convolutions. Here one pass reads each input value once and writes each output
// once; σ is computed per gate and applied to both channels of its field.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "field_ops.h"
#include "thread_pool.h"

namespace gmr {
namespace {

// Rows per task: enough work per chunk to amortise a thread hand-off (~32 K values).
long grainRows(long width) { return std::max(1L, (1L << 15) / std::max(1L, width)); }

#if defined(__x86_64__) && !defined(GMR_NO_CLONES)
#define GMR_FIELD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GMR_FIELD_CLONES
#endif

// Eight lanes as GCC vector types: each target clone lowers them to its own width (one ymm; two xmm in the default
// clone). (GCC warns that a 32-byte vector argument changes the ABI without AVX; these helpers are always inlined.)
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float F8 __attribute__((vector_size(32)));
typedef int32_t I8 __attribute__((vector_size(32)));

// e^x on eight lanes without a library call: x = n·ln 2 + r, |r| ≤ ln 2 / 2, e^r by Cephes' degree-6 polynomial, 2^n
// from the exponent bits (floor as truncation corrected by one where it rounded up); within 2 ulp of expf over the
// clamped range [−87.3, 88.7] (beyond it σ is 0 or 1 to float precision). Written as vector operations because the
// scalar loop it replaces did not vectorise (GCC turned the clamp into an early exit per value): the gate, one σ per
// field and pixel, ran at a third of the rate of its memory traffic.
__attribute__((always_inline)) inline F8 expApprox8(const F8& x0) {
  F8 x = x0;
  x = x < -87.3f ? F8{} - 87.3f : x;
  x = x > 88.7f ? F8{} + 88.7f : x;
  const F8 t = x * 1.44269504088896341f + 0.5f;
  F8 n = __builtin_convertvector(__builtin_convertvector(t, I8), F8);
  n = n > t ? n - 1.f : n;
  F8 r = x - n * 0.693359375f;
  r -= n * -2.12194440e-4f;
  F8 p = F8{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const I8 bits = (__builtin_convertvector(n, I8) + 127) << 23;
  F8 scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// s[f] = σ(g[f]) for f < K (a row's gates), eight at a time (the last K mod 8 in a zero-padded vector; the full
// vectors' copies have a constant size, so they compile to one load and one store).
__attribute__((always_inline)) inline F8 sigmoid8(const F8& v) { return 1.f / (1.f + expApprox8(-v)); }
GMR_FIELD_CLONES void sigmoids(const float* __restrict g, long K, float* __restrict s) {
  long f = 0;
  for (; f + 8 <= K; f += 8) {
    F8 v;
    std::memcpy(&v, g + f, sizeof v);
    const F8 y = sigmoid8(v);
    std::memcpy(s + f, &y, sizeof y);
  }
  if (f == K) return;
  F8 v = {};
  for (long i = 0; f + i < K; i++) v[i] = g[f + i];
  const F8 y = sigmoid8(v);
  for (long i = 0; f + i < K; i++) s[f + i] = y[i];
}

// tfjs's ReLU (max(0, x): NaN kept, −0 → 0) and its gradient dy·step(x) (step(NaN) = NaN, step(0) = 0).
inline float reluOf(float v) { return v > 0.f ? v : (v != v ? v : 0.f); }
inline float stepOf(float v) { return v > 0.f ? 1.f : (v != v ? v : 0.f); }

}  // namespace

namespace {

// One row of the gate: yr [n0 + 2K] from xr [n0 + 3K] (s: K floats of scratch for the row's σ). Inlined into the
// gate kernels' row loops, which are target clones: each instruction set gets its own vectorised copy.
__attribute__((always_inline)) inline void gateRow(const float* __restrict xr, int n0, int n1, int n2, float* __restrict s, float* __restrict yr) {
  const long K = (long)n1 + n2;
  for (int c = 0; c < n0; c++) yr[c] = reluOf(xr[c]);
  sigmoids(xr + n0, K, s);
  // Order 1: Re and Im blocks of n1 channels share gates 0..n1−1; order 2 the gates n1..K−1.
  const float* z = xr + n0 + K;
  float* o = yr + n0;
  for (int j = 0; j < n1; j++) o[j] = z[j] * s[j];
  for (int j = 0; j < n1; j++) o[n1 + j] = z[n1 + j] * s[j];
  z += 2 * n1, o += 2 * n1;
  const float* s2 = s + n1;
  for (int j = 0; j < n2; j++) o[j] = z[j] * s2[j];
  for (int j = 0; j < n2; j++) o[n2 + j] = z[n2 + j] * s2[j];
}

// Its gradient for one field block of n fields (their gates g, σ s, Re and Im channels z, z + n; dy d, d + n):
// dz = d·σ on Re and Im, dg = σ(1 − σ)·(dRe·Re + dIm·Im) with that sum as one fma (pinned: the same in every clone).
__attribute__((always_inline)) inline void gateGradBlock(const float* __restrict z, const float* __restrict d, const float* __restrict s, long n, float* __restrict dz, float* __restrict dg) {
  for (long j = 0; j < n; j++) dz[j] = d[j] * s[j];
  for (long j = 0; j < n; j++) dz[n + j] = d[n + j] * s[j];
  for (long j = 0; j < n; j++) dg[j] = s[j] * (1.f - s[j]) * __builtin_fmaf(d[j], z[j], d[n + j] * z[n + j]);
}

// The gate's gradient for one row: gr [n0 + 3K] from xr [n0 + 3K] and dr [n0 + 2K] (inlined as gateRow).
__attribute__((always_inline)) inline void gateGradRow(const float* __restrict xr, const float* __restrict dr, int n0, int n1, int n2, float* __restrict s, float* __restrict gr) {
  const long K = (long)n1 + n2;
  sigmoids(xr + n0, K, s);
  for (int c = 0; c < n0; c++) gr[c] = dr[c] * stepOf(xr[c]);
  // Order 1: fields 0..n1−1 at offset 0 of the field channels; order 2: fields n1..K−1 after 2·n1.
  const float* z = xr + n0 + K;
  const float* d = dr + n0;
  float* dz = gr + n0 + K;
  gateGradBlock(z, d, s, n1, dz, gr + n0);
  gateGradBlock(z + 2L * n1, d + 2L * n1, s + n1, n2, dz + 2L * n1, gr + n0 + n1);
}

GMR_FIELD_CLONES void gateRows(const float* x, long cin, long cout, int n0, int n1, int n2, float* y, long rb, long re) {
  std::vector<float> s((size_t)n1 + n2);
  for (long r = rb; r < re; r++) gateRow(x + r * cin, n0, n1, n2, s.data(), y + r * cout);
}

GMR_FIELD_CLONES void gateGradRows(const float* x, const float* dy, long cin, long cout, int n0, int n1, int n2, float* dx, long rb, long re) {
  std::vector<float> s((size_t)n1 + n2);
  for (long r = rb; r < re; r++) gateGradRow(x + r * cin, dy + r * cout, n0, n1, n2, s.data(), dx + r * cin);
}

}  // namespace

void fieldGate(const float* x, long rows, int n0, int n1, int n2, float* y) {
  const long K = (long)n1 + n2, cin = n0 + 3 * K, cout = n0 + 2 * K;
  parallelFor(rows, [&](long b, long e) { gateRows(x, cin, cout, n0, n1, n2, y, b, e); }, grainRows(cin));
}

void fieldGateGrad(const float* x, const float* dy, long rows, int n0, int n1, int n2, float* dx) {
  const long K = (long)n1 + n2, cin = n0 + 3 * K, cout = n0 + 2 * K;
  parallelFor(rows, [&](long b, long e) { gateGradRows(x, dy, cin, cout, n0, n1, n2, dx, b, e); }, grainRows(cin));
}

// ---- FieldBatchNorm (core's field_batch_norm.ts) ----------------------------------------------------------------
// Composed, a training step ran mean, sub, square, mean and batchNorm forward and about ten full-size element-wise
// passes backward per layer; here each way is one pass for the per-channel sums (double) and one for the output.
namespace {

// The field of each channel of the layout [n0 | Re1 (n1) | Im1 (n1) | Re2 (n2) | Im2 (n2)]: fields are numbered
// order 0 first (n0), then order 1, then order 2, as core's fieldEntries.
std::vector<int> fieldOfChannels(int n0, int n1, int n2) {
  std::vector<int> f;
  for (int c = 0; c < n0; c++) f.push_back(c);
  for (int part = 0; part < 2; part++)
    for (int j = 0; j < n1; j++) f.push_back(n0 + j);
  for (int part = 0; part < 2; part++)
    for (int j = 0; j < n2; j++) f.push_back(n0 + n1 + j);
  return f;
}

// Per-channel sums in double over each of SUM_CHUNKS fixed row ranges (rows·k/chunks ..), added in chunk order
// afterwards: the result does not depend on the thread count. Within a chunk the channels go in blocks of 16 (then 8,
// then 1) whose double accumulators stay in registers for the whole range, rows in order: per channel the same
// additions in the same order as one accumulator per channel (products fused where the clone has FMA), but vectorised
// (AVX-512 clone: a block is 2 zmm per sum) and with no store-to-load round trip per row. The lambda-per-value form
// with memory accumulators it replaces ran 32×28²×16 at 0.26 (forward) and 0.42 ms (gradient) at one thread, against
// ~0.14 and ~0.24 ms for the passes' traffic (at memcpy's rate); now 0.15 and 0.31 ms, 0.13 and 0.25 ms with the
// backward walk of the output passes below.
constexpr long SUM_CHUNKS = 64;

// Eight lanes as GCC vector types: each target clone lowers them to its own width (one zmm, two ymm, four xmm), where
// the auto-vectoriser split a 16-channel block into 8 + 4 + 2 + 1 + 1 lanes.
// (GCC warns that a 64-byte vector return changes the ABI without AVX-512; load8 is always inlined, so none is passed.)
typedef double D8 __attribute__((vector_size(64)));

__attribute__((always_inline)) inline D8 load8(const float* p) {
  F8 v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, D8);
}

__attribute__((always_inline)) inline F8 loadF8(const float* p) {
  F8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The batch norm's output before a fused ReLU, x·a + b, as one rounding (fma) in every clone and every loop, so that the
// gradient's ReLU mask, recomputed from x, is the forward's own bit for bit.
inline float affine(float x, float a, float b) { return __builtin_fmaf(x, a, b); }
__attribute__((always_inline)) inline F8 affine8(const F8& x, const F8& a, const F8& b) {
  F8 y;
  for (int i = 0; i < 8; i++) y[i] = __builtin_fmaf(x[i], a[i], b[i]);
  return y;
}
// stepOf on eight lanes (1 where y > 0, NaN kept, else 0).
__attribute__((always_inline)) inline F8 stepOf8(const F8& y) {
  const F8 one = {1, 1, 1, 1, 1, 1, 1, 1}, zero = {};
  return y > zero ? one : (y != y ? y : zero);
}

// Sums of x and x² (FWD) or of dy and dy·(x − mean) (!FWD) over rows [r0, r1) of the 8·V channels from c0. RELU (!FWD
// only): dy is first masked by the forward's ReLU, dy·step(y) with y = x·ya + yb recomputed as the forward computed it
// (affine below), so the sums are those of the unfused ReLU gradient's output.
template <bool FWD, bool RELU, int V>
__attribute__((always_inline)) inline void sumBlock(const float* __restrict x, const float* __restrict dy, const float* __restrict mean, const float* __restrict ya, const float* __restrict yb, long C, long r0, long r1, long c0, double* __restrict su, double* __restrict sv) {
  D8 a[V], b[V], m[V];
  F8 ra[V], rb[V];
  for (int j = 0; j < V; j++) {
    a[j] = b[j] = D8{};
    if (!FWD) m[j] = load8(mean + c0 + 8 * j);
    if (RELU) ra[j] = loadF8(ya + c0 + 8 * j), rb[j] = loadF8(yb + c0 + 8 * j);
  }
  for (long r = r0; r < r1; r++) {
    const float* xr = x + r * C + c0;
    for (int j = 0; j < V; j++) {
      if (FWD) {
        const D8 v = load8(xr + 8 * j);
        a[j] += v;
        b[j] += v * v;
      } else {
        F8 df = loadF8(dy + r * C + c0 + 8 * j);
        if (RELU) df = df * stepOf8(affine8(loadF8(xr + 8 * j), ra[j], rb[j]));
        const D8 d = __builtin_convertvector(df, D8);
        a[j] += d;
        b[j] += d * (load8(xr + 8 * j) - m[j]);
      }
    }
  }
  std::memcpy(su + c0, a, sizeof a);
  std::memcpy(sv + c0, b, sizeof b);
}

template <bool FWD, bool RELU>
GMR_FIELD_CLONES void chunkSums(const float* __restrict x, const float* __restrict dy, const float* __restrict mean, const float* __restrict ya, const float* __restrict yb, long C, long r0, long r1, double* __restrict su, double* __restrict sv) {
  long c0 = 0;
  for (; c0 + 16 <= C; c0 += 16) sumBlock<FWD, RELU, 2>(x, dy, mean, ya, yb, C, r0, r1, c0, su, sv);
  for (; c0 + 8 <= C; c0 += 8) sumBlock<FWD, RELU, 1>(x, dy, mean, ya, yb, C, r0, r1, c0, su, sv);
  // The last C mod 8 channels one at a time, the same sums in scalar form.
  for (; c0 < C; c0++) {
    double a = 0, b = 0;
    for (long r = r0; r < r1; r++) {
      const double v = x[r * C + c0];
      if (FWD) a += v, b += v * v;
      else {
        float df = dy[r * C + c0];
        if (RELU) df *= stepOf(affine(x[r * C + c0], ya[c0], yb[c0]));
        const double d = df;
        a += d, b += d * (v - (double)mean[c0]);
      }
    }
    su[c0] = a, sv[c0] = b;
  }
}

template <bool FWD, bool RELU = false>
void channelSums(const float* x, const float* dy, const float* mean, long rows, int C, std::vector<double>& su, std::vector<double>& sv, const float* ya = nullptr, const float* yb = nullptr) {
  const long chunks = std::max(1L, std::min(rows, SUM_CHUNKS));
  std::vector<double> pu((size_t)chunks * C), pv((size_t)chunks * C);
  // Tasks of whole chunks, at least ~32 K values each: a 7×7 layer's 64 chunks are ~1.5 K values apiece, less work
  // than handing one to another thread.
  const long perChunk = std::max(1L, rows / chunks * C);
  parallelFor(chunks, [&](long b, long e) {
    for (long k = b; k < e; k++)
      chunkSums<FWD, RELU>(x, dy, mean, ya, yb, C, rows * k / chunks, rows * (k + 1) / chunks, pu.data() + k * C, pv.data() + k * C);
  }, std::max(1L, (1L << 15) / perChunk));
  su.assign(C, 0.0);
  sv.assign(C, 0.0);
  for (long k = 0; k < chunks; k++)
    for (int c = 0; c < C; c++) su[c] += pu[k * C + c], sv[c] += pv[k * C + c];
}

// The output passes walk their rows from the end back (tasks handed out from the last rows, each task's rows in
// blocks of ~4 K values, last first): the sums pass that precedes them went forwards, so the last rows it read are
// the ones still in L2 (a 28×28 layer's x and dy, 3–5 MB, are more than L2 holds and would otherwise all come back
// from L3). 32×28²×16 at one thread: forward 0.151 → 0.139 ms, gradient 0.313 → 0.258 ms.
template <class F>
void backwards(long rb, long re, long C, F f) {
  const long block = std::max(1L, 4096 / std::max(1L, C));
  for (long e = re; e > rb; e -= block) f(std::max(rb, e - block), e);
}

// y = x·a + b per channel, rows [rb, re); relu(y) with `relu`.
GMR_FIELD_CLONES void affineRows(const float* __restrict x, long C, const float* __restrict a, const float* __restrict b, bool relu, float* __restrict y, long rb, long re) {
  if (relu) {
    for (long r = rb; r < re; r++)
      for (long c = 0; c < C; c++) y[r * C + c] = reluOf(affine(x[r * C + c], a[c], b[c]));
  } else {
    for (long r = rb; r < re; r++)
      for (long c = 0; c < C; c++) y[r * C + c] = affine(x[r * C + c], a[c], b[c]);
  }
}

// dx = dy'·a + (x − mean)·b + d per channel, rows [rb, re), where dy' = dy, or with a fused ReLU (ya non-null)
// dy·step(x·ya + yb), the ReLU's gradient on the forward's pre-activation output. Written with explicit fmas, so that
// both forms round alike in every clone and loop shape (the fused gradient is the unfused pair's bit for bit).
inline float gradOf(float g, float v, float m, float a, float b, float d) { return __builtin_fmaf(g, a, __builtin_fmaf(v - m, b, d)); }

GMR_FIELD_CLONES void bnGradRows(const float* __restrict x, const float* __restrict dy, long C, const float* __restrict mean, const float* __restrict a, const float* __restrict b, const float* __restrict d, const float* __restrict ya, const float* __restrict yb, float* __restrict dx, long rb, long re) {
  if (ya) {
    for (long r = rb; r < re; r++)
      for (long c = 0; c < C; c++) {
        const float v = x[r * C + c];
        const float g = dy[r * C + c] * stepOf(affine(v, ya[c], yb[c]));
        dx[r * C + c] = gradOf(g, v, mean[c], a[c], b[c], d[c]);
      }
  } else {
    for (long r = rb; r < re; r++)
      for (long c = 0; c < C; c++) dx[r * C + c] = gradOf(dy[r * C + c], x[r * C + c], mean[c], a[c], b[c], d[c]);
  }
}

}  // namespace

namespace {

// The forward's output map y = x·a + b per channel (a = invStd·γ, b = β − mean·a on order 0, −mean·a = 0 on order m):
// the forward applies it, the gradient of a fused ReLU recomputes it from the same floats.
void outputAffine(int n0, const std::vector<int>& field, const float* gamma, const float* beta, const float* mean, const float* invStd, std::vector<float>& a, std::vector<float>& b) {
  const size_t C = field.size();
  a.resize(C), b.resize(C);
  for (size_t c = 0; c < C; c++) {
    a[c] = invStd[c] * gamma[field[c]];
    b[c] = ((long)c < n0 && beta ? beta[c] : 0.f) - mean[c] * a[c];
  }
}

}  // namespace

namespace {

}  // namespace

void fieldBatchNorm(const float* x, long rows, int n0, int n1, int n2, const float* gamma, const float* beta, float eps, int act, float* y, float* mean, float* stats, float* invStd) {
  const int C = n0 + 2 * n1 + 2 * n2, F = n0 + n1 + n2;
  const std::vector<int> field = fieldOfChannels(n0, n1, n2);
  std::vector<double> s1, s2;
  channelSums<true>(x, nullptr, nullptr, rows, C, s1, s2);
  const double N = (double)std::max(1L, rows);
  std::vector<double> var(F, 0.0);
  for (int c = 0; c < C; c++) {
    const double m = c < n0 ? s1[c] / N : 0.0;  // no mean subtraction on order m (it would not commute with rotations)
    mean[c] = (float)m;
    var[field[c]] += s2[c] / N - m * m;  // order m: Re² + Im² of the field
  }
  for (int f = 0; f < F; f++) stats[f] = (float)std::max(var[f], 0.0);
  for (int c = 0; c < C; c++) invStd[c] = (float)(1.0 / std::sqrt((double)stats[field[c]] + eps));
  std::vector<float> a, b;
  outputAffine(n0, field, gamma, beta, mean, invStd, a, b);
  parallelFor(rows, [&](long rb, long re) { backwards(rows - re, rows - rb, C, [&](long b0, long b1) { affineRows(x, C, a.data(), b.data(), act == BN_RELU, y, b0, b1); }); }, std::max(1L, (1L << 15) / C));
}

void fieldBatchNormGrad(const float* x, const float* dy, long rows, int n0, int n1, int n2, const float* mean, const float* invStd, const float* gamma, const float* beta, int act, float* dx, float* dgamma, float* dbeta) {
  const int C = n0 + 2 * n1 + 2 * n2, F = n0 + n1 + n2;
  const std::vector<int> field = fieldOfChannels(n0, n1, n2);
  // A fused ReLU: the forward's pre-activation map, to mask dy with (ya, yb null without one).
  std::vector<float> ya, yb;
  if (act == BN_RELU) outputAffine(n0, field, gamma, beta, mean, invStd, ya, yb);
  const float* pa = act == BN_RELU ? ya.data() : nullptr;
  const float* pb = act == BN_RELU ? yb.data() : nullptr;
  std::vector<double> sdy, sdyx;
  if (act == BN_RELU) channelSums<false, true>(x, dy, mean, rows, C, sdy, sdyx, pa, pb);
  else channelSums<false>(x, dy, mean, rows, C, sdy, sdyx);
  const double N = (double)std::max(1L, rows);
  // corr_f = Σ over the field's channels of mean(dy·(x − mean))·invStd: E|z|² couples Re and Im
  std::vector<double> corr(F, 0.0);
  for (int c = 0; c < C; c++) corr[field[c]] += sdyx[c] / N * invStd[c];
  for (int f = 0; f < F; f++) dgamma[f] = (float)(corr[f] * N);
  if (dbeta) for (int c = 0; c < n0; c++) dbeta[c] = (float)sdy[c];
  // dx = dy·a + (x − mean)·b + d, a = invStd·γ, b = −a·invStd·corr, d = −a·mean(dy) on order 0
  std::vector<float> a(C), b(C), d(C);
  for (int c = 0; c < C; c++) {
    const double ac = (double)invStd[c] * gamma[field[c]];
    a[c] = (float)ac;
    b[c] = (float)(-ac * invStd[c] * corr[field[c]]);
    d[c] = c < n0 ? (float)(-ac * sdy[c] / N) : 0.f;
  }
  parallelFor(rows, [&](long rb, long re) { backwards(rows - re, rows - rb, C, [&](long b0, long b1) { bnGradRows(x, dy, C, mean, a.data(), b.data(), d.data(), pa, pb, dx, b0, b1); }); }, std::max(1L, (1L << 15) / C));
}

// ---- FieldInvariants (core's field_invariants.ts) ---------------------------------------------------------------
// Composed, the network head's invariants are a split, a dozen slices, squares, products and sums and one concat
// forward, and the pads, slices, sums and concat of their gradients backward: ~30 kernels one way and ~40 the other on
// a 7×7 field tensor of ~0.15 M values, each a pass with its own bookkeeping. Here each way is one pass over the rows,
// a row's blocks in short loops over the fields.
//
// No fused multiply-adds in this section (the AVX clones have FMA and GCC contracts by default in C++): the forward
// rounds each square, product, difference and sum as the composed form's element-wise kernels do, so the fused and
// composed outputs are equal bit for bit; the gradient keeps the same plain roundings.
#if defined(__clang__)
#define GMR_NO_CONTRACT _Pragma("clang fp contract(off)")
#else
#define GMR_NO_CONTRACT
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
namespace {

// The row blocks of FieldInvariants: input [n0 | a1 (n1) | b1 (n1) | a2 (n2) | b2 (n2)], output [n0 | |z1|² (n1) |
// |z2|² (n2) | order-1 pairs (p1) | order-2 pairs (p2) | cross-order (k)].
struct InvariantLayout {
  long n0, n1, n2, p1, p2, k, cin, cout;
  InvariantLayout(int f0, int f1, int f2, bool paired)
      : n0(f0), n1(f1), n2(f2),
        p1(paired && f1 > 1 ? f1 - 1 : 0),
        p2(paired && f2 > 1 ? f2 - 1 : 0),
        k(paired ? std::min(f1, f2) : 0),
        cin((long)f0 + 2L * f1 + 2L * f2),
        cout(fieldInvariantChannels(f0, f1, f2, paired)) {}
};

// A row's order-m blocks [Re1 (n1) | Im1 (n1) | Re2 (n2) | Im2 (n2)] after its n0 order-0 maps (x's, or dx's).
template <typename T>
struct FieldBlocks {
  T *a1, *b1, *a2, *b2;
};
template <typename T>
inline FieldBlocks<T> blocksOf(T* row, const InvariantLayout& L) {
  T* a1 = row + L.n0;
  return {a1, a1 + L.n1, a1 + 2 * L.n1, a1 + 2 * L.n1 + L.n2};
}

GMR_FIELD_CLONES void invariantRows(const float* __restrict x, const InvariantLayout& L, long rb, long re, float* __restrict y) {
  GMR_NO_CONTRACT
  for (long r = rb; r < re; r++) {
    const float* xr = x + r * L.cin;
    float* o = y + r * L.cout;
    for (long c = 0; c < L.n0; c++) o[c] = xr[c];
    const auto [a1, b1, a2, b2] = blocksOf(xr, L);
    o += L.n0;
    for (long j = 0; j < L.n1; j++) o[j] = a1[j] * a1[j] + b1[j] * b1[j];
    o += L.n1;
    for (long j = 0; j < L.n2; j++) o[j] = a2[j] * a2[j] + b2[j] * b2[j];
    o += L.n2;
    // Re(z_j·conj z_{j+1}) of consecutive fields of one order
    for (long j = 0; j < L.p1; j++) o[j] = a1[j] * a1[j + 1] + b1[j] * b1[j + 1];
    o += L.p1;
    for (long j = 0; j < L.p2; j++) o[j] = a2[j] * a2[j + 1] + b2[j] * b2[j + 1];
    o += L.p2;
    // Re(z2_j·conj(z1_j)²), grouped as the composed form: a2·(a1² − b1²) + b2·(2·(a1·b1))
    for (long j = 0; j < L.k; j++) o[j] = a2[j] * (a1[j] * a1[j] - b1[j] * b1[j]) + b2[j] * (2.f * (a1[j] * b1[j]));
  }
}

// dx of one row range: every input channel gathers dy·∂y/∂x over the outputs it enters (its |z|², the pairs with its
// neighbours, the cross-order term), written block by block in the order the outputs come.
GMR_FIELD_CLONES void invariantGradRows(const float* __restrict x, const float* __restrict dy, const InvariantLayout& L, long rb, long re, float* __restrict dx) {
  GMR_NO_CONTRACT
  for (long r = rb; r < re; r++) {
    const float* xr = x + r * L.cin;
    const float* d = dy + r * L.cout;
    float* g = dx + r * L.cin;
    for (long c = 0; c < L.n0; c++) g[c] = d[c];
    const auto [a1, b1, a2, b2] = blocksOf(xr, L);
    const auto [ga1, gb1, ga2, gb2] = blocksOf(g, L);
    d += L.n0;
    // |z|² = a² + b²: ∂/∂a = 2a, ∂/∂b = 2b
    for (long j = 0; j < L.n1; j++) ga1[j] = d[j] * (2.f * a1[j]), gb1[j] = d[j] * (2.f * b1[j]);
    d += L.n1;
    for (long j = 0; j < L.n2; j++) ga2[j] = d[j] * (2.f * a2[j]), gb2[j] = d[j] * (2.f * b2[j]);
    d += L.n2;
    // a_j·a_{j+1} + b_j·b_{j+1}: field j gets its neighbour's components, field j + 1 field j's
    for (long j = 0; j < L.p1; j++) ga1[j] += d[j] * a1[j + 1], gb1[j] += d[j] * b1[j + 1];
    for (long j = 0; j < L.p1; j++) ga1[j + 1] += d[j] * a1[j], gb1[j + 1] += d[j] * b1[j];
    d += L.p1;
    for (long j = 0; j < L.p2; j++) ga2[j] += d[j] * a2[j + 1], gb2[j] += d[j] * b2[j + 1];
    for (long j = 0; j < L.p2; j++) ga2[j + 1] += d[j] * a2[j], gb2[j + 1] += d[j] * b2[j];
    d += L.p2;
    // q = a2·(a1² − b1²) + 2·b2·a1·b1: ∂q/∂a1 = 2(a2·a1 + b2·b1), ∂q/∂b1 = 2(b2·a1 − a2·b1), ∂q/∂a2 = a1² − b1²,
    // ∂q/∂b2 = 2·a1·b1
    for (long j = 0; j < L.k; j++) {
      const float u = a1[j], v = b1[j], s = a2[j], t = b2[j], dq = d[j];
      ga1[j] += dq * (2.f * (s * u + t * v));
      gb1[j] += dq * (2.f * (t * u - s * v));
      ga2[j] += dq * (u * u - v * v);
      gb2[j] += dq * (2.f * (u * v));
    }
  }
}

}  // namespace

void fieldInvariants(const float* x, long rows, int n0, int n1, int n2, bool paired, float* y) {
  const InvariantLayout L(n0, n1, n2, paired);
  parallelFor(rows, [&](long b, long e) { invariantRows(x, L, b, e, y); }, grainRows(L.cin + L.cout));
}

void fieldInvariantsGrad(const float* x, const float* dy, long rows, int n0, int n1, int n2, bool paired, float* dx) {
  const InvariantLayout L(n0, n1, n2, paired);
  parallelFor(rows, [&](long b, long e) { invariantGradRows(x, dy, L, b, e, dx); }, grainRows(2 * L.cin + L.cout));
}
#if !defined(__clang__)
#pragma GCC pop_options
#endif
#undef GMR_NO_CONTRACT

}  // namespace gmr
