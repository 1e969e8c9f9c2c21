// Host implementations of the GMR ring operations and the element-wise helpers (the pool's threads; the hot
// loops are built for AVX2 and for baseline x86-64 and picked at load time by the ifunc resolver).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "host_ops.h"
#include "thread_pool.h"

#if defined(__x86_64__) && !defined(GMR_NO_CLONES)
#define GMR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GMR_CLONES
#endif

namespace gmr {
namespace {

GMR_CLONES void axpy(float* __restrict d, const float* __restrict s, float w, int n) {
  for (int i = 0; i < n; i++) d[i] += w * s[i];
}

struct Maps {
  std::vector<int> rows, cols;  // [outH·kh], [outW·kw]
  Maps(const RingGeom& g) : rows((size_t)g.outH * g.kh), cols((size_t)g.outW * g.kw) {
    for (int o = 0; o < g.outH; o++)
      for (int t = 0; t < g.kh; t++) rows[(size_t)o * g.kh + t] = inputRow(g, o, t);
    for (int o = 0; o < g.outW; o++)
      for (int t = 0; t < g.kw; t++) cols[(size_t)o * g.kw + t] = inputCol(g, o, t);
  }
};

}  // namespace

namespace {
// Sums of up to 64 channels over the taps of one ring, kept in registers: acc = Σ_t w_t · src_t[0..width).
void ringBlockGeneric(const float* const* src, const float* w, int nt, long off, int width, float* out) {
  float acc[64];
  for (int c = 0; c < width; c++) acc[c] = 0.f;
  for (int t = 0; t < nt; t++) {
    if (!src[t]) continue;
    const float* s = src[t] + off;
    const float wt = w[t];
    for (int c = 0; c < width; c++) acc[c] += wt * s[c];
  }
  for (int c = 0; c < width; c++) out[c] = acc[c];
}

__attribute__((target("avx2,fma"))) void ringBlockAvx2(const float* const* src, const float* w, int nt, long off, int width, float* out) {
  if (width != 64) return ringBlockGeneric(src, w, nt, off, width, out);
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  __m256 a4 = _mm256_setzero_ps(), a5 = _mm256_setzero_ps(), a6 = _mm256_setzero_ps(), a7 = _mm256_setzero_ps();
  for (int t = 0; t < nt; t++) {
    if (!src[t]) continue;
    const float* s = src[t] + off;
    const __m256 wt = _mm256_set1_ps(w[t]);
    a0 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(s + 0), a0);
    a1 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(s + 8), a1);
    a2 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(s + 16), a2);
    a3 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(s + 24), a3);
    a4 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(s + 32), a4);
    a5 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(s + 40), a5);
    a6 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(s + 48), a6);
    a7 = _mm256_fmadd_ps(wt, _mm256_loadu_ps(s + 56), a7);
  }
  _mm256_storeu_ps(out + 0, a0), _mm256_storeu_ps(out + 8, a1), _mm256_storeu_ps(out + 16, a2), _mm256_storeu_ps(out + 24, a3);
  _mm256_storeu_ps(out + 32, a4), _mm256_storeu_ps(out + 40, a5), _mm256_storeu_ps(out + 48, a6), _mm256_storeu_ps(out + 56, a7);
}

// AVX-512, any width up to 64: V vectors of 16 channels (the last one masked), so the small channel counts of real
// networks (1, 24, 48 per group) keep their sums in registers too (the AVX2 version takes only full blocks of 64).
template <int V>
__attribute__((target("avx512f"))) void ringBlockAvx512V(const float* const* src, const float* w, int nt, long off, int width, float* out) {
  __m512 acc[V];
  __mmask16 m[V];
  for (int v = 0; v < V; v++) {
    acc[v] = _mm512_setzero_ps();
    const int left = width - 16 * v;
    m[v] = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
  }
  for (int t = 0; t < nt; t++) {
    if (!src[t]) continue;
    const float* s = src[t] + off;
    const __m512 wt = _mm512_set1_ps(w[t]);
    for (int v = 0; v < V; v++) acc[v] = _mm512_fmadd_ps(wt, _mm512_maskz_loadu_ps(m[v], s + 16 * v), acc[v]);
  }
  for (int v = 0; v < V; v++) _mm512_mask_storeu_ps(out + 16 * v, m[v], acc[v]);
}

__attribute__((target("avx512f"))) void ringBlockAvx512(const float* const* src, const float* w, int nt, long off, int width, float* out) {
  if (width <= 16) return ringBlockAvx512V<1>(src, w, nt, off, width, out);
  if (width <= 32) return ringBlockAvx512V<2>(src, w, nt, off, width, out);
  if (width <= 48) return ringBlockAvx512V<3>(src, w, nt, off, width, out);
  return ringBlockAvx512V<4>(src, w, nt, off, width, out);
}

using RingBlock = void (*)(const float* const*, const float*, int, long, int, float*);
RingBlock pickRingBlock() {
  __builtin_cpu_init();
  const char* env = std::getenv("GMR_NATIVE_SIMD");
  const bool avx2Only = env && (std::strcmp(env, "avx2") == 0 || std::strcmp(env, "generic") == 0);
  if (!avx2Only && __builtin_cpu_supports("avx512f")) return ringBlockAvx512;
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? ringBlockAvx2 : ringBlockGeneric;
}
}  // namespace

namespace {
// Taps grouped by ring (a tap of several rings appears once per ring) and the per-axis coordinate maps.
struct RingPlan {
  Maps m;
  std::vector<RingTap> sorted;
  std::vector<int> ringStart;
  std::vector<float> w;
  RingPlan(const RingGeom& g, const RingTap* taps, int nTaps) : m(g), sorted(taps, taps + nTaps), ringStart(g.numRings + 1, 0), w(nTaps) {
    std::stable_sort(sorted.begin(), sorted.end(), [](const RingTap& a, const RingTap& b) { return a.ring < b.ring; });
    for (const RingTap& t : sorted) ringStart[t.ring + 1]++;
    for (int r = 0; r < g.numRings; r++) ringStart[r + 1] += ringStart[r];
    for (int t = 0; t < nTaps; t++) w[t] = sorted[t].w;
  }
};

#if defined(__x86_64__) && !defined(GMR_NO_CLONES)
#define GMR_CLONES512 __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GMR_CLONES512
#endif

// acc[16] += w · src[0..16)
GMR_CLONES512 void fma16(float* __restrict acc, const float* __restrict src, float w) {
  for (int i = 0; i < 16; i++) acc[i] += w * src[i];
}

// One input channel (a first layer, where the channel-vector form has one lane): 16 output positions of a row at a
// time, vectorised along the row. For each kernel row, the input row it reads is copied once through the padding
// mode into `pad` (so every tap of that row reads 16 consecutive values), then each tap adds into its ring's lanes.
// Stride 1 along the row; any dilation and padding mode. R rows are [n] (one channel).
void ringSumRangeC1(const RingGeom& g, const RingPlan& plan, const float* x, float* R, long pb, long pe) {
  const int n = g.numRings, span = (g.kw - 1) * g.dw;
  std::vector<std::vector<int>> byRow(g.kh);  // taps (indices into plan.sorted) of each kernel row
  for (int t = 0; t < (int)plan.sorted.size(); t++) byRow[plan.sorted[t].ty].push_back(t);
  std::vector<float> pad((size_t)g.outW + span + 16), acc((size_t)n * 16);
  for (long p = pb; p < pe;) {
    const int ox0 = (int)(p % g.outW);
    const int oy = (int)((p / g.outW) % g.outH);
    const long b = p / ((long)g.outW * g.outH);
    const int len = (int)std::min<long>(g.outW - ox0, pe - p);  // this row's part of the range
    for (int c0 = 0; c0 < len; c0 += 16) {
      const int m = std::min(16, len - c0);
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int ty = 0; ty < g.kh; ty++) {
        if (byRow[ty].empty()) continue;
        const int iy = plan.m.rows[(size_t)oy * g.kh + ty];
        if (iy < 0) continue;
        const float* xr = x + (b * g.inH + iy) * g.inW;
        const int first = ox0 + c0 - g.padLeft;  // input column of the first lane at tap column 0
        for (int j = 0; j < 16 + span; j++) {
          const int ix = mapCoord(first + j, g.inW, g.padMode);
          pad[j] = ix < 0 ? 0.f : xr[ix];
        }
        for (int t : byRow[ty]) fma16(acc.data() + (size_t)plan.sorted[t].ring * 16, pad.data() + plan.sorted[t].tx * g.dw, plan.w[t]);
      }
      float* out = R + (p + c0 - pb) * n;
      for (int i = 0; i < m; i++)
        for (int r = 0; r < n; r++) out[(long)i * n + r] = acc[(size_t)r * 16 + i];
    }
    p += len;
  }
}

// Ring sums of positions [pb, pe) into R (row p − pb), on the calling thread.
void ringSumRange(const RingGeom& g, const RingPlan& plan, const float* x, float* R, long pb, long pe) {
  if (g.cin == 1 && g.sw == 1) return ringSumRangeC1(g, plan, x, R, pb, pe);
  static const RingBlock block = pickRingBlock();
  const int cinG = g.cin / g.groups, n = g.numRings, nTaps = (int)plan.sorted.size();
  const long rowLen = (long)g.cin * n;
  std::vector<const float*> src(nTaps);
  for (long p = pb; p < pe; p++) {
    const int ox = (int)(p % g.outW);
    const int oy = (int)((p / g.outW) % g.outH);
    const int b = (int)(p / ((long)g.outW * g.outH));
    for (int t = 0; t < nTaps; t++) {
      const int iy = plan.m.rows[(size_t)oy * g.kh + plan.sorted[t].ty];
      const int ix = plan.m.cols[(size_t)ox * g.kw + plan.sorted[t].tx];
      src[t] = (iy < 0 || ix < 0) ? nullptr : x + (((long)b * g.inH + iy) * g.inW + ix) * g.cin;
    }
    float* out = R + (p - pb) * rowLen;
    for (int grp = 0; grp < g.groups; grp++)
      for (int r = 0; r < n; r++) {
        const int t0 = plan.ringStart[r], nt = plan.ringStart[r + 1] - t0;
        for (int c0 = 0; c0 < cinG; c0 += 64)
          block(src.data() + t0, plan.w.data() + t0, nt, (long)grp * cinG + c0, std::min(64, cinG - c0), out + ((long)grp * n + r) * cinG + c0);
      }
  }
}
}  // namespace

namespace {
// ---- Fast paths for the small layers of real networks (measured on the CLI's GMR-CNN, batch 32, one thread) ----
// The general loops above pay per output position and tap: a pointer checked against the padding mode through the
// coordinate maps, then a call per ring. Below, zero padding is resolved per class of positions instead: the taps
// valid at an output row depend only on the row (an interval of kernel rows), likewise for columns, so each
// (row class, column class) gets its tap list with constant offsets once per call, and a position only adds its
// base index. 24→48 k9 on 14×14, batch 32, one thread: ring sums 0.89 → 0.56 ms, ringScatter 2.16 → 0.44 ms.

bool useAvx512() {
  static const bool yes = [] {
    __builtin_cpu_init();
    const char* env = std::getenv("GMR_NATIVE_SIMD");
    const bool avx2Only = env && (std::strcmp(env, "avx2") == 0 || std::strcmp(env, "generic") == 0);
    return !avx2Only && __builtin_cpu_supports("avx512f");
  }();
  return yes;
}

// out[0..width) = Σ_t w[t] · src[off[t] .. +width), width ≤ 64, taps in order. One accumulator chain per vector:
// with 2 or 4 chains (taps taken in turn) the 24→48 k9 ring sums took as long or longer (0.56 → 0.56 / 0.73 ms), the
// per-tap work (offset, weight broadcast, masked loads) rather than FMA latency bounds these short rings.
template <int V>
__attribute__((target("avx512f"))) void gatherAvx512V(const float* src, const long* off, const float* w, int nt, int width, float* out) {
  __m512 a[V];
  __mmask16 m[V];
  for (int v = 0; v < V; v++) {
    a[v] = _mm512_setzero_ps();
    const int left = width - 16 * v;
    m[v] = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
  }
  for (int t = 0; t < nt; t++) {
    const float* p = src + off[t];
    const __m512 wt = _mm512_set1_ps(w[t]);
    for (int v = 0; v < V; v++) a[v] = _mm512_fmadd_ps(wt, _mm512_maskz_loadu_ps(m[v], p + 16 * v), a[v]);
  }
  for (int v = 0; v < V; v++) _mm512_mask_storeu_ps(out + 16 * v, m[v], a[v]);
}

void gatherGeneric(const float* src, const long* off, const float* w, int nt, int width, float* out) {
  float acc[64];
  for (int c = 0; c < width; c++) acc[c] = 0.f;
  for (int t = 0; t < nt; t++) {
    const float* s = src + off[t];
    for (int c = 0; c < width; c++) acc[c] += w[t] * s[c];
  }
  for (int c = 0; c < width; c++) out[c] = acc[c];
}

void gather(const float* src, const long* off, const float* w, int nt, int width, float* out) {
  static const bool avx512 = useAvx512();
  if (!avx512) return gatherGeneric(src, off, w, nt, width, out);
  if (width <= 16) return gatherAvx512V<1>(src, off, w, nt, width, out);
  if (width <= 32) return gatherAvx512V<2>(src, off, w, nt, width, out);
  if (width <= 48) return gatherAvx512V<3>(src, off, w, nt, width, out);
  return gatherAvx512V<4>(src, off, w, nt, width, out);
}

// The gather above for Q images at once (the same output position in each: the same tap class, so the same offsets and
// weights): out + q·outStride = Σ_t w[t] · (src + q·srcStride)[off[t] .. +width). The offset and weight of a tap are
// loaded once for Q images.
template <int V, int Q>
__attribute__((target("avx512f"))) void gatherQAvx512(const float* src, long srcStride, const long* off, const float* w, int nt, int width, float* out, long outStride) {
  __m512 a[Q][V];
  __mmask16 m[V];
  for (int v = 0; v < V; v++) {
    const int left = width - 16 * v;
    m[v] = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
  }
  for (int q = 0; q < Q; q++)
    for (int v = 0; v < V; v++) a[q][v] = _mm512_setzero_ps();
  for (int t = 0; t < nt; t++) {
    const float* p = src + off[t];
    const __m512 wt = _mm512_set1_ps(w[t]);
    for (int q = 0; q < Q; q++)
      for (int v = 0; v < V; v++) a[q][v] = _mm512_fmadd_ps(wt, _mm512_maskz_loadu_ps(m[v], p + q * srcStride + 16 * v), a[q][v]);
  }
  for (int q = 0; q < Q; q++)
    for (int v = 0; v < V; v++) _mm512_mask_storeu_ps(out + q * outStride + 16 * v, m[v], a[q][v]);
}

template <int Q>
void gatherQV(const float* src, long srcStride, const long* off, const float* w, int nt, int width, float* out, long outStride) {
  if (width <= 16) return gatherQAvx512<1, Q>(src, srcStride, off, w, nt, width, out, outStride);
  if (width <= 32) return gatherQAvx512<2, Q>(src, srcStride, off, w, nt, width, out, outStride);
  if (width <= 48) return gatherQAvx512<3, Q>(src, srcStride, off, w, nt, width, out, outStride);
  return gatherQAvx512<4, Q>(src, srcStride, off, w, nt, width, out, outStride);
}

// q ≤ 4 images; without AVX-512, one gather per image.
void gatherQ(int q, const float* src, long srcStride, const long* off, const float* w, int nt, int width, float* out, long outStride) {
  static const bool avx512 = useAvx512();
  if (!avx512) {
    for (int i = 0; i < q; i++) gather(src + i * srcStride, off, w, nt, width, out + i * outStride);
    return;
  }
  switch (q) {
    case 1: return gatherQV<1>(src, srcStride, off, w, nt, width, out, outStride);
    case 2: return gatherQV<2>(src, srcStride, off, w, nt, width, out, outStride);
    case 3: return gatherQV<3>(src, srcStride, off, w, nt, width, out, outStride);
    default: return gatherQV<4>(src, srcStride, off, w, nt, width, out, outStride);
  }
}

// Valid kernel indices [lo, hi] along one axis for coordinate a + step·t ∈ [0, size), t ∈ [0, k) (hi < lo: none),
// and the class (distinct interval) of each position.
struct AxisClasses {
  std::vector<int> classOf, lo, hi;
  AxisClasses(int positions, int k, int size, const std::function<int(int)>& start, int step) : classOf(positions) {
    std::vector<int> id((size_t)(k + 1) * (k + 1), -1);
    for (int o = 0; o < positions; o++) {
      int l = k, h = -1;
      for (int t = 0; t < k; t++) {
        const int c = start(o) + step * t;
        if (c >= 0 && c < size) l = std::min(l, t), h = std::max(h, t);
      }
      if (h < 0) l = 0;  // none valid: the empty interval [0, −1]
      const size_t key = (size_t)l * (k + 1) + (size_t)(h + 1);
      if (id[key] < 0) id[key] = (int)lo.size(), lo.push_back(l), hi.push_back(h);
      classOf[o] = id[key];
    }
  }
};

// Per (row class, column class) and list j < lists: the taps valid there as (offset, weight), CSR.
struct ClassTaps {
  int lists, nx;
  std::vector<int> start;
  std::vector<long> off;
  std::vector<float> w;
  // listOf(tap) picks the list, offOf(tap) its offset; taps in the order given (grouped by list as sorted).
  template <class ListOf, class OffOf>
  ClassTaps(const AxisClasses& ys, const AxisClasses& xs, const std::vector<RingTap>& taps, int lists, ListOf listOf, OffOf offOf) : lists(lists), nx((int)xs.lo.size()) {
    const size_t classes = ys.lo.size() * xs.lo.size();
    start.assign(classes * lists + 1, 0);
    for (size_t cy = 0; cy < ys.lo.size(); cy++)
      for (size_t cx = 0; cx < xs.lo.size(); cx++)
        for (int j = 0; j < lists; j++) {
          const size_t at = (cy * xs.lo.size() + cx) * lists + j;
          start[at] = (int)off.size();
          for (const RingTap& t : taps)
            if (listOf(t) == j && t.ty >= ys.lo[cy] && t.ty <= ys.hi[cy] && t.tx >= xs.lo[cx] && t.tx <= xs.hi[cx]) off.push_back(offOf(t)), w.push_back(t.w);
        }
    start[classes * lists] = (int)off.size();
  }
  size_t at(int cy, int cx, int j) const { return ((size_t)cy * nx + cx) * lists + j; }
};

// Keeps the per-class tables small (they are built per call): past this many entries the general loops run.
constexpr size_t MAX_CLASS_ENTRIES = 1 << 22;
size_t classEntries(const AxisClasses& ys, const AxisClasses& xs, int nTaps) { return ys.lo.size() * xs.lo.size() * (size_t)nTaps; }

// Ring sums with zero padding through the class tables.
struct ZeroPadRingSum {
  const RingGeom& g;
  AxisClasses ys, xs;
  std::unique_ptr<ClassTaps> ct;
  ZeroPadRingSum(const RingGeom& g, const RingPlan& plan)
      : g(g),
        ys(g.outH, g.kh, g.inH, [&](int o) { return o * g.sh - g.padTop; }, g.dh),
        xs(g.outW, g.kw, g.inW, [&](int o) { return o * g.sw - g.padLeft; }, g.dw) {
    if (classEntries(ys, xs, (int)plan.sorted.size()) > MAX_CLASS_ENTRIES) return;
    ct.reset(new ClassTaps(ys, xs, plan.sorted, g.numRings, [](const RingTap& t) { return t.ring; },
                           [&](const RingTap& t) { return ((long)t.ty * g.dh * g.inW + (long)t.tx * g.dw) * g.cin; }));
  }
  bool ok() const { return g.padMode == PAD_ZEROS && ct != nullptr; }
  void range(const float* x, float* R, long pb, long pe) const {
    const int cinG = g.cin / g.groups, n = g.numRings;
    const long rowLen = (long)g.cin * n;
    for (long p = pb; p < pe; p++) {
      const int ox = (int)(p % g.outW);
      const int oy = (int)((p / g.outW) % g.outH);
      const long b = p / ((long)g.outW * g.outH);
      const float* base = x + ((b * g.inH + (long)oy * g.sh - g.padTop) * g.inW + (long)ox * g.sw - g.padLeft) * g.cin;
      const int cy = ys.classOf[oy], cx = xs.classOf[ox];
      float* out = R + (p - pb) * rowLen;
      for (int r = 0; r < n; r++) {
        const size_t a = ct->at(cy, cx, r);
        const int t0 = ct->start[a], nt = ct->start[a + 1] - t0;
        for (int grp = 0; grp < g.groups; grp++)
          for (int c0 = 0; c0 < cinG; c0 += 64)
            gather(base + (long)grp * cinG + c0, ct->off.data() + t0, ct->w.data() + t0, nt, std::min(64, cinG - c0), out + ((long)grp * n + r) * cinG + c0);
      }
    }
  }
  // Images taken QI at a time: site s = (group of QI images, oy, ox). Image b's position `at` (oy·outW + ox) goes to
  // row b·imgRows + at − rowOffset of R: (plane, 0) for all of R, or a block's own rows.
  static constexpr int QI = 4;
  long sites() const { return (g.batch + QI - 1) / QI * (long)g.outH * g.outW; }
  void siteRange(const float* x, float* R, long sb, long se, long imgRows, long rowOffset) const {
    const int cinG = g.cin / g.groups, n = g.numRings;
    const long rowLen = (long)g.cin * n, plane = (long)g.outH * g.outW, img = (long)g.inH * g.inW * g.cin;
    for (long s = sb; s < se; s++) {
      const long b0 = s / plane * QI, at = s % plane;
      const int oy = (int)(at / g.outW), ox = (int)(at % g.outW);
      const int q = (int)std::min<long>(QI, g.batch - b0);
      const float* base = x + b0 * img + (((long)oy * g.sh - g.padTop) * g.inW + (long)ox * g.sw - g.padLeft) * g.cin;
      const int cy = ys.classOf[oy], cx = xs.classOf[ox];
      float* out = R + (b0 * imgRows + at - rowOffset) * rowLen;
      for (int r = 0; r < n; r++) {
        const size_t a = ct->at(cy, cx, r);
        const int t0 = ct->start[a], nt = ct->start[a + 1] - t0;
        for (int grp = 0; grp < g.groups; grp++)
          for (int c0 = 0; c0 < cinG; c0 += 64)
            gatherQ(q, base + (long)grp * cinG + c0, img, ct->off.data() + t0, ct->w.data() + t0, nt, std::min(64, cinG - c0),
                    out + ((long)grp * n + r) * cinG + c0, imgRows * rowLen);
      }
    }
  }
};
}  // namespace

namespace {
// The rows of phiR [n, cout] that each vector of 16 output channels reads (CSR): those with a non-zero entry in its
// lanes, or all of them when keepAll (x not finite).
struct MixRows {
  std::vector<int> start, rows;
  bool dense = true;  // no row skipped
  MixRows(const float* phiR, int n, int cout, bool keepAll) : start(1, 0) {
    for (int c0 = 0; c0 < cout; c0 += 16) {
      for (int r = 0; r < n; r++) {
        bool used = keepAll;
        for (int c = c0; c < std::min(cout, c0 + 16) && !used; c++) used = phiR[(size_t)r * cout + c] != 0.f;
        if (used) rows.push_back(r);
        else dense = false;
      }
      start.push_back((int)rows.size());
    }
  }
};

// Whether every x[0..n) is finite.
GMR_CLONES bool allFinite(const float* x, long n) {
  int bad = 0;
  for (long i = 0; i < n; i++) {
    uint32_t u;
    std::memcpy(&u, x + i, 4);
    bad |= (u & 0x7f800000u) == 0x7f800000u;
  }
  return !bad;
}

// One input channel, stride 1 along the row (a first layer): the input is copied once per call into a padded image
// (every padding mode through mapCoord, 64 spare columns so that full vectors may read past a row's end), then an
// output row's ring sums are 16-lane vectors along the row: ring r of lanes [s0, s0 + 64) is the gather above with
// tap offsets in the padded image. The fused forward mixes each position's n sums into its Cout outputs at once
// (R never written). 1→24 k9 on 28×28, batch 32, one thread: ring sums 0.95 → 0.16 ms, fused forward 1.52 → 0.58 ms.
struct C1Path {
  const RingGeom& g;
  int Hp = 0, Wp = 0;
  std::vector<float> xp;
  std::vector<long> off;  // per tap of plan.sorted
  static bool applies(const RingGeom& g) { return g.cin == 1 && g.sw == 1; }
  C1Path(const RingGeom& g, const RingPlan& plan, const float* x) : g(g), off(plan.sorted.size()) {
    const int cols = g.outW + (g.kw - 1) * g.dw;
    Hp = (g.outH - 1) * g.sh + (g.kh - 1) * g.dh + 1;
    Wp = cols + 64;
    xp.assign((size_t)g.batch * Hp * Wp, 0.f);
    std::vector<int> colMap(cols);
    for (int j = 0; j < cols; j++) colMap[j] = mapCoord(j - g.padLeft, g.inW, g.padMode);
    parallelFor((long)g.batch * Hp, [&](long tb, long te) {
      for (long task = tb; task < te; task++) {
        const long b = task / Hp;
        const int iy = mapCoord((int)(task % Hp) - g.padTop, g.inH, g.padMode);
        if (iy < 0) continue;
        const float* row = x + (b * g.inH + iy) * g.inW;
        float* o = xp.data() + task * Wp;
        for (int j = 0; j < cols; j++) o[j] = colMap[j] < 0 ? 0.f : row[colMap[j]];
      }
    }, 8);
    for (size_t t = 0; t < off.size(); t++) off[t] = (long)plan.sorted[t].ty * g.dh * Wp + (long)plan.sorted[t].tx * g.dw;
  }
  // Output rows [rb, re) (row = b·outH + oy): R [P, n] when R, y [P, cout] = R·Φᵀ when phiR [n, cout] (or both; mr
  // lists the rows of phiR that each 16 output channels read, see MixRows).
  void rows(const RingPlan& plan, long rb, long re, float* R, const float* phiR, int cout, float* y, const MixRows* mr = nullptr) const {
    const int n = g.numRings;
    std::vector<float> tmp((size_t)n * 64 + 16);  // 16 spare: mixC1's last block of Q positions may read past 64
    for (long row = rb; row < re; row++) {
      const long b = row / g.outH;
      const int oy = (int)(row % g.outH);
      for (int s0 = 0; s0 < g.outW; s0 += 64) {
        const int len = std::min(64, g.outW - s0);
        const float* base = xp.data() + (b * Hp + (long)oy * g.sh) * Wp + s0;
        for (int r = 0; r < n; r++) {
          const int t0 = plan.ringStart[r];
          gather(base, off.data() + t0, plan.w.data() + t0, plan.ringStart[r + 1] - t0, len, tmp.data() + (size_t)r * 64);
        }
        const long p0 = row * g.outW + s0;
        if (R) toPositionMajor(tmp.data(), len, n, R + p0 * n);
        if (phiR) mixC1(tmp.data(), len, n, phiR, cout, y + p0 * cout, *mr);
      }
    }
  }
  // R[i, r] = s[64·r + i] for i < len, r < n: with AVX-512 one gather of up to 16 rings per position and one store (the
  // scalar double loop cost 0.26 ms of a 1→56 k7 forward with 16 rows on 28², batch 32, one thread).
  static void toPositionMajor(const float* s, int len, int n, float* R) {
    static const bool avx512 = useAvx512();
    if (avx512) return toPositionMajorAvx512(s, len, n, R);
    for (int i = 0; i < len; i++)
      for (int r = 0; r < n; r++) R[(long)i * n + r] = s[(size_t)r * 64 + i];
  }
  __attribute__((target("avx512f"))) static void toPositionMajorAvx512(const float* s, int len, int n, float* R) {
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(64));
    for (int r0 = 0; r0 < n; r0 += 16) {
      const int left = n - r0;
      const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
      const float* s0 = s + (size_t)r0 * 64;
      for (int i = 0; i < len; i++)
        _mm512_mask_storeu_ps(R + (long)i * n + r0, m, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, s0 + i, 4));
    }
  }
  // y[i, 0..cout) = Σ_r s[64·r + i] · phiR[r, 0..cout) for positions i < len, rings in order.
  static void mixC1(const float* s, int len, int n, const float* phiR, int cout, float* y, const MixRows& mr) {
    static const bool avx512 = useAvx512();
    // Every row used (the GMR-CNN's 1→24 k9): a position's Cout sums in registers, the broadcasts shared by its vectors
    // (mixC1Rows took 0.36–0.38 ms for its inference forward against 0.33–0.35). The same bits either way.
    if (avx512 && mr.dense && cout <= 16) return mixC1Avx512<1>(s, len, n, phiR, cout, y);
    if (avx512 && mr.dense && cout <= 32) return mixC1Avx512<2>(s, len, n, phiR, cout, y);
    if (avx512 && mr.dense && cout <= 64) return mixC1Avx512<4>(s, len, n, phiR, cout, y);
    if (avx512) {
      // Q positions per block, Q ∈ [5, 8] chosen to waste the fewest lanes of the last block (28 = 4 × 7).
      int bestQ = 8;
      for (int q = 7; q >= 5; q--)
        if ((len + q - 1) / q * q < (len + bestQ - 1) / bestQ * bestQ) bestQ = q;
      switch (bestQ) {
        case 5: return mixC1Rows<5>(s, len, mr, phiR, cout, y);
        case 6: return mixC1Rows<6>(s, len, mr, phiR, cout, y);
        case 7: return mixC1Rows<7>(s, len, mr, phiR, cout, y);
        default: return mixC1Rows<8>(s, len, mr, phiR, cout, y);
      }
    }
    for (int i = 0; i < len; i++) {
      float* o = y + (long)i * cout;
      for (int c = 0; c < cout; c++) o[c] = 0.f;
      for (int r = 0; r < n; r++) {
        const float v = s[(size_t)r * 64 + i];
        const float* f = phiR + (size_t)r * cout;
        for (int c = 0; c < cout; c++) o[c] += v * f[c];
      }
    }
  }
  // The same with a position's Cout outputs in V registers (a scalar loop left these sums in memory: 0.45 ms of the
  // 0.58 ms that 1→24 k9 on 28×28 took), Q positions at a time: one position's V sums alone wait on the FMA latency
  // ring after ring (1→24 k9 28², batch 32, one thread: the fused forward 0.28 → 0.21 ms). Each sum runs over the
  // rings in order as before: the same bits.
  template <int V>
  __attribute__((target("avx512f"))) static void mixC1Avx512(const float* s, int len, int n, const float* phiR, int cout, float* y) {
    constexpr int Q = V >= 4 ? 2 : 8 / V;
    __mmask16 m[V];
    for (int v = 0; v < V; v++) {
      const int left = cout - 16 * v;
      m[v] = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
    }
    int i = 0;
    for (; i + Q <= len; i += Q) {
      __m512 acc[Q][V];
      for (int q = 0; q < Q; q++)
        for (int v = 0; v < V; v++) acc[q][v] = _mm512_setzero_ps();
      for (int r = 0; r < n; r++) {
        const float* f = phiR + (size_t)r * cout;
        __m512 fv[V];
        for (int v = 0; v < V; v++) fv[v] = _mm512_maskz_loadu_ps(m[v], f + 16 * v);
        for (int q = 0; q < Q; q++) {
          const __m512 sv = _mm512_set1_ps(s[(size_t)r * 64 + i + q]);
          for (int v = 0; v < V; v++) acc[q][v] = _mm512_fmadd_ps(sv, fv[v], acc[q][v]);
        }
      }
      for (int q = 0; q < Q; q++)
        for (int v = 0; v < V; v++) _mm512_mask_storeu_ps(y + (long)(i + q) * cout + 16 * v, m[v], acc[q][v]);
    }
    for (; i < len; i++) {
      __m512 acc[V];
      for (int v = 0; v < V; v++) acc[v] = _mm512_setzero_ps();
      for (int r = 0; r < n; r++) {
        const __m512 sv = _mm512_set1_ps(s[(size_t)r * 64 + i]);
        const float* f = phiR + (size_t)r * cout;
        for (int v = 0; v < V; v++) acc[v] = _mm512_fmadd_ps(sv, _mm512_maskz_loadu_ps(m[v], f + 16 * v), acc[v]);
      }
      for (int v = 0; v < V; v++) _mm512_mask_storeu_ps(y + (long)i * cout + 16 * v, m[v], acc[v]);
    }
  }
  // The same with AVX-512, one vector of 16 output channels at a time over Q positions (Q accumulators), reading only
  // the rows of phiR that the vector's lanes use (mr): a steerable first layer's Φ is mostly zeros, each output channel
  // reading the rings of one angular component (1→56 k7, 16 rows: 4 + 7 + 6 + 3 rows for its four vectors rather than
  // 4 × 16; 1→56 k7 28², batch 32, one thread: the forward under the tape 1.22 → 1.0 ms, the addon call alone). Each
  // sum runs over its rows in order from +0 as in mixC1Avx512, and a skipped row would have added s·0 = ±0 to a sum
  // that is never −0: the same bits for finite s (MixRows keeps every row when x is not finite, so that a NaN or an
  // infinity still reaches every channel, as 0·∞ does there). Any Cout (the vector loop), where mixC1Avx512 takes at
  // most 64.
  template <int Q>
  __attribute__((target("avx512f"))) static void mixC1Rows(const float* s, int len, const MixRows& mr, const float* phiR, int cout, float* y) {
    const int nv = (cout + 15) / 16;
    for (int v = 0; v < nv; v++) {
      const int left = cout - 16 * v;
      const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
      const int* r0 = mr.rows.data() + mr.start[v];
      const int* r1 = mr.rows.data() + mr.start[v + 1];
      for (int i = 0; i < len; i += Q) {
        __m512 acc[Q];
        for (int q = 0; q < Q; q++) acc[q] = _mm512_setzero_ps();
        for (const int* r = r0; r < r1; r++) {
          const __m512 f = _mm512_maskz_loadu_ps(m, phiR + (size_t)*r * cout + 16 * v);
          const float* sr = s + (size_t)*r * 64 + i;  // lanes past len: leftovers or zeros, never stored
          for (int q = 0; q < Q; q++) acc[q] = _mm512_fmadd_ps(_mm512_set1_ps(sr[q]), f, acc[q]);
        }
        // A fixed loop (a loop to len − i indexed acc in memory: the accumulators went to the stack every row).
        for (int q = 0; q < Q; q++)
          if (i + q < len) _mm512_mask_storeu_ps(y + (long)(i + q) * cout + 16 * v, m, acc[q]);
      }
    }
  }
};

// ringScatter with zero padding and stride 1 as a gather over D: dx[iy, ix] = Σ_t w_t · D[iy + padTop − ty·dh,
// ix + padLeft − tx·dw, ring_t], the valid taps of each pixel from the class tables (one list, every ring).
struct ZeroPadScatter {
  const RingGeom& g;
  AxisClasses ys, xs;
  std::unique_ptr<ClassTaps> ct;
  static bool applies(const RingGeom& g) { return g.padMode == PAD_ZEROS && g.sh == 1 && g.sw == 1; }
  ZeroPadScatter(const RingGeom& g, const RingTap* taps, int nTaps)
      : g(g),
        ys(g.inH, g.kh, g.outH, [&](int i) { return i + g.padTop; }, -g.dh),
        xs(g.inW, g.kw, g.outW, [&](int i) { return i + g.padLeft; }, -g.dw) {
    if (classEntries(ys, xs, nTaps) > MAX_CLASS_ENTRIES) return;
    const long rowLen = (long)g.cin * g.numRings;
    const int cinG = g.cin / g.groups;
    ct.reset(new ClassTaps(ys, xs, std::vector<RingTap>(taps, taps + nTaps), 1, [](const RingTap&) { return 0; },
                           [&](const RingTap& t) { return -((long)t.ty * g.dh * g.outW + (long)t.tx * g.dw) * rowLen + (long)t.ring * cinG; }));
  }
  bool ok() const { return ct != nullptr; }
  // One pixel at a time: four images per tap list (gatherQ, as the ring sums do) measured slower here, 24→48 k9 on
  // 14×14, batch 32, one thread: 0.50 → 0.55 ms.
  void run(const float* D, float* dx) const {
    const int cinG = g.cin / g.groups, n = g.numRings;
    const long rowLen = (long)g.cin * n;
    parallelFor((long)g.batch * g.inH, [&](long tb, long te) {
      for (long task = tb; task < te; task++) {
        const long b = task / g.inH;
        const int iy = (int)(task % g.inH), cy = ys.classOf[iy];
        for (int ix = 0; ix < g.inW; ix++) {
          const size_t a = ct->at(cy, xs.classOf[ix], 0);
          const int t0 = ct->start[a], nt = ct->start[a + 1] - t0;
          // May point outside D (before its start at the top rows); every tap added to it lands inside.
          const float* base = D + ((b * g.outH + iy + g.padTop) * g.outW + ix + g.padLeft) * rowLen;
          float* out = dx + ((b * g.inH + iy) * g.inW + ix) * g.cin;
          for (int grp = 0; grp < g.groups; grp++)
            for (int c0 = 0; c0 < cinG; c0 += 64)
              gather(base + (long)grp * n * cinG + c0, ct->off.data() + t0, ct->w.data() + t0, nt, std::min(64, cinG - c0), out + (long)grp * cinG + c0);
        }
      }
    });
  }
};
}  // namespace

namespace {
// Ring sums as a row pass and a column pass, stride 1 along the row, any padding mode. Every ring is a set of kernel
// rows, and each row of a ring a horizontal pattern of taps (tx, w); the same pattern recurs across rings and rows (a
// k9 ring mask of 69 taps has 9 distinct row patterns, mostly pairs {c − d, c + d}). The row pass sums each pattern
// along every input row once, H[pattern, iy, ox·Cin + c] = Σ_(tx,w) w · x[iy, ox + tx·dw − padLeft, c] (a padded copy
// of the row, so a pattern is a few long contiguous FMA streams over outW·Cin floats, no lane masked per position),
// and the column pass adds a ring's rows, R[oy, ox, r] = Σ_ty H[pattern(r, ty), inputRow(oy, ty), ox]. 24→48 k9 on
// 14×14: 50 vector sums per position for 69 masked gathers (which read 96-byte channel rows of four images spread
// over more than L1 holds). Each position's sums have a fixed order whatever the threads: the same bits at any count.
struct RowColRings {
  const RingGeom& g;
  const std::vector<RingTap>& taps;
  int W = 0, cols = 0;                   // floats per H row (outW·Cin), padded row length in columns
  std::vector<int> patStart, patTx;      // pattern p: taps [patStart[p], patStart[p + 1]) of (patTx, patW)
  std::vector<float> patW;
  std::vector<int> ringStart, rowTy, rowPat;  // ring r: rows [ringStart[r], ringStart[r + 1]) of (rowTy, rowPat)
  std::vector<int> colMap;                    // input column of each padded column (−1: a zero)
  static bool applies(const RingGeom& g) { return g.sw == 1 && g.cin >= 2; }
  RowColRings(const RingGeom& g, const RingPlan& plan) : g(g), taps(plan.sorted), W(g.outW * g.cin), cols(g.outW + (g.kw - 1) * g.dw), ringStart(g.numRings + 1, 0) {
    for (int j = 0; j < cols; j++) colMap.push_back(mapCoord(j - g.padLeft, g.inW, g.padMode));
    patStart.push_back(0);
    for (int r = 0; r < g.numRings; r++) {
      for (int ty = 0; ty < g.kh; ty++) {
        std::vector<std::pair<int, float>> row;  // the ring's taps on kernel row ty, in tx order
        for (int t = plan.ringStart[r]; t < plan.ringStart[r + 1]; t++)
          if (plan.sorted[t].ty == ty) row.emplace_back(plan.sorted[t].tx, plan.sorted[t].w);
        if (row.empty()) continue;
        std::stable_sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        int found = -1;
        for (int p = 0; p + 1 < (int)patStart.size() && found < 0; p++) {
          if (patStart[p + 1] - patStart[p] != (int)row.size()) continue;
          bool same = true;
          for (size_t i = 0; i < row.size() && same; i++)
            same = patTx[patStart[p] + i] == row[i].first && std::memcmp(&patW[patStart[p] + i], &row[i].second, sizeof(float)) == 0;
          if (same) found = p;
        }
        if (found < 0) {
          found = (int)patStart.size() - 1;
          for (const auto& [tx, w] : row) patTx.push_back(tx), patW.push_back(w);
          patStart.push_back((int)patTx.size());
        }
        rowTy.push_back(ty), rowPat.push_back(found);
      }
      ringStart[r + 1] = (int)rowTy.size();
    }
  }
  int patterns() const { return (int)patStart.size() - 1; }
  // Per-thread scratch kept from call to call (slot < 4), 64-byte aligned.
  static float* scratch(int slot, size_t want) {
    struct Keep {
      float* p[4] = {};
      size_t n[4] = {};
      ~Keep() {
        for (float* q : p) std::free(q);
      }
    };
    static thread_local Keep k;
    if (want > k.n[slot]) std::free(k.p[slot]), k.p[slot] = (float*)std::aligned_alloc(64, (want * sizeof(float) + 63) / 64 * 64), k.n[slot] = want;
    return k.p[slot];
  }
  size_t hFloats() const { return (size_t)patterns() * g.inH * W; }
  // H of one image within 4 MB, and worth it: vector operations per image, the row and column passes (full vectors
  // along outW·Cin, the copy into R's rows) against the gathers of the valid taps (a vector per 16 channels, the last
  // one masked). Batch 32, one thread: 24→48 k9 14² 8.4k against 10.8k per image, fused forward 0.99 → 0.88 ms, ring sums 0.55 → 0.48 ms;
  // 48→96 k5 7² 2.3k against 2.1k, 0.32 → 0.37 ms: left to the gathers.
  bool ok() const {
    if (hFloats() > ((size_t)1 << 20)) return false;
    std::vector<long> rowsOk(g.kh, 0), colsOk(g.kw, 0);
    for (int ty = 0; ty < g.kh; ty++)
      for (int oy = 0; oy < g.outH; oy++) rowsOk[ty] += inputRow(g, oy, ty) >= 0;
    for (int tx = 0; tx < g.kw; tx++)
      for (int ox = 0; ox < g.outW; ox++) colsOk[tx] += inputCol(g, ox, tx) >= 0;
    const int cinG = g.cin / g.groups;
    const double perChannelRow = (double)g.groups * ((cinG + 15) / 16), wv = (double)W / 16;
    double gathers = 0, passes = (double)g.inH * patTx.size() * wv + (double)g.outH * g.outW * g.numRings * perChannelRow;
    for (const RingTap& t : taps) gathers += (double)rowsOk[t.ty] * colsOk[t.tx] * perChannelRow;
    for (int ty : rowTy) passes += rowsOk[ty] * wv;
    return passes < 0.85 * gathers;
  }

  // out[0..len) = Σ_s w[s] · src[s][0..len), sources in order (w == nullptr: all 1, plain sums); ns ≥ 1.
  static void sumRows(const float* const* src, const float* w, int ns, int len, float* out) {
    static const bool avx512 = useAvx512();
    if (avx512) return sumRowsAvx512(src, w, ns, len, out);
    for (int j = 0; j < len; j++) {
      float a = w ? w[0] * src[0][j] : src[0][j];
      for (int s = 1; s < ns; s++) a = w ? a + w[s] * src[s][j] : a + src[s][j];
      out[j] = a;
    }
  }
  // Chunks of 8 vectors (8 accumulator chains: with 4, the FMA latency bounded the sums), the tail in as many
  // vectors as it needs.
  template <int V>
  __attribute__((target("avx512f"))) static void sumChunk(const float* const* src, const float* w, int ns, int j0, int len, float* out) {
    // Only the last vector may be partial (one mask register: eight of them spilled to the stack).
    const int left = len - j0 - 16 * (V - 1);
    const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
    __m512 a[V];
    for (int v = 0; v < V; v++) {
      const __m512 x = v < V - 1 ? _mm512_loadu_ps(src[0] + j0 + 16 * v) : _mm512_maskz_loadu_ps(m, src[0] + j0 + 16 * v);
      a[v] = w ? _mm512_mul_ps(_mm512_set1_ps(w[0]), x) : x;
    }
    for (int s = 1; s < ns; s++) {
      const float* p = src[s] + j0;
      if (w) {
        const __m512 ws = _mm512_set1_ps(w[s]);
        for (int v = 0; v < V - 1; v++) a[v] = _mm512_fmadd_ps(ws, _mm512_loadu_ps(p + 16 * v), a[v]);
        a[V - 1] = _mm512_fmadd_ps(ws, _mm512_maskz_loadu_ps(m, p + 16 * (V - 1)), a[V - 1]);
      } else {
        for (int v = 0; v < V - 1; v++) a[v] = _mm512_add_ps(a[v], _mm512_loadu_ps(p + 16 * v));
        a[V - 1] = _mm512_add_ps(a[V - 1], _mm512_maskz_loadu_ps(m, p + 16 * (V - 1)));
      }
    }
    for (int v = 0; v < V - 1; v++) _mm512_storeu_ps(out + j0 + 16 * v, a[v]);
    _mm512_mask_storeu_ps(out + j0 + 16 * (V - 1), m, a[V - 1]);
  }
  static void sumRowsAvx512(const float* const* src, const float* w, int ns, int len, float* out) {
    int j0 = 0;
    for (; j0 + 128 <= len; j0 += 128) sumChunk<8>(src, w, ns, j0, len, out);
    switch ((len - j0 + 15) / 16) {
      case 0: return;
      case 1: return sumChunk<1>(src, w, ns, j0, len, out);
      case 2: return sumChunk<2>(src, w, ns, j0, len, out);
      case 3: return sumChunk<3>(src, w, ns, j0, len, out);
      case 4: return sumChunk<4>(src, w, ns, j0, len, out);
      case 5: return sumChunk<5>(src, w, ns, j0, len, out);
      case 6: return sumChunk<6>(src, w, ns, j0, len, out);
      case 7: return sumChunk<7>(src, w, ns, j0, len, out);
      default: return sumChunk<8>(src, w, ns, j0, len, out);
    }
  }
  // Ring r of a row of outputs from tmp [outW, Cin] into R rows o (rows of Cin·n, [groups, n, Cin/groups]), in one
  // loop: a call per ring and position (memcpy or a copy of a few vectors) cost as much as the column pass's sums.
  void copyOut(const float* tmp, int r, float* o) const {
    static const bool avx512 = useAvx512();
    if (avx512) return copyOutAvx512(tmp, r, o);
    const int cinG = g.cin / g.groups, n = g.numRings;
    for (int ox = 0; ox < g.outW; ox++)
      for (int grp = 0; grp < g.groups; grp++)
        std::memcpy(o + (long)ox * g.cin * n + ((long)grp * n + r) * cinG, tmp + (long)ox * g.cin + grp * cinG, sizeof(float) * cinG);
  }
  __attribute__((target("avx512f"))) void copyOutAvx512(const float* tmp, int r, float* o) const {
    const int cinG = g.cin / g.groups, n = g.numRings;
    const int tail = cinG % 16;
    const __mmask16 m = tail ? (__mmask16)((1u << tail) - 1) : (__mmask16)0xFFFF;
    const int full = tail ? cinG / 16 : cinG / 16 - 1;  // whole vectors before the last (masked) one
    for (int ox = 0; ox < g.outW; ox++)
      for (int grp = 0; grp < g.groups; grp++) {
        const float* s = tmp + (long)ox * g.cin + grp * cinG;
        float* d = o + (long)ox * g.cin * n + ((long)grp * n + r) * cinG;
        for (int v = 0; v < full; v++) _mm512_storeu_ps(d + 16 * v, _mm512_loadu_ps(s + 16 * v));
        _mm512_mask_storeu_ps(d + 16 * full, m, _mm512_maskz_loadu_ps(m, s + 16 * full));
      }
  }

  // The row pass of image b into H [patterns, inH, W], the input rows that output rows [oy0, oy1) read (zero
  // padding) or all; xr: scratch of cols·Cin floats.
  void rowPass(const float* x, long b, float* H, float* xr, int oy0, int oy1) const {
    const int cin = g.cin;
    std::vector<const float*> src(patTx.size());
    int iy0 = 0, iy1 = g.inH;
    if (g.padMode == PAD_ZEROS) iy0 = std::max(0, oy0 * g.sh - g.padTop), iy1 = std::min(g.inH, (oy1 - 1) * g.sh - g.padTop + (g.kh - 1) * g.dh + 1);
    for (int iy = iy0; iy < iy1; iy++) {
      const float* row = x + ((long)b * g.inH + iy) * g.inW * cin;
      for (int j = 0; j < cols;) {  // runs of columns that read consecutive input columns (or zeros)
        int e = j + 1;
        const int ix = colMap[j];
        while (e < cols && (ix < 0 ? colMap[e] < 0 : colMap[e] == ix + (e - j))) e++;
        if (ix < 0) std::memset(xr + (long)j * cin, 0, sizeof(float) * cin * (e - j));
        else std::memcpy(xr + (long)j * cin, row + (long)ix * cin, sizeof(float) * cin * (e - j));
        j = e;
      }
      for (int p = 0; p < patterns(); p++) {
        const int t0 = patStart[p], nt = patStart[p + 1] - t0;
        for (int t = 0; t < nt; t++) src[t] = xr + (long)patTx[t0 + t] * g.dw * cin;
        sumRows(src.data(), patW.data() + t0, nt, W, H + ((size_t)p * g.inH + iy) * W);
      }
    }
  }
  // The column pass of output rows [oy0, oy1) of image b into R rows (row (oy − oy0)·outW + ox of `out`, rows of
  // Cin·n laid out [groups, n, Cin/groups]); tmp: scratch of W floats.
  void colPass(const float* H, int oy0, int oy1, float* out, float* tmp) const {
    const int cin = g.cin, n = g.numRings;
    const long rowLen = (long)cin * n;
    std::vector<const float*> src(g.kh);
    for (int oy = oy0; oy < oy1; oy++) {
      float* o = out + (long)(oy - oy0) * g.outW * rowLen;
      for (int r = 0; r < n; r++) {
        int ns = 0;
        for (int i = ringStart[r]; i < ringStart[r + 1]; i++) {
          const int iy = inputRow(g, oy, rowTy[i]);
          if (iy >= 0) src[ns++] = H + ((size_t)rowPat[i] * g.inH + iy) * W;
        }
        if (ns == 0) std::memset(tmp, 0, sizeof(float) * W);
        else sumRows(src.data(), nullptr, ns, W, tmp);
        copyOut(tmp, r, o);
      }
    }
  }
  // Ring sums of output rows [r0, r1) (row = b·outH + oy) into out (rows of R from row r0·outW), on this thread.
  void rows(const float* x, long r0, long r1, float* out) const {
    float *H = scratch(0, hFloats()), *xr = scratch(1, (size_t)cols * g.cin), *tmp = scratch(2, W);
    for (long rb = r0; rb < r1;) {
      const long b = rb / g.outH;
      const int oy0 = (int)(rb % g.outH), oy1 = (int)std::min<long>(g.outH, r1 - b * g.outH);
      rowPass(x, b, H, xr, oy0, oy1);
      colPass(H, oy0, oy1, out + (rb - r0) * g.outW * (long)g.cin * g.numRings, tmp);
      rb = b * g.outH + oy1;
    }
  }
};
}  // namespace

void ringSum(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, float* R) {
  const RingPlan plan(g, taps, nTaps);
  const long P = (long)g.batch * g.outH * g.outW;
  const long rowLen = (long)g.cin * g.numRings;
  if (C1Path::applies(g)) {
    const C1Path c1(g, plan, x);
    parallelFor((long)g.batch * g.outH, [&](long rb, long re) { c1.rows(plan, rb, re, R, nullptr, 0, nullptr); }, 4);
    return;
  }
  if (RowColRings::applies(g)) {
    const RowColRings rc(g, plan);
    if (rc.ok()) {
      parallelFor(g.batch, [&](long bb, long be) {
        float *H = RowColRings::scratch(0, rc.hFloats()), *xr = RowColRings::scratch(1, (size_t)rc.cols * g.cin), *tmp = RowColRings::scratch(2, rc.W);
        for (long b = bb; b < be; b++) {
          rc.rowPass(x, b, H, xr, 0, g.outH);
          rc.colPass(H, 0, g.outH, R + b * g.outH * g.outW * rowLen, tmp);
        }
      });
      return;
    }
  }
  const ZeroPadRingSum zp(g, plan);
  if (zp.ok()) {
    // Four images per tap-list lookup (per-tap work, not FMA latency, bounds these short rings). Batch 32, one
    // thread: 24→48 k9 on 14×14 0.58 → 0.50 ms, 48→96 k5 on 7×7 0.085 → 0.072 ms.
    parallelFor(zp.sites(), [&](long sb, long se) { zp.siteRange(x, R, sb, se, (long)g.outH * g.outW, 0); }, 4);
    return;
  }
  parallelFor(P, [&](long pb, long pe) { ringSumRange(g, plan, x, R + pb * rowLen, pb, pe); }, 16);
}

namespace {
// Bias and activation (1 = ReLU) on rows that a block of the forward has just written, still in cache: the separate
// biasAct pass over all of y cost 0.09 + 0.04 + 0.02 ms for the GMR-CNN's three layers at one thread (0.10 + 0.06 +
// 0.04 at two). The same operations in the same order as biasAct: the same bits.
GMR_CLONES void blockBiasAct(float* __restrict y, long rows, int cout, const float* __restrict bias, int act) {
  for (long r = 0; r < rows; r++) {
    float* v = y + r * cout;
    if (bias)
      for (int c = 0; c < cout; c++) v[c] += bias[c];
    if (act == 1)
      for (int c = 0; c < cout; c++) v[c] = v[c] > 0.f ? v[c] : 0.f;
  }
}
}  // namespace

void gmrForwardFused(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, const float* phiT, int cout, float* y, float* keepR, const float* bias, int act) {
  const bool post = bias != nullptr || act != 0;
  const RingPlan plan(g, taps, nTaps);
  const long P = (long)g.batch * g.outH * g.outW;
  const int cinG = g.cin / g.groups, coutG = cout / g.groups, k = g.numRings * cinG;
  const long rowLen = (long)g.cin * g.numRings;
  if (C1Path::applies(g)) {
    // One input channel: the product with Φ is n multiply-adds per output, done per position (phiR = Φ as [n, Cout]),
    // R written on the way when kept (1→24 k9 28², batch 32, one thread: ringSum + SGEMM 0.41 → 0.31 ms).
    std::vector<float> phiR((size_t)g.numRings * cout);
    for (int c = 0; c < cout; c++)
      for (int r = 0; r < g.numRings; r++) phiR[(size_t)r * cout + c] = phiT[(size_t)c * g.numRings + r];
    const C1Path c1(g, plan, x);
    // x scanned only when some row would be skipped (a dense Φ, as the GMR-CNN's, skips nothing).
    MixRows mr(phiR.data(), g.numRings, cout, false);
    if (!mr.dense && !allFinite(x, (long)g.batch * g.inH * g.inW)) mr = MixRows(phiR.data(), g.numRings, cout, true);
    parallelFor((long)g.batch * g.outH, [&](long rb, long re) {
      if (!post) return c1.rows(plan, rb, re, keepR, phiR.data(), cout, y, &mr);
      for (long r0 = rb; r0 < re; r0 += 8) {  // 8 rows of outputs: 21 KB for 28 × 24, still in cache for the bias
        const long r1 = std::min(re, r0 + 8);
        c1.rows(plan, r0, r1, keepR, phiR.data(), cout, y, &mr);
        blockBiasAct(y + r0 * g.outW * cout, (r1 - r0) * g.outW, cout, bias, act);
      }
    }, 4);
    return;
  }
  if (keepR) {
    // R kept whole: the ring sums, then one threaded product per group (from blocks in cache this measured slower:
    // 24→48 k9 14², batch 32, one thread, 1.14 → 1.32 ms).
    ringSum(g, taps, nTaps, x, keepR);
    for (int grp = 0; grp < g.groups; grp++)
      sgemm(false, true, (int)P, coutG, k, 1.f, keepR + (long)grp * k, (int)rowLen, phiT + (long)grp * coutG * k, k, 0.f, y + (long)grp * coutG, cout);
    if (post) parallelFor(P, [&](long pb, long pe) { blockBiasAct(y + pb * cout, pe - pb, cout, bias, act); }, 256);
    return;
  }
  // Rows [0, rows) of the ring sums at rs (rows of rowLen) times Φᵀ into ys (rows of Cout), Φ packed once per call
  // (per block it was repacked, transposed, every time: 24→48 k9 14², batch 32, one thread, 1.25 → 1.19 ms). The
  // same tile and order of sums as sgemmOn's (the same bits as before).
  const size_t packed = (size_t)packedBSize(k, coutG);  // a multiple of 16 floats: each group's panels 64-byte aligned
  std::unique_ptr<float, decltype(&std::free)> phiP((float*)std::aligned_alloc(64, g.groups * packed * sizeof(float)), &std::free);
  for (int grp = 0; grp < g.groups; grp++) packBFull(k, coutG, phiT + (long)grp * coutG * k, k, true, phiP.get() + grp * packed);
  auto mix = [&](const float* rs, long rows, float* ys) {
    for (int grp = 0; grp < g.groups; grp++) gemmPackedB((int)rows, coutG, k, rs + (long)grp * k, (int)rowLen, phiP.get() + grp * packed, ys + (long)grp * coutG, cout);
  };
  if (RowColRings::applies(g)) {
    const RowColRings rc(g, plan);
    if (rc.ok()) {
      // Per image: the row pass, then blocks of output rows (64 positions or more) through the column pass into
      // local rows of R and the product.
      const int RB = std::max(1, (64 + g.outW - 1) / g.outW);
      parallelFor(g.batch, [&](long bb, long be) {
        float *H = RowColRings::scratch(0, rc.hFloats()), *xr = RowColRings::scratch(1, (size_t)rc.cols * g.cin), *tmp = RowColRings::scratch(2, rc.W);
        float* rb = RowColRings::scratch(3, (size_t)RB * g.outW * rowLen);
        for (long b = bb; b < be; b++) {
          rc.rowPass(x, b, H, xr, 0, g.outH);
          for (int oy0 = 0; oy0 < g.outH; oy0 += RB) {
            const int oy1 = std::min(g.outH, oy0 + RB);
            const long rows = (long)(oy1 - oy0) * g.outW;
            float* out = y + (b * g.outH + oy0) * g.outW * cout;
            rc.colPass(H, oy0, oy1, rb, tmp);
            mix(rb, rows, out);
            if (post) blockBiasAct(out, rows, cout, bias, act);
          }
        }
      });
      return;
    }
  }
  const ZeroPadRingSum zp(g, plan);
  if (zp.ok()) {
    // Blocks of SB positions of a plane in QI images (the ring sums' four images per tap list): ring sums and product
    // in local rows (image-major), then each image's rows copied to y. Batch 32, one thread: 24→48 k9 14² 1.27 →
    // 1.13 ms, 48→96 k5 7² 0.47 → 0.45 ms (SB = 128 the same; 24 or 32 with the product per image, or R written
    // whole for the tape from these blocks, slower than ringSum + one SGEMM).
    constexpr long SB = 64;
    const long plane = (long)g.outH * g.outW, perGroup = (plane + SB - 1) / SB, QI = ZeroPadRingSum::QI;
    parallelFor((g.batch + QI - 1) / QI * perGroup, [&](long bb, long be) {
      // Each thread's block buffers kept from call to call, 64-byte aligned (allocated and zeroed per call, 16-byte
      // aligned: 48→96 k5 7², batch 32, one thread, 0.37 → 0.345 ms; 24→48 k9 14² 0.99 → 0.97 ms).
      struct Keep {
        float* p = nullptr;
        size_t n = 0;
        float* get(size_t want) {
          if (want > n) std::free(p), p = (float*)std::aligned_alloc(64, (want * sizeof(float) + 63) / 64 * 64), n = want;
          return p;
        }
        ~Keep() { std::free(p); }
      };
      static thread_local Keep rbKeep, ybKeep;
      float *rb = rbKeep.get((size_t)(QI * SB * rowLen)), *yb = ybKeep.get((size_t)(QI * SB * cout));
      for (long blk = bb; blk < be; blk++) {
        // The plane in perGroup even blocks (14² in four blocks of 49, not three of 64 and one of 4: 1.19 → 1.13 ms).
        const long b0 = blk / perGroup * QI, a0 = plane * (blk % perGroup) / perGroup, a1 = plane * (blk % perGroup + 1) / perGroup, len = a1 - a0;
        const long q = std::min<long>(QI, g.batch - b0), s0 = b0 / QI * plane;
        zp.siteRange(x, rb, s0 + a0, s0 + a1, len, b0 * len + a0);
        // A block of whole planes is rows [b0·plane, (b0 + q)·plane) of y as they stand: no copy.
        float* out = len == plane ? y + b0 * plane * cout : yb;
        mix(rb, q * len, out);
        if (post) blockBiasAct(out, q * len, cout, bias, act);
        if (out == yb)
          for (long i = 0; i < q; i++) std::memcpy(y + ((b0 + i) * plane + a0) * cout, yb + i * len * cout, (size_t)(len * cout) * sizeof(float));
      }
    });
    return;
  }
  constexpr long BLOCK = 96;  // positions per block: R block of 96 × Cin·n floats stays in L2
  const long blocks = (P + BLOCK - 1) / BLOCK;
  parallelFor(blocks, [&](long bb, long be) {
    std::vector<float> rb((size_t)(BLOCK * rowLen));
    for (long blk = bb; blk < be; blk++) {
      const long p0 = blk * BLOCK, p1 = std::min(P, p0 + BLOCK);
      ringSumRange(g, plan, x, rb.data(), p0, p1);
      mix(rb.data(), p1 - p0, y + p0 * cout);
      if (post) blockBiasAct(y + p0 * cout, p1 - p0, cout, bias, act);
    }
  });
}

namespace {
// dst[c·ldd + i] = src[i·lds + c] for i < rows, c < cols, in 16 × 16 tiles, out of line. (The plain double loop
// inside gmrFilterGrad went from 0.87 to 1.23 ms for 24→48 k9 14² after an unrelated edit elsewhere in this file:
// its code generation is not to be relied on.)
__attribute__((noinline)) void transposeTo(const float* src, long lds, int rows, int cols, float* dst, long ldd) {
  for (int i0 = 0; i0 < rows; i0 += 16)
    for (int c0 = 0; c0 < cols; c0 += 16) {
      const int i1 = std::min(rows, i0 + 16), c1 = std::min(cols, c0 + 16);
      for (int c = c0; c < c1; c++)
        for (int i = i0; i < i1; i++) dst[(long)c * ldd + i] = src[(long)i * lds + c];
    }
}

// Filter gradient as rank-1 updates: acc[c, j] += Σ_i dy[i, c] · a[i·sa + j·sj] for positions i < len (in order),
// c < cout (dy rows of stride ldy), j < nk. A tile of NK columns j × V vectors of 16 output channels stays in
// registers over all positions: per position V loads of dy, NK broadcasts and NK·V FMAs, dy and R read in place. The
// packed SGEMM (dy transposed into its A panels) used 5 of its 16 tile columns for a first layer's n = 5 rings
// (1→24 k9 28², batch 32: 0.46 → 0.17 ms at one thread).
template <int NK, int V>
__attribute__((target("avx512f"))) void outerAccAvx512(const float* a, long sa, long sj, int len, const float* dy, long ldy, int cout, float* acc, int ldAcc) {
  __mmask16 m[V];
  for (int v = 0; v < V; v++) {
    const int left = cout - 16 * v;
    m[v] = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
  }
  // Every loop over s unrolled (pragmas): otherwise GCC kept s in memory as well and wrote all NK·V accumulators back
  // to the stack every position (1→24 k9 28², batch 32, one thread: the filter gradient 0.22–0.26 → 0.18–0.22 ms).
  __m512 s[NK][V];
#pragma GCC unroll 8
  for (int j = 0; j < NK; j++)
#pragma GCC unroll 4
    for (int v = 0; v < V; v++) s[j][v] = _mm512_setzero_ps();
  for (int i = 0; i < len; i++) {
    __m512 d[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; v++) d[v] = _mm512_maskz_loadu_ps(m[v], dy + (long)i * ldy + 16 * v);
#pragma GCC unroll 8
    for (int j = 0; j < NK; j++) {
      const __m512 b = _mm512_set1_ps(a[(long)i * sa + (long)j * sj]);
#pragma GCC unroll 4
      for (int v = 0; v < V; v++) s[j][v] = _mm512_fmadd_ps(b, d[v], s[j][v]);
    }
  }
  alignas(64) float tmp[NK][V][16];
#pragma GCC unroll 8
  for (int j = 0; j < NK; j++)
#pragma GCC unroll 4
    for (int v = 0; v < V; v++) _mm512_store_ps(tmp[j][v], s[j][v]);
  for (int j = 0; j < NK; j++)
    for (int v = 0; v < V; v++)
      for (int l = 0; l < 16 && 16 * v + l < cout; l++) acc[(long)(16 * v + l) * ldAcc + j] += tmp[j][v][l];
}

// Columns in tiles of NK (up to 8; 6 for 4 vectors: at most 24 accumulators of the 32 registers).
template <int V>
void outerAccV(int nk, const float* a, long sa, long sj, int len, const float* dy, long ldy, int cout, float* acc, int ldAcc) {
  constexpr int MAXK = V >= 4 ? 6 : 8;
  for (int j0 = 0; j0 < nk; j0 += MAXK) {
    const float* aj = a + (long)j0 * sj;
    float* cj = acc + j0;
    switch (std::min(MAXK, nk - j0)) {
      case 1: outerAccAvx512<1, V>(aj, sa, sj, len, dy, ldy, cout, cj, ldAcc); break;
      case 2: outerAccAvx512<2, V>(aj, sa, sj, len, dy, ldy, cout, cj, ldAcc); break;
      case 3: outerAccAvx512<3, V>(aj, sa, sj, len, dy, ldy, cout, cj, ldAcc); break;
      case 4: outerAccAvx512<4, V>(aj, sa, sj, len, dy, ldy, cout, cj, ldAcc); break;
      case 5: outerAccAvx512<5, V>(aj, sa, sj, len, dy, ldy, cout, cj, ldAcc); break;
      case 6: outerAccAvx512<6, V>(aj, sa, sj, len, dy, ldy, cout, cj, ldAcc); break;
      case 7: outerAccAvx512<(MAXK >= 7 ? 7 : 1), V>(aj, sa, sj, len, dy, ldy, cout, cj, ldAcc); break;
      default: outerAccAvx512<MAXK, V>(aj, sa, sj, len, dy, ldy, cout, cj, ldAcc); break;
    }
  }
}

// The same product with the lanes along the columns instead (k ≤ 16, a[i, j] at i·sa + j): CB output channels, one
// accumulator of k lanes each, so a position costs one load of its k values and CB FMAs with dy broadcast from
// memory. For a steerable first layer's 16 rows and 56 channels: 56 FMAs a position rather than outerAcc's 4 vectors
// × 16 columns with 8 of the last vector's lanes idle. Each acc[c, j] is the same chain of FMAs over the positions in
// order as outerAcc's: the same bits.
template <int CB>
__attribute__((target("avx512f"))) void outerAccKAvx512(int k, const float* a, long sa, int len, const float* dy, long ldy, float* acc, int ldAcc) {
  const __mmask16 m = k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << k) - 1);
  // Unrolled by hand's worth of pragmas: GCC left a loop of 28 in place, the accumulators on the stack.
  __m512 s[CB];
#pragma GCC unroll 32
  for (int c = 0; c < CB; c++) s[c] = _mm512_setzero_ps();
  for (int i = 0; i < len; i++) {
    const __m512 row = _mm512_maskz_loadu_ps(m, a + (long)i * sa);
    const float* d = dy + (long)i * ldy;
#pragma GCC unroll 32
    for (int c = 0; c < CB; c++) s[c] = _mm512_fmadd_ps(_mm512_set1_ps(d[c]), row, s[c]);
  }
#pragma GCC unroll 32
  for (int c = 0; c < CB; c++) {
    float* o = acc + (long)c * ldAcc;
    _mm512_mask_storeu_ps(o, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, o), s[c]));
  }
}

using OuterK = void (*)(int, const float*, long, int, const float*, long, float*, int);
template <int... I>
constexpr std::array<OuterK, sizeof...(I)> outerKTable(std::integer_sequence<int, I...>) {
  return {&outerAccKAvx512<I + 1>...};
}

// outerAcc with lanes along the columns (sj = 1, nk ≤ 16): channels in even blocks of at most 28 (28 accumulators and
// the row: 29 of the 32 registers).
void outerAccK(int nk, const float* a, long sa, int len, const float* dy, long ldy, int cout, float* acc, int ldAcc) {
  static constexpr auto table = outerKTable(std::make_integer_sequence<int, 28>{});
  const int blocks = (cout + 27) / 28;
  for (int b = 0; b < blocks; b++) {
    const int c0 = (int)((long)cout * b / blocks), c1 = (int)((long)cout * (b + 1) / blocks);
    table[c1 - c0 - 1](nk, a, sa, len, dy + c0, ldy, acc + (long)c0 * ldAcc, ldAcc);
  }
}

// Whether outerAccK takes fewer FMAs a position than outerAcc: Cout (one per channel) against ⌈Cout/16⌉·k.
bool preferOuterK(int k, int cout) { return k <= 16 && cout <= (cout + 15) / 16 * k; }

// acc [cout, ldAcc] += Σ_i dy[i, 0..cout)ᵀ · a[i, 0..nk) (a[i, j] at i·sa + j·sj), positions in order; output
// channels in blocks of at most 64 (96 as 48 + 48, so that no vector is masked).
__attribute__((target("avx512f"))) void outerAcc(int nk, const float* a, long sa, long sj, int len, const float* dy, long ldy, int cout, float* acc, int ldAcc) {
  for (int c0 = 0; c0 < cout;) {
    const int left = cout - c0;
    const int cb = left <= 64 ? left : left % 48 == 0 ? 48 : 64;
    const float* d = dy + c0;
    float* o = acc + (long)c0 * ldAcc;
    if (cb <= 16) outerAccV<1>(nk, a, sa, sj, len, d, ldy, cb, o, ldAcc);
    else if (cb <= 32) outerAccV<2>(nk, a, sa, sj, len, d, ldy, cb, o, ldAcc);
    else if (cb <= 48) outerAccV<3>(nk, a, sa, sj, len, d, ldy, cb, o, ldAcc);
    else outerAccV<4>(nk, a, sa, sj, len, d, ldy, cb, o, ldAcc);
    c0 += cb;
  }
}
}  // namespace

// The filter gradient as a split over positions: P (up to batch·H·W = 25088) is cut into a fixed number of chunks of
// whole output rows, FG_CHUNK positions or so, independent of the thread count; each chunk's partial dΦᵀ comes from
// one single-threaded product (its ring sums computed there when the forward did not keep R, so R is never written
// whole), and the partials are summed in chunk order. Same bits at any thread count. The threaded SGEMM over the
// whole P instead synchronised its threads per 256-wide block of P and repacked dy per column group (at 2 threads up
// to 1.8× the CPU time of one).
void gmrFilterGrad(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, const float* R, const float* dy, int cout, float* dphi) {
  constexpr long FG_CHUNK = 1024;
  constexpr size_t MAX_PARTIALS = 1 << 22;  // floats of all the chunks' partials together; past it one chunk per group
  const RingPlan plan(g, taps, nTaps);
  const int cinG = g.cin / g.groups, coutG = cout / g.groups, n = g.numRings, k = n * cinG;
  const long rowLen = (long)g.cin * n;
  const long rowsAll = (long)g.batch * g.outH;
  // 1024 positions per chunk: even shares (a multiple of 4 chunks of equal rows; 48→96 k5 7², batch 32, cut into 4 ×
  // 392 positions rather than 1022 + 546) measured no faster at 2 threads (0.33 → 0.34 ms wall).
  long rowsPer = std::max<long>(1, FG_CHUNK / g.outW);
  long chunks = (rowsAll + rowsPer - 1) / rowsPer;
  if ((size_t)chunks * cout * k > MAX_PARTIALS) rowsPer = rowsAll, chunks = 1;
  // outerAcc (AVX-512) rather than the packed SGEMM for a few columns (k ≤ 16, where the SGEMM's transposed dy and
  // its 16-column tiles cost more than the products: 1→56 k7 with 16 rows, 28², batch 32, one thread, 1.39 → 0.91
  // ms; with outerAccK's lanes along the 16 columns 0.55 ms), while a chunk's R and dy stay in L2. Wider, the packed
  // SGEMM is faster: outerAcc at one thread, 24→48 k9 14² 1.02 → 1.19 ms, 48→96 k5 7² 0.51 → 0.62 ms.
  const bool outer = useAvx512() && k <= 16 && (double)rowsPer * g.outW * (rowLen + cout) * sizeof(float) <= 1.5 * (1 << 20);
  const bool outerK = outer && preferOuterK(k, coutG);
  const bool c1 = !R && C1Path::applies(g);
  std::unique_ptr<C1Path> c1p(c1 ? new C1Path(g, plan, x) : nullptr);
  std::unique_ptr<RowColRings> rcr(!R && !c1 && RowColRings::applies(g) ? new RowColRings(g, plan) : nullptr);
  if (rcr && !rcr->ok()) rcr.reset();
  std::unique_ptr<ZeroPadRingSum> zp(!R && !c1 && !rcr ? new ZeroPadRingSum(g, plan) : nullptr);
  std::vector<float> part((size_t)chunks * cout * k);
  // dy of a chunk transposed to [Cout/groups, positions] per group: the SGEMM then reads A in place with its AVX-512
  // tile (a transposed A goes through the packed AVX2 tile). Batch 32, one thread: 24→48 k9 14² 1.06 → 0.89 ms,
  // 48→96 k5 7² 0.52 → 0.43 ms. Rows padded by 16 floats so that they do not lie 4 KiB apart. Chunks of 512 or 2048
  // positions measured the same at one thread; 2048 leaves 48→96 k5 7² one chunk (no second thread).
  const long ldT = rowsPer * g.outW + 16;
  parallelFor(chunks, [&](long cb, long ce) {
    std::vector<float> rbuf(R ? 0 : (size_t)(rowsPer * g.outW * rowLen));
    std::vector<float> dyT(outer ? 0 : (size_t)coutG * ldT);
    for (long ch = cb; ch < ce; ch++) {
      const long r0 = ch * rowsPer, r1 = std::min(rowsAll, r0 + rowsPer);
      const long p0 = r0 * g.outW, p1 = r1 * g.outW;
      const float* rc = R ? R + p0 * rowLen : rbuf.data();
      if (!R) {
        if (c1) c1p->rows(plan, r0, r1, rbuf.data() - p0 * n, nullptr, 0, nullptr);
        else if (rcr) rcr->rows(x, r0, r1, rbuf.data());
        else if (zp->ok()) zp->range(x, rbuf.data(), p0, p1);
        else ringSumRange(g, plan, x, rbuf.data(), p0, p1);
      }
      float* pc = part.data() + (size_t)ch * cout * k;
      if (outer) {
        std::fill(pc, pc + (size_t)cout * k, 0.f);
        for (int grp = 0; grp < g.groups; grp++) {
          const float* a = rc + (long)grp * k;
          const float* d = dy + p0 * cout + (long)grp * coutG;
          float* o = pc + (size_t)grp * coutG * k;
          if (outerK) outerAccK(k, a, rowLen, (int)(p1 - p0), d, cout, coutG, o, k);
          else outerAcc(k, a, rowLen, 1, (int)(p1 - p0), d, cout, coutG, o, k);
        }
        continue;
      }
      const int len = (int)(p1 - p0);
      for (int grp = 0; grp < g.groups; grp++) {
        const float* d = dy + p0 * cout + (long)grp * coutG;
        transposeTo(d, cout, len, coutG, dyT.data(), ldT);
        sgemmOn(false, false, false, coutG, k, len, 1.f, dyT.data(), (int)ldT, rc + (long)grp * k, (int)rowLen, 0.f, pc + (size_t)grp * coutG * k, k);
      }
    }
  });
  // dΦ[c, ci, r] = Σ_chunks part[ch][c, r·cinG + ci], chunks in order (core's layout [Cout, Cin/groups, n]).
  parallelFor(cout, [&](long cb, long ce) {
    std::vector<float> s((size_t)k);
    for (long c = cb; c < ce; c++) {
      std::fill(s.begin(), s.end(), 0.f);
      for (long ch = 0; ch < chunks; ch++) {
        const float* pc = part.data() + ((size_t)ch * cout + c) * k;
        for (int j = 0; j < k; j++) s[j] += pc[j];
      }
      for (int r = 0; r < n; r++)
        for (int ci = 0; ci < cinG; ci++) dphi[((size_t)c * cinG + ci) * n + r] = s[(size_t)r * cinG + ci];
    }
  }, 8);
}

namespace {
// ringScatter for one input channel, zero padding and stride 1 along the row: 16 input pixels of a row at a time.
// For each output row that reads input row iy (the inverse row list), the ring values D of that output row are laid
// out per ring as a zero-padded line, so that a tap (ty, tx) adds 16 consecutive values of its ring's line.
void ringScatterC1(const RingGeom& g, const RingTap* taps, int nTaps, const float* D, const std::vector<int>& rStart, const std::vector<int>& rPairs, float* dx) {
  const int n = g.numRings, span = (g.kw - 1) * g.dw;
  const int wPad = (g.inW + 15) / 16 * 16;
  const int L = wPad + g.padLeft + span;  // lane ix of tap tx reads line[ix + padLeft + span − tx·dw] = D[ox = that − span]
  std::vector<std::vector<int>> byRow(g.kh);
  for (int t = 0; t < nTaps; t++) byRow[taps[t].ty].push_back(t);
  parallelFor((long)g.batch * g.inH, [&](long tb, long te) {
    std::vector<float> line((size_t)n * L), acc((size_t)wPad);
    for (long task = tb; task < te; task++) {
      const long b = task / g.inH;
      const int iy = (int)(task % g.inH);
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int a = rStart[iy]; a < rStart[iy + 1]; a++) {
        const int oy = rPairs[2 * a], ty = rPairs[2 * a + 1];
        if (byRow[ty].empty()) continue;
        const float* drow = D + (b * g.outH + oy) * g.outW * (long)n;
        std::fill(line.begin(), line.end(), 0.f);
        for (int ox = 0; ox < g.outW && ox + span < L; ox++)
          for (int r = 0; r < n; r++) line[(size_t)r * L + ox + span] = drow[(long)ox * n + r];
        for (int t : byRow[ty]) {
          const float* src = line.data() + (size_t)taps[t].ring * L + g.padLeft + span - taps[t].tx * g.dw;
          for (int ix0 = 0; ix0 < wPad; ix0 += 16) fma16(acc.data() + ix0, src + ix0, taps[t].w);
        }
      }
      std::memcpy(dx + (b * g.inH + iy) * g.inW, acc.data(), (size_t)g.inW * sizeof(float));
    }
  });
}
}  // namespace

// The transpose of ringSum in gather form: for every input pixel, the (output position, tap) pairs that read it
// (inverse row and column lists, which cover every padding mode), accumulated in registers and written once.
void ringScatter(const RingGeom& g, const RingTap* taps, int nTaps, const float* D, float* dx) {
  static const RingBlock block = pickRingBlock();
  if (g.cin > 1 && ZeroPadScatter::applies(g)) {
    const ZeroPadScatter zs(g, taps, nTaps);
    if (zs.ok()) return zs.run(D, dx);
  }
  const Maps m(g);
  const int cinG = g.cin / g.groups, n = g.numRings;
  const long rowLen = (long)g.cin * n;
  // Inverse lists per axis: input coordinate → (output coordinate, kernel offset) pairs (CSR).
  auto invert = [](const std::vector<int>& map, int outN, int k, int inN, std::vector<int>& start, std::vector<int>& pairs) {
    start.assign(inN + 1, 0);
    for (int o = 0; o < outN; o++)
      for (int t = 0; t < k; t++) {
        const int i = map[(size_t)o * k + t];
        if (i >= 0) start[i + 1]++;
      }
    for (int i = 0; i < inN; i++) start[i + 1] += start[i];
    pairs.assign((size_t)start[inN] * 2, 0);
    std::vector<int> fill(start.begin(), start.end() - 1);
    for (int o = 0; o < outN; o++)
      for (int t = 0; t < k; t++) {
        const int i = map[(size_t)o * k + t];
        if (i < 0) continue;
        const int at = fill[i]++;
        pairs[2 * at] = o, pairs[2 * at + 1] = t;
      }
  };
  std::vector<int> rStart, rPairs, cStart, cPairs;
  invert(m.rows, g.outH, g.kh, g.inH, rStart, rPairs);
  if (g.cin == 1 && g.sw == 1 && g.padMode == PAD_ZEROS) return ringScatterC1(g, taps, nTaps, D, rStart, rPairs, dx);
  invert(m.cols, g.outW, g.kw, g.inW, cStart, cPairs);
  // Ring entries of each kernel tap (CSR over ty·kw + tx).
  std::vector<int> tStart((size_t)g.kh * g.kw + 1, 0);
  for (int t = 0; t < nTaps; t++) tStart[(size_t)taps[t].ty * g.kw + taps[t].tx + 1]++;
  for (size_t i = 0; i + 1 < tStart.size(); i++) tStart[i + 1] += tStart[i];
  std::vector<int> tRing(nTaps);
  std::vector<float> tW(nTaps);
  {
    std::vector<int> fill(tStart.begin(), tStart.end() - 1);
    for (int t = 0; t < nTaps; t++) {
      const int at = fill[(size_t)taps[t].ty * g.kw + taps[t].tx]++;
      tRing[at] = taps[t].ring, tW[at] = taps[t].w;
    }
  }
  parallelFor((long)g.batch * g.inH, [&](long tb, long te) {
    std::vector<const float*> src;
    std::vector<float> w;
    for (long task = tb; task < te; task++) {
      const int b = (int)(task / g.inH), iy = (int)(task % g.inH);
      for (int ix = 0; ix < g.inW; ix++) {
        src.clear();
        w.clear();
        for (int a = rStart[iy]; a < rStart[iy + 1]; a++) {
          const int oy = rPairs[2 * a], ty = rPairs[2 * a + 1];
          for (int c = cStart[ix]; c < cStart[ix + 1]; c++) {
            const int ox = cPairs[2 * c], tx = cPairs[2 * c + 1];
            const size_t tap = (size_t)ty * g.kw + tx;
            const float* row = D + (((long)b * g.outH + oy) * g.outW + ox) * rowLen;
            for (int e = tStart[tap]; e < tStart[tap + 1]; e++) {
              src.push_back(row + (long)tRing[e] * cinG);
              w.push_back(tW[e]);
            }
          }
        }
        float* out = dx + (((long)b * g.inH + iy) * g.inW + ix) * g.cin;
        for (int grp = 0; grp < g.groups; grp++)
          for (int c0 = 0; c0 < cinG; c0 += 64)
            block(src.data(), w.data(), (int)src.size(), (long)grp * n * cinG + c0, std::min(64, cinG - c0), out + (long)grp * cinG + c0);
      }
    }
  });
}

void im2col(const RingGeom& g, const float* x, float* col) {
  const Maps m(g);
  const long rowLen = (long)g.kh * g.kw * g.cin;
  const long P = (long)g.batch * g.outH * g.outW;
  parallelFor(P, [&](long pb, long pe) {
    for (long p = pb; p < pe; p++) {
      const int ox = (int)(p % g.outW);
      const int oy = (int)((p / g.outW) % g.outH);
      const int b = (int)(p / ((long)g.outW * g.outH));
      float* out = col + p * rowLen;
      for (int ty = 0; ty < g.kh; ty++) {
        const int iy = m.rows[(size_t)oy * g.kh + ty];
        for (int tx = 0; tx < g.kw; tx++) {
          const int ix = m.cols[(size_t)ox * g.kw + tx];
          float* d = out + ((long)ty * g.kw + tx) * g.cin;
          if (iy < 0 || ix < 0) std::memset(d, 0, (size_t)g.cin * sizeof(float));
          else std::memcpy(d, x + (((long)b * g.inH + iy) * g.inW + ix) * g.cin, (size_t)g.cin * sizeof(float));
        }
      }
    }
  }, 16);
}

void col2im(const RingGeom& g, const float* col, float* dx) {
  const Maps m(g);
  const long rowLen = (long)g.kh * g.kw * g.cin;
  const int threads = numThreads();
  const int chunks = g.batch >= threads ? 1 : std::min(g.cin, (threads + g.batch - 1) / g.batch);
  parallelFor((long)g.batch * chunks, [&](long tb, long te) {
    for (long task = tb; task < te; task++) {
      const int b = (int)(task / chunks), ch = (int)(task % chunks);
      const int c0 = (int)((long)g.cin * ch / chunks), c1 = (int)((long)g.cin * (ch + 1) / chunks);
      float* img = dx + (long)b * g.inH * g.inW * g.cin;
      for (long q = 0; q < (long)g.inH * g.inW; q++) std::memset(img + q * g.cin + c0, 0, (size_t)(c1 - c0) * sizeof(float));
      for (int oy = 0; oy < g.outH; oy++)
        for (int ox = 0; ox < g.outW; ox++) {
          const float* row = col + (((long)b * g.outH + oy) * g.outW + ox) * rowLen;
          for (int ty = 0; ty < g.kh; ty++) {
            const int iy = m.rows[(size_t)oy * g.kh + ty];
            if (iy < 0) continue;
            for (int tx = 0; tx < g.kw; tx++) {
              const int ix = m.cols[(size_t)ox * g.kw + tx];
              if (ix < 0) continue;
              axpy(img + ((long)iy * g.inW + ix) * g.cin + c0, row + ((long)ty * g.kw + tx) * g.cin + c0, 1.f, c1 - c0);
            }
          }
        }
    }
  });
}

namespace {
GMR_CLONES void reluRange(const float* __restrict x, float* __restrict y, long b, long e) {
  for (long i = b; i < e; i++) y[i] = x[i] > 0.f ? x[i] : 0.f;
}
// dy · step(x), as tfjs's ReLU gradient computes it (NaN where x is NaN, and 0 · dy, not 0, where x ≤ 0). Two
// selects rather than nested conditionals: GCC vectorises these as blends, while the nested form stayed a scalar
// loop with a branch per element that real activations (about half positive) mispredict: 8.5 ms → 0.85 ms for a
// 32×28×28×24 batch on one thread.
GMR_CLONES void reluGradRange(const float* __restrict dy, const float* __restrict x, float* __restrict dx, long b, long e) {
  for (long i = b; i < e; i++) {
    const float v = x[i];
    float s = v > 0.f ? 1.f : 0.f;
    s = v != v ? v : s;
    dx[i] = dy[i] * s;
  }
}
GMR_CLONES void biasActRows(float* __restrict y, const float* __restrict bias, long cols, long rb, long re, int act) {
  for (long r = rb; r < re; r++) {
    float* v = y + r * cols;
    if (bias) for (long c = 0; c < cols; c++) v[c] += bias[c];
    if (act == 1) for (long c = 0; c < cols; c++) v[c] = v[c] > 0.f ? v[c] : 0.f;
  }
}
GMR_CLONES void binaryRange(int op, const float* __restrict a, long an, const float* __restrict b, long bn, float* __restrict out, long s, long e) {
  // General periodic broadcast: a repeats with period an, b with period bn.
  for (long i = s; i < e; i++) {
    const float u = a[i % an], v = b[i % bn];
    out[i] = op == 0 ? u + v : op == 1 ? u - v : u * v;
  }
}
GMR_CLONES void binarySame(int op, const float* __restrict a, const float* __restrict b, float* __restrict out, long s, long e) {
  if (op == 0) for (long i = s; i < e; i++) out[i] = a[i] + b[i];
  else if (op == 1) for (long i = s; i < e; i++) out[i] = a[i] - b[i];
  else for (long i = s; i < e; i++) out[i] = a[i] * b[i];
}
GMR_CLONES void binaryRowVec(int op, const float* __restrict a, const float* __restrict v, long cols, float* __restrict out, long rb, long re) {
  for (long r = rb; r < re; r++) {
    const float* x = a + r * cols;
    float* o = out + r * cols;
    if (op == 0) for (long c = 0; c < cols; c++) o[c] = x[c] + v[c];
    else if (op == 1) for (long c = 0; c < cols; c++) o[c] = x[c] - v[c];
    else for (long c = 0; c < cols; c++) o[c] = x[c] * v[c];
  }
}
constexpr long EW_GRAIN = 1 << 15;
}  // namespace

namespace {
GMR_CLONES void accumulateRows(const float* __restrict x, long rows, long inner, double* __restrict acc) {
  for (long r = 0; r < rows; r++) {
    const float* v = x + r * inner;
    for (long i = 0; i < inner; i++) acc[i] += v[i];
  }
}
GMR_CLONES double sumContiguous(const float* __restrict x, long n) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  long i = 0;
  for (; i + 4 <= n; i += 4) a0 += x[i], a1 += x[i + 1], a2 += x[i + 2], a3 += x[i + 3];
  for (; i < n; i++) a0 += x[i];
  return (a0 + a1) + (a2 + a3);
}
}  // namespace

void reduceMiddle(const float* x, long outer, long red, long inner, float* out, bool mean) {
  const double scale = mean && red > 0 ? 1.0 / (double)red : 1.0;
  if (inner == 1) {
    parallelFor(outer, [&](long b, long e) {
      for (long o = b; o < e; o++) out[o] = (float)(sumContiguous(x + o * red, red) * scale);
    }, std::max(1L, EW_GRAIN / std::max(1L, red)));
    return;
  }
  // Tasks: (outer index, chunk of the reduced axis); partial sums per task, added in order afterwards.
  const int threads = numThreads();
  const long chunks = outer >= threads ? 1 : std::max(1L, std::min(red, (long)((threads + outer - 1) / outer)));
  std::vector<double> partial((size_t)(outer * chunks * inner), 0.0);
  parallelFor(outer * chunks, [&](long tb, long te) {
    for (long t = tb; t < te; t++) {
      const long o = t / chunks, c = t % chunks;
      const long r0 = red * c / chunks, r1 = red * (c + 1) / chunks;
      accumulateRows(x + (o * red + r0) * inner, r1 - r0, inner, partial.data() + (size_t)t * inner);
    }
  });
  for (long o = 0; o < outer; o++)
    for (long i = 0; i < inner; i++) {
      double s = 0;
      for (long c = 0; c < chunks; c++) s += partial[(size_t)((o * chunks + c) * inner + i)];
      out[o * inner + i] = (float)(s * scale);
    }
}

void relu(const float* x, float* y, long n) {
  parallelFor(n, [&](long b, long e) { reluRange(x, y, b, e); }, EW_GRAIN);
}
void reluGrad(const float* dy, const float* x, float* dx, long n) {
  parallelFor(n, [&](long b, long e) { reluGradRange(dy, x, dx, b, e); }, EW_GRAIN);
}
void biasAct(float* y, const float* bias, long rows, long cols, int act) {
  parallelFor(rows, [&](long b, long e) { biasActRows(y, bias, cols, b, e, act); }, std::max(1L, EW_GRAIN / std::max(1L, cols)));
}
void binary(int op, const float* a, long an, const float* b, long bn, float* out, long n) {
  if (an == n && bn == n) {
    parallelFor(n, [&](long s, long e) { binarySame(op, a, b, out, s, e); }, EW_GRAIN);
  } else if (an == n && bn > 1 && n % bn == 0) {
    const long rows = n / bn;
    parallelFor(rows, [&](long s, long e) { binaryRowVec(op, a, b, bn, out, s, e); }, std::max(1L, EW_GRAIN / bn));
  } else {
    parallelFor(n, [&](long s, long e) { binaryRange(op, a, an, b, bn, out, s, e); }, EW_GRAIN);
  }
}


namespace {
template <int OP>
GMR_CLONES void stridedRow(const float* __restrict a, int sa, const float* __restrict b, int sb, float* __restrict o, long n) {
  auto f = [](float u, float v) { return OP == 0 ? u + v : OP == 1 ? u - v : OP == 2 ? u * v : OP == 3 ? u / v : (u - v) * (u - v); };
  if (sa == 1 && sb == 1) for (long i = 0; i < n; i++) o[i] = f(a[i], b[i]);
  else if (sa == 1 && sb == 0) { const float v = b[0]; for (long i = 0; i < n; i++) o[i] = f(a[i], v); }
  else if (sa == 0 && sb == 1) { const float u = a[0]; for (long i = 0; i < n; i++) o[i] = f(u, b[i]); }
  else for (long i = 0; i < n; i++) o[i] = f(a[i * sa], b[i * sb]);
}
using RowFn = void (*)(const float*, int, const float*, int, float*, long);
const RowFn rowFns[5] = {stridedRow<0>, stridedRow<1>, stridedRow<2>, stridedRow<3>, stridedRow<4>};
}  // namespace

void binaryStrided(int op, const float* a, const int* aStrides, const float* b, const int* bStrides, float* out, const int* shape, int rank) {
  const long inner = shape[rank - 1];
  long rows = 1;
  for (int i = 0; i < rank - 1; i++) rows *= shape[i];
  RowFn fn = rowFns[op];
  parallelFor(rows, [&](long rb, long re) {
    for (long r = rb; r < re; r++) {
      long rem = r, ao = 0, bo = 0;
      for (int d = rank - 2; d >= 0; d--) {
        const long c = rem % shape[d];
        rem /= shape[d];
        ao += c * aStrides[d];
        bo += c * bStrides[d];
      }
      fn(a + ao, aStrides[rank - 1], b + bo, bStrides[rank - 1], out + r * inner, inner);
    }
  }, std::max(1L, EW_GRAIN / std::max(1L, inner)));
}

void tile(const float* x, const int* shape, const int* reps, int rank, float* out) {
  const long inner = shape[rank - 1], outInner = inner * reps[rank - 1];
  long rows = 1;
  std::vector<long> outShape(rank), xStride(rank);
  for (int d = 0; d < rank; d++) outShape[d] = (long)shape[d] * reps[d];
  xStride[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) xStride[d] = xStride[d + 1] * shape[d + 1];
  for (int d = 0; d < rank - 1; d++) rows *= outShape[d];
  parallelFor(rows, [&](long rb, long re) {
    for (long r = rb; r < re; r++) {
      long rem = r, xo = 0;
      for (int d = rank - 2; d >= 0; d--) {
        const long c = rem % outShape[d];
        rem /= outShape[d];
        xo += (c % shape[d]) * xStride[d];
      }
      float* o = out + r * outInner;
      for (int k = 0; k < reps[rank - 1]; k++) std::memcpy(o + k * inner, x + xo, (size_t)inner * sizeof(float));
    }
  }, std::max(1L, EW_GRAIN / std::max(1L, outInner)));
}

namespace {
// Average pooling, vectorised over the channels (NHWC: a pixel's C values are contiguous; AVX-512 clones). Each
// window's taps are added in order (iy, ix) onto 0, then scaled by 1/count, as before, without the per-tap axpy calls
// and the scratch accumulator; a whole 2×2 window in one pass (32×28²×16, 2×2/2, one thread: 0.125 → 0.037 ms).
GMR_CLONES512 void avgPoolRows(const RingGeom& g, const float* __restrict x, float* __restrict y, long tb, long te) {
  const long C = g.cin;
  for (long t = tb; t < te; t++) {
    const int b = (int)(t / g.outH), oy = (int)(t % g.outH);
    const int y0 = oy * g.sh - g.padTop;
    const int ya = std::max(0, y0), yb = std::min(g.inH, y0 + g.kh);
    for (int ox = 0; ox < g.outW; ox++) {
      const int x0 = ox * g.sw - g.padLeft;
      const int xa = std::max(0, x0), xb = std::min(g.inW, x0 + g.kw);
      float* __restrict o = y + (((long)b * g.outH + oy) * g.outW + ox) * C;
      if (yb - ya == 2 && xb - xa == 2) {
        // A whole 2×2 window (the models' pools): the same sum in one pass, in registers.
        const float* __restrict s0 = x + (((long)b * g.inH + ya) * g.inW + xa) * C;
        const float* __restrict s1 = s0 + (long)g.inW * C;
        for (long c = 0; c < C; c++) o[c] = ((((0.f + s0[c]) + s0[C + c]) + s1[c]) + s1[C + c]) * 0.25f;
        continue;
      }
      for (long c = 0; c < C; c++) o[c] = 0.f;
      const int cnt = std::max(0, yb - ya) * std::max(0, xb - xa);
      if (cnt == 0) continue;
      for (int iy = ya; iy < yb; iy++)
        for (int ix = xa; ix < xb; ix++) {
          const float* __restrict s = x + (((long)b * g.inH + iy) * g.inW + ix) * C;
          for (long c = 0; c < C; c++) o[c] += s[c];
        }
      const float inv = 1.f / (float)cnt;
      for (long c = 0; c < C; c++) o[c] *= inv;
    }
  }
}

// The gradient of a pool whose windows do not overlap (stride = size, the models' 2×2/2): each input pixel takes
// (0 + dy)·mult of the one window holding it, or 0; one pass over dx with dy's row read once per window row. The
// general form below walks every tap of every input pixel with a divisibility test, ~30 cycles of integer work per
// pixel for one vector of channels: 0.31 ms for 32×28²×16 at one thread, 0.06 ms in this form.
GMR_CLONES512 void avgPoolGradTiled(const RingGeom& g, const float* __restrict dy, float* __restrict dx, float mult, long tb, long te) {
  const long C = g.cin;
  for (long t = tb; t < te; t++) {
    const int b = (int)(t / g.inH), iy = (int)(t % g.inH);
    float* __restrict row = dx + ((long)b * g.inH + iy) * g.inW * C;
    const int py = iy + g.padTop, oy = py / g.sh;
    if (oy >= g.outH) {
      for (long i = 0; i < (long)g.inW * C; i++) row[i] = 0.f;
      continue;
    }
    const float* d = dy + ((long)b * g.outH + oy) * g.outW * C;
    for (int ix = 0; ix < g.inW; ix++) {
      float* __restrict o = row + (long)ix * C;
      const int ox = (ix + g.padLeft) / g.sw;
      if (ox >= g.outW) {
        for (long c = 0; c < C; c++) o[c] = 0.f;
        continue;
      }
      const float* __restrict s = d + (long)ox * C;
      for (long c = 0; c < C; c++) o[c] = (0.f + s[c]) * mult;
    }
  }
}

// Any window: each input pixel sums dy over the windows that hold it (taps in order (ty, tx) onto 0), times mult.
GMR_CLONES512 void avgPoolGradRows(const RingGeom& g, const float* __restrict dy, float* __restrict dx, float mult, long tb, long te) {
  const long C = g.cin;
  for (long t = tb; t < te; t++) {
    const int b = (int)(t / g.inH), iy = (int)(t % g.inH);
    for (int ix = 0; ix < g.inW; ix++) {
      float* __restrict o = dx + (((long)b * g.inH + iy) * g.inW + ix) * C;
      for (long c = 0; c < C; c++) o[c] = 0.f;
      for (int ty = 0; ty < g.kh; ty++) {
        const int num = iy + g.padTop - ty;
        if (num < 0 || num % g.sh) continue;
        const int oy = num / g.sh;
        if (oy >= g.outH) continue;
        for (int tx = 0; tx < g.kw; tx++) {
          const int nx = ix + g.padLeft - tx;
          if (nx < 0 || nx % g.sw) continue;
          const int ox = nx / g.sw;
          if (ox >= g.outW) continue;
          const float* __restrict s = dy + (((long)b * g.outH + oy) * g.outW + ox) * C;
          for (long c = 0; c < C; c++) o[c] += s[c];
        }
      }
      for (long c = 0; c < C; c++) o[c] *= mult;
    }
  }
}

// Rows per task: ~32 K values of the larger side, so that a 7×7 output is not cut into tasks smaller than a hand-off.
long poolGrain(const RingGeom& g, long rowValues) { return std::max(1L, (1L << 15) / std::max(1L, rowValues)); }
}  // namespace

void avgPool(const RingGeom& g, const float* x, float* y) {
  const long inRows = (long)g.inW * g.cin * std::max(1, g.kh);
  parallelFor((long)g.batch * g.outH, [&](long tb, long te) { avgPoolRows(g, x, y, tb, te); }, poolGrain(g, inRows));
}

void avgPoolGrad(const RingGeom& g, const float* dy, float* dx) {
  const float mult = 1.f / (float)(g.kh * g.kw);
  const long rows = (long)g.batch * g.inH, grain = poolGrain(g, (long)g.inW * g.cin);
  // Windows that tile the input (stride = size, padding inside one window) take the direct form.
  if (g.kh == g.sh && g.kw == g.sw && g.padTop >= 0 && g.padLeft >= 0 && g.padTop < g.sh && g.padLeft < g.sw)
    parallelFor(rows, [&](long tb, long te) { avgPoolGradTiled(g, dy, dx, mult, tb, te); }, grain);
  else
    parallelFor(rows, [&](long tb, long te) { avgPoolGradRows(g, dy, dx, mult, tb, te); }, grain);
}

namespace {
GMR_CLONES void bnRows(const float* __restrict x, long C, const float* __restrict m, const float* __restrict inv, const float* __restrict off, float* __restrict y, long rb, long re) {
  for (long r = rb; r < re; r++) {
    const float* v = x + r * C;
    float* o = y + r * C;
    for (long c = 0; c < C; c++) o[c] = off[c] + (v[c] - m[c]) * inv[c];
  }
}
GMR_CLONES void stepRange(const float* __restrict x, float alpha, float* __restrict y, long b, long e) {
  for (long i = b; i < e; i++) y[i] = x[i] > 0.f ? 1.f : (x[i] != x[i] ? x[i] : alpha);
}
}  // namespace

void batchNorm(const float* x, long n, long C, const float* mean, const float* var, const float* offset, const float* scale, float eps, float* y) {
  std::vector<float> inv((size_t)C), off((size_t)C);
  for (long c = 0; c < C; c++) {
    inv[c] = (float)((scale ? (double)scale[c] : 1.0) / std::sqrt((double)var[c] + (double)eps));
    off[c] = offset ? offset[c] : 0.f;
  }
  const long rows = C > 0 ? n / C : 0;
  parallelFor(rows, [&](long b, long e) { bnRows(x, C, mean, inv.data(), off.data(), y, b, e); }, std::max(1L, EW_GRAIN / std::max(1L, C)));
}

namespace {
// Σ dy and Σ dy·(x − mean) per channel over rows [rb, re), into s1, s2 (added to).
GMR_CLONES void bnGradSums(const float* __restrict x, const float* __restrict dy, long C, const float* __restrict m, double* __restrict s1, double* __restrict s2, long rb, long re) {
  for (long r = rb; r < re; r++) {
    const float* v = x + r * C;
    const float* d = dy + r * C;
    for (long c = 0; c < C; c++) {
      s1[c] += d[c];
      s2[c] += (double)d[c] * (v[c] - m[c]);
    }
  }
}
GMR_CLONES void scaleRows(const float* __restrict dy, long C, const float* __restrict k, float* __restrict dx, long rb, long re) {
  for (long r = rb; r < re; r++)
    for (long c = 0; c < C; c++) dx[r * C + c] = dy[r * C + c] * k[c];
}
}  // namespace

void batchNormGrad(const float* x, const float* dy, long n, long C, const float* mean, const float* var, const float* scale, float eps, float* dx, float* dmean,
                   float* dvar, float* dscale, float* doffset) {
  const long rows = C > 0 ? n / C : 0;
  const long tasks = std::max(1L, std::min(rows / 64, 4L * numThreads()));
  std::vector<double> part((size_t)(2 * tasks * C), 0.0);
  parallelFor(tasks, [&](long tb, long te) {
    for (long t = tb; t < te; t++) bnGradSums(x, dy, C, mean, part.data() + 2 * t * C, part.data() + (2 * t + 1) * C, rows * t / tasks, rows * (t + 1) / tasks);
  });
  std::vector<float> k((size_t)C);
  for (long c = 0; c < C; c++) {
    double s1 = 0, s2 = 0;
    for (long t = 0; t < tasks; t++) s1 += part[(size_t)(2 * t * C + c)], s2 += part[(size_t)((2 * t + 1) * C + c)];
    const double inv = 1.0 / std::sqrt((double)var[c] + (double)eps), sc = scale ? (double)scale[c] : 1.0;
    k[c] = (float)(sc * inv);
    dmean[c] = (float)(-sc * inv * s1);
    dvar[c] = (float)(-0.5 * sc * inv * inv * inv * s2);
    dscale[c] = (float)(inv * s2);
    doffset[c] = (float)s1;
  }
  parallelFor(rows, [&](long b, long e) { scaleRows(dy, C, k.data(), dx, b, e); }, std::max(1L, EW_GRAIN / std::max(1L, C)));
}

void step(const float* x, float alpha, float* y, long n) {
  parallelFor(n, [&](long b, long e) { stepRange(x, alpha, y, b, e); }, EW_GRAIN);
}

void transpose(const float* x, const int* shape, const int* perm, int rank, float* out) {
  std::vector<long> xStride(rank), outShape(rank), srcStride(rank);
  xStride[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) xStride[d] = xStride[d + 1] * shape[d + 1];
  for (int d = 0; d < rank; d++) outShape[d] = shape[perm[d]], srcStride[d] = xStride[perm[d]];
  const long inner = outShape[rank - 1], is = srcStride[rank - 1];
  long rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= outShape[d];
  parallelFor(rows, [&](long rb, long re) {
    for (long r = rb; r < re; r++) {
      long rem = r, xo = 0;
      for (int d = rank - 2; d >= 0; d--) {
        xo += (rem % outShape[d]) * srcStride[d];
        rem /= outShape[d];
      }
      float* o = out + r * inner;
      const float* src = x + xo;
      if (is == 1) std::memcpy(o, src, (size_t)inner * sizeof(float));
      else for (long i = 0; i < inner; i++) o[i] = src[i * is];
    }
  }, std::max(1L, EW_GRAIN / std::max(1L, inner)));
}

}  // namespace gmr
