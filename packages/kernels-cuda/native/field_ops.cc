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

}  // namespace gmr
