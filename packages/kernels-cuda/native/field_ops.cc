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

// e^x without a library call, so that a loop of them vectorises (std::exp stays one scalar call per value, and was
// most of the gate's time): x = n·ln 2 + r, |r| ≤ ln 2 / 2, e^r by Cephes' degree-6 polynomial, 2^n from the
// exponent bits; within 2 ulp of expf over the clamped range [−87.3, 88.7] (beyond it σ is 0 or 1 to float precision).
inline float expApprox(float x) {
  x = std::min(std::max(x, -87.3f), 88.7f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f;
  r -= n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// s[f] = σ(g[f]) for f < K (a row's gates).
GMR_FIELD_CLONES void sigmoids(const float* __restrict g, long K, float* __restrict s) {
  for (long f = 0; f < K; f++) s[f] = 1.f / (1.f + expApprox(-g[f]));
}

// tfjs's ReLU (max(0, x): NaN kept, −0 → 0) and its gradient dy·step(x) (step(NaN) = NaN, step(0) = 0).
inline float reluOf(float v) { return v > 0.f ? v : (v != v ? v : 0.f); }
inline float stepOf(float v) { return v > 0.f ? 1.f : (v != v ? v : 0.f); }

}  // namespace

void fieldGate(const float* x, long rows, int n0, int n1, int n2, float* y) {
  const long K = (long)n1 + n2, cin = n0 + 3 * K, cout = n0 + 2 * K;
  parallelFor(rows, [&](long b, long e) {
    std::vector<float> s((size_t)K);
    for (long r = b; r < e; r++) {
      const float* xr = x + r * cin;
      float* yr = y + r * cout;
      for (int c = 0; c < n0; c++) yr[c] = reluOf(xr[c]);
      sigmoids(xr + n0, K, s.data());
      // Order 1: Re and Im blocks of n1 channels share gates 0..n1−1; order 2 the gates n1..K−1.
      const float* z = xr + n0 + K;
      float* o = yr + n0;
      for (int j = 0; j < n1; j++) o[j] = z[j] * s[j], o[n1 + j] = z[n1 + j] * s[j];
      z += 2 * n1, o += 2 * n1;
      const float* s2 = s.data() + n1;
      for (int j = 0; j < n2; j++) o[j] = z[j] * s2[j], o[n2 + j] = z[n2 + j] * s2[j];
    }
  }, grainRows(cin));
}

void fieldGateGrad(const float* x, const float* dy, long rows, int n0, int n1, int n2, float* dx) {
  const long K = (long)n1 + n2, cin = n0 + 3 * K, cout = n0 + 2 * K;
  parallelFor(rows, [&](long b, long e) {
    std::vector<float> s((size_t)K);
    for (long r = b; r < e; r++) {
      const float* xr = x + r * cin;
      const float* dr = dy + r * cout;
      sigmoids(xr + n0, K, s.data());
      float* gr = dx + r * cin;
      for (int c = 0; c < n0; c++) gr[c] = dr[c] * stepOf(xr[c]);
      // One field at a time: its gate, then its Re and Im channels (order 1 at offset 0, order 2 after 2·n1).
      for (long f = 0; f < K; f++) {
        const bool first = f < n1;
        const long n = first ? n1 : n2, j = first ? f : f - n1, at = first ? 0 : 2L * n1;
        const long re = at + j, im = at + n + j;
        const float sf = s[f];
        const float* z = xr + n0 + K;
        const float* d = dr + n0;
        float* dz = gr + n0 + K;
        dz[re] = d[re] * sf;
        dz[im] = d[im] * sf;
        gr[n0 + f] = sf * (1.f - sf) * (d[re] * z[re] + d[im] * z[im]);
      }
    }
  }, grainRows(cin));
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

// Per-channel sums over rows of u(r, c) and v(r, c), in double, chunk by chunk in parallel, added in chunk order (the
// result does not depend on the thread count).
template <class U, class V>
void channelSums(long rows, int C, U u, V v, std::vector<double>& su, std::vector<double>& sv) {
  const long chunks = std::max(1L, std::min(rows, 64L));
  std::vector<double> pu((size_t)chunks * C, 0.0), pv((size_t)chunks * C, 0.0);
  parallelFor(chunks, [&](long b, long e) {
    for (long k = b; k < e; k++) {
      double* au = pu.data() + k * C;
      double* av = pv.data() + k * C;
      for (long r = rows * k / chunks; r < rows * (k + 1) / chunks; r++)
        for (int c = 0; c < C; c++) au[c] += u(r, c), av[c] += v(r, c);
    }
  });
  su.assign(C, 0.0);
  sv.assign(C, 0.0);
  for (long k = 0; k < chunks; k++)
    for (int c = 0; c < C; c++) su[c] += pu[k * C + c], sv[c] += pv[k * C + c];
}

}  // namespace

void fieldBatchNorm(const float* x, long rows, int n0, int n1, int n2, const float* gamma, const float* beta, float eps, float* y, float* mean, float* stats, float* invStd) {
  const int C = n0 + 2 * n1 + 2 * n2, F = n0 + n1 + n2;
  const std::vector<int> field = fieldOfChannels(n0, n1, n2);
  std::vector<double> s1, s2;
  channelSums(rows, C, [&](long r, int c) { return (double)x[r * C + c]; }, [&](long r, int c) { const double v = x[r * C + c]; return v * v; }, s1, s2);
  const double N = (double)std::max(1L, rows);
  std::vector<double> var(F, 0.0);
  for (int c = 0; c < C; c++) {
    const double m = c < n0 ? s1[c] / N : 0.0;  // no mean subtraction on order m (it would not commute with rotations)
    mean[c] = (float)m;
    var[field[c]] += s2[c] / N - m * m;  // order m: Re² + Im² of the field
  }
  for (int f = 0; f < F; f++) stats[f] = (float)std::max(var[f], 0.0);
  std::vector<float> a(C), b(C);
  for (int c = 0; c < C; c++) {
    invStd[c] = (float)(1.0 / std::sqrt((double)stats[field[c]] + eps));
    a[c] = invStd[c] * gamma[field[c]];
    b[c] = (c < n0 && beta ? beta[c] : 0.f) - mean[c] * a[c];
  }
  parallelFor(rows, [&](long rb, long re) {
    for (long r = rb; r < re; r++)
      for (int c = 0; c < C; c++) y[r * C + c] = x[r * C + c] * a[c] + b[c];
  }, std::max(1L, (1L << 15) / C));
}

void fieldBatchNormGrad(const float* x, const float* dy, long rows, int n0, int n1, int n2, const float* mean, const float* invStd, const float* gamma, float* dx, float* dgamma, float* dbeta) {
  const int C = n0 + 2 * n1 + 2 * n2, F = n0 + n1 + n2;
  const std::vector<int> field = fieldOfChannels(n0, n1, n2);
  std::vector<double> sdy, sdyx;
  channelSums(rows, C, [&](long r, int c) { return (double)dy[r * C + c]; }, [&](long r, int c) { return (double)dy[r * C + c] * ((double)x[r * C + c] - mean[c]); }, sdy, sdyx);
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
  parallelFor(rows, [&](long rb, long re) {
    for (long r = rb; r < re; r++)
      for (int c = 0; c < C; c++) dx[r * C + c] = dy[r * C + c] * a[c] + (x[r * C + c] - mean[c]) * b[c] + d[c];
  }, std::max(1L, (1L << 15) / C));
}

}  // namespace gmr
