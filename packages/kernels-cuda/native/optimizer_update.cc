// The fused optimiser update: every variable of a model and its optimiser state in one call, instead of about 14
// small tfjs ops per variable (each a kernel launch, a tensor record and a pass over memory; for a small network
// the optimiser's element-wise ops cost more than its convolutions).
//
// Numbers: the same float32 operations in the same order as the tfjs-op path of the CLI's optimisers
// (apps/cli/src/optim.ts), each rounded to float32, so the result matches that path on `native` to the last bit
// for every element-wise step. The constants (1 − β₁, 1 − β₁ᵗ, lr·wd, …) are computed by the caller in double, as
// JavaScript does before tfjs turns them into float32 scalars. a·b + c must stay two roundings, as in two tfjs ops:
// the AVX2 and AVX-512 clones have FMA, and the pragmas below keep it out.
//
// Global-norm clipping needs the norm of all gradients before any update, so the call has two passes: Σg² per
// variable (double, in native Sum's order), then the updates with the clipping scale, over fixed-size chunks of
// the variables. Neither depends on how many threads ran.
#include "optimizer_update.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "host_ops.h"
#include "thread_pool.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

// AVX-512 and AVX2 clones of the element loops (the x86-64 build's baseline is SSE2); the AVX clones have FMA,
// which fp-contract=off keeps out.
#if defined(__x86_64__) && !defined(GMR_NO_CLONES)
#define GMR_OPT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GMR_OPT_CLONES
#endif

namespace gmr {
namespace {

enum Kind { SGD = 0, ADAM = 1, ADAMW = 2 };

// Indices into the params Float64Array (computed in JavaScript, in double, as the tfjs-op path computes them).
enum Param {
  P_KIND, P_LR, P_MOMENTUM, P_NESTEROV, P_WD, P_BETA1, P_ONE_MINUS_BETA1, P_BETA2, P_ONE_MINUS_BETA2,
  P_BIAS_CORR1, P_BIAS_CORR2, P_EPS, P_LR_WD, P_CLIP_NORM, P_COUNT
};

struct Var {
  long n;
  const float *w, *g, *s0, *s1;  // s0, s1: optimiser state (null when the optimiser has fewer slots)
  float *wOut, *s0Out, *s1Out;
  bool decay;
};

struct Chunk {
  int var;
  long begin, end;
};

constexpr long CHUNK = 1L << 14;

struct Consts {
  int kind;
  bool nesterov, momentum, scaled;
  float lr, mom, wd, b1, omb1, b2, omb2, bc1, bc2, eps, lrwd, scale;
};

// The element loops, one instance per combination of the per-call switches, so that each is branch-free and
// vectorises (a test per element kept the old single loop scalar: 4 ns a weight, several times its memory traffic).
// Every lane does the scalar's float32 operations in the scalar's order; vector ×, +, ÷ and √ round as the scalar
// ones do (IEEE), so each clone gives the same bits. Weight decay: 0 none, 1 added to the gradient (SGD, Adam),
// 2 decoupled (AdamW). Momentum: 0 none, 1 heavy ball, 2 Nesterov.
template <bool SCALED, int WD, int MOM>
__attribute__((always_inline)) inline void sgdLoop(long n, const float* __restrict w, const float* __restrict gIn, const float* __restrict s0,
                                                   float* __restrict wOut, float* __restrict s0Out, const Consts& c) {
  const float scale = c.scale, wd = c.wd, mom = c.mom, lr = c.lr;
  for (long i = 0; i < n; i++) {
    float g = gIn[i];
    if (SCALED) g = g * scale;
    if (WD == 1) g = g + w[i] * wd;
    float upd = g;
    if (MOM > 0) {
      const float m = s0[i] * mom + g;
      s0Out[i] = m;
      upd = MOM == 2 ? g + m * mom : m;
    }
    wOut[i] = w[i] - upd * lr;
  }
}

template <bool SCALED, int WD>
__attribute__((always_inline)) inline void adamLoop(long n, const float* __restrict w, const float* __restrict gIn, const float* __restrict s0,
                                                    const float* __restrict s1, float* __restrict wOut, float* __restrict s0Out,
                                                    float* __restrict s1Out, const Consts& c) {
  const float scale = c.scale, wd = c.wd, b1 = c.b1, omb1 = c.omb1, b2 = c.b2, omb2 = c.omb2, bc1 = c.bc1, bc2 = c.bc2;
  const float eps = c.eps, lr = c.lr, lrwd = c.lrwd;
  for (long i = 0; i < n; i++) {
    float g = gIn[i];
    if (SCALED) g = g * scale;
    if (WD == 1) g = g + w[i] * wd;
    const float m = s0[i] * b1 + g * omb1;
    const float s = s1[i] * b2 + (g * g) * omb2;
    s0Out[i] = m;
    s1Out[i] = s;
    const float mHat = m / bc1, vHat = s / bc2;
    const float q = mHat / (__builtin_sqrtf(vHat) + eps);
    float next = w[i] - q * lr;
    if (WD == 2) next = next - w[i] * lrwd;
    wOut[i] = next;
  }
}

// (GCC 12 warns of the undefined pass-through operands inside _mm512_sqrt_ps and _mm512_cvtps_pd.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// adamLoop in AVX-512 intrinsics (GCC vectorises no √ while -fmath-errno holds, and an optimize pragma does not
// lift it): the same operations lane by lane, vsqrtps being correctly rounded as sqrtss is; the tail masked.
template <bool SCALED, int WD>
__attribute__((target("avx512f"))) void adamAvx512(long n, const float* __restrict w, const float* __restrict gIn, const float* __restrict s0,
                                                  const float* __restrict s1, float* __restrict wOut, float* __restrict s0Out,
                                                  float* __restrict s1Out, const Consts& c) {
  const __m512 scale = _mm512_set1_ps(c.scale), wd = _mm512_set1_ps(c.wd), b1 = _mm512_set1_ps(c.b1), omb1 = _mm512_set1_ps(c.omb1);
  const __m512 b2 = _mm512_set1_ps(c.b2), omb2 = _mm512_set1_ps(c.omb2), bc1 = _mm512_set1_ps(c.bc1), bc2 = _mm512_set1_ps(c.bc2);
  const __m512 eps = _mm512_set1_ps(c.eps), lr = _mm512_set1_ps(c.lr), lrwd = _mm512_set1_ps(c.lrwd);
  // The divider is the loop's bottleneck (three ÷ and a √ per element), and x ÷ 1 is x: once 1 − βᵗ rounds to 1
  // in float32 (β₁ = 0.9: from step 165 on) that division is left out, the bits unchanged.
  const bool bc1One = c.bc1 == 1.f, bc2One = c.bc2 == 1.f;
  for (long i = 0; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
    const __m512 wv = _mm512_maskz_loadu_ps(k, w + i);
    __m512 g = _mm512_maskz_loadu_ps(k, gIn + i);
    if (SCALED) g = _mm512_mul_ps(g, scale);
    if (WD == 1) g = _mm512_add_ps(g, _mm512_mul_ps(wv, wd));
    const __m512 m = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, s0 + i), b1), _mm512_mul_ps(g, omb1));
    const __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, s1 + i), b2), _mm512_mul_ps(_mm512_mul_ps(g, g), omb2));
    _mm512_mask_storeu_ps(s0Out + i, k, m);
    _mm512_mask_storeu_ps(s1Out + i, k, v);
    const __m512 mHat = bc1One ? m : _mm512_div_ps(m, bc1), vHat = bc2One ? v : _mm512_div_ps(v, bc2);
    const __m512 q = _mm512_div_ps(mHat, _mm512_add_ps(_mm512_sqrt_ps(vHat), eps));
    __m512 next = _mm512_sub_ps(wv, _mm512_mul_ps(q, lr));
    if (WD == 2) next = _mm512_sub_ps(next, _mm512_mul_ps(wv, lrwd));
    _mm512_mask_storeu_ps(wOut + i, k, next);
  }
}

bool optAvx512() {
  static const bool on = std::strcmp(simdLevel(), "avx512f") == 0;
  return on;
}

// Elements [b, e) of one variable: picks the loop instance for the call's switches.
GMR_OPT_CLONES void updateRange(const Var& v, long b, long e, const Consts& c) {
  const long n = e - b;
  const float *w = v.w + b, *g = v.g + b;
  float* wOut = v.wOut + b;
  const int wd = !v.decay || c.wd == 0.f ? 0 : c.kind == ADAMW ? 2 : 1;
  if (c.kind == SGD) {
    const float* s0 = c.momentum ? v.s0 + b : nullptr;
    float* s0Out = c.momentum ? v.s0Out + b : nullptr;
    const int mom = !c.momentum ? 0 : c.nesterov ? 2 : 1;
#define GMR_SGD(S, W, M) \
  if (c.scaled == S && wd == W && mom == M) return sgdLoop<S, W, M>(n, w, g, s0, wOut, s0Out, c);
#define GMR_SGD_M(S, W) GMR_SGD(S, W, 0) GMR_SGD(S, W, 1) GMR_SGD(S, W, 2)
    GMR_SGD_M(false, 0) GMR_SGD_M(false, 1) GMR_SGD_M(true, 0) GMR_SGD_M(true, 1)
#undef GMR_SGD_M
#undef GMR_SGD
    return;
  }
  const float *s0 = v.s0 + b, *s1 = v.s1 + b;
  float *s0Out = v.s0Out + b, *s1Out = v.s1Out + b;
  const bool avx512 = optAvx512();
#define GMR_ADAM(S, W)                                                                          \
  if (c.scaled == S && wd == W)                                                                 \
    return avx512 ? adamAvx512<S, W>(n, w, g, s0, s1, wOut, s0Out, s1Out, c) \
                  : adamLoop<S, W>(n, w, g, s0, s1, wOut, s0Out, s1Out, c);
  GMR_ADAM(false, 0) GMR_ADAM(false, 1) GMR_ADAM(false, 2) GMR_ADAM(true, 0) GMR_ADAM(true, 1) GMR_ADAM(true, 2)
#undef GMR_ADAM
}

// Σ g² of a chunk: each square rounded to float32 (as tf.square), summed in double in SUM_LANES interleaved sums
// (element i into lane i mod SUM_LANES), then the lanes added pairwise in a fixed tree. Sixteen independent sums
// cost a double add's latency per sixteen elements rather than per element (one running sum took a third of the
// call); every clone and the AVX-512 form below keep this order, so the bits do not depend on the machine either.
// (The tfjs-op path's native Sum adds in another order; in double, both round to the same float32 but for a tie
// a few parts in 2⁻²⁹ wide.)
constexpr int SUM_LANES = 16;

double sumLanes(double* a) {
  for (int w = SUM_LANES / 2; w >= 1; w /= 2)
    for (int j = 0; j < w; j++) a[j] = a[j] + a[j + w];
  return a[0];
}

GMR_OPT_CLONES double sumSquaresPortable(const float* __restrict g, long n) {
  double a[SUM_LANES] = {};
  long i = 0;
  for (; i + SUM_LANES <= n; i += SUM_LANES)
    for (int j = 0; j < SUM_LANES; j++) a[j] += (double)(g[i + j] * g[i + j]);
  for (int j = 0; i + j < n; j++) a[j] += (double)(g[i + j] * g[i + j]);
  return sumLanes(a);
}

__attribute__((target("avx512f"))) double sumSquaresAvx512(const float* __restrict g, long n) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (long i = 0; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(k, g + i);
    const __m512 sq = _mm512_mul_ps(v, v);  // masked lanes: 0² = 0, which leaves their sums as they were
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(sq)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sq), 1))));
  }
  alignas(64) double a[SUM_LANES];
  _mm512_store_pd(a, lo);
  _mm512_store_pd(a + 8, hi);
  return sumLanes(a);
}

#pragma GCC diagnostic pop

double sumSquares(const float* g, long n) { return optAvx512() ? sumSquaresAvx512(g, n) : sumSquaresPortable(g, n); }

// ---- N-API glue (this file's own: addon.cc's helpers are private to it) ---------------------------------------

struct Fail : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void ok(napi_status s, const char* what) {
  if (s != napi_ok) throw Fail(std::string("N-API call failed: ") + what);
}

template <typename T>
T* typedArray(napi_env env, napi_value v, napi_typedarray_type want, size_t* len, const std::string& what) {
  bool is = false;
  ok(napi_is_typedarray(env, v, &is), "napi_is_typedarray");
  napi_typedarray_type type;
  size_t length = 0, offset;
  void* data = nullptr;
  napi_value ab;
  if (is) ok(napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset), "napi_get_typedarray_info");
  if (!is || type != want) throw Fail(what);
  *len = length;
  return static_cast<T*>(data);
}

std::vector<napi_value> arrayItems(napi_env env, napi_value v, const char* what) {
  bool is = false;
  ok(napi_is_array(env, v, &is), "napi_is_array");
  if (!is) throw Fail(std::string(what) + " must be an array of Float32Arrays");
  uint32_t n;
  ok(napi_get_array_length(env, v, &n), "napi_get_array_length");
  std::vector<napi_value> out(n);
  for (uint32_t i = 0; i < n; i++) ok(napi_get_element(env, v, i, &out[i]), "napi_get_element");
  return out;
}

float* f32At(napi_env env, napi_value v, long need, const std::string& what) {
  size_t len;
  float* p = typedArray<float>(env, v, napi_float32_array, &len, what + " must be a Float32Array");
  if ((long)len != need) throw Fail(what + " has " + std::to_string(len) + " elements, the variable has " + std::to_string(need));
  return p;
}

}  // namespace

napi_value optimizerUpdateEntry(napi_env env, napi_callback_info info) {
  try {
    size_t argc = 5;
    napi_value argv[5];
    ok(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "napi_get_cb_info");
    if (argc < 5) throw Fail("optimizerUpdate expects (params, decay, inputs, outputs, norm)");
    size_t np, nd, nn;
    const double* p = typedArray<double>(env, argv[0], napi_float64_array, &np, "params must be a Float64Array");
    if (np < P_COUNT) throw Fail("params must have " + std::to_string(P_COUNT) + " entries");
    const uint8_t* decay = typedArray<uint8_t>(env, argv[1], napi_uint8_array, &nd, "decay must be a Uint8Array");
    std::vector<napi_value> ins = arrayItems(env, argv[2], "inputs"), outs = arrayItems(env, argv[3], "outputs");
    float* normOut = typedArray<float>(env, argv[4], napi_float32_array, &nn, "norm must be a Float32Array");
    if (nn < 1) throw Fail("norm must have 1 element");

    Consts c{};
    c.kind = (int)p[P_KIND];
    if (c.kind < SGD || c.kind > ADAMW) throw Fail("kind must be 0 (sgd), 1 (adam) or 2 (adamw), got " + std::to_string(p[P_KIND]));
    c.lr = (float)p[P_LR];
    c.mom = (float)p[P_MOMENTUM];
    c.momentum = p[P_MOMENTUM] > 0;
    c.nesterov = p[P_NESTEROV] != 0;
    c.wd = (float)p[P_WD];
    c.b1 = (float)p[P_BETA1];
    c.omb1 = (float)p[P_ONE_MINUS_BETA1];
    c.b2 = (float)p[P_BETA2];
    c.omb2 = (float)p[P_ONE_MINUS_BETA2];
    c.bc1 = (float)p[P_BIAS_CORR1];
    c.bc2 = (float)p[P_BIAS_CORR2];
    c.eps = (float)p[P_EPS];
    c.lrwd = (float)p[P_LR_WD];
    const double clipNorm = p[P_CLIP_NORM];
    const int slots = c.kind == SGD ? (c.momentum ? 1 : 0) : 2;

    const size_t nVars = nd;
    if (ins.size() != nVars * (2 + slots) || outs.size() != nVars * (1 + slots))
      throw Fail("with " + std::to_string(nVars) + " variables and " + std::to_string(slots) + " state slots each, inputs must hold " +
                 std::to_string(nVars * (2 + slots)) + " arrays (got " + std::to_string(ins.size()) + ") and outputs " +
                 std::to_string(nVars * (1 + slots)) + " (got " + std::to_string(outs.size()) + ")");
    std::vector<Var> vars(nVars);
    std::vector<Chunk> chunks;
    for (size_t k = 0; k < nVars; k++) {
      const std::string name = "variable " + std::to_string(k);
      size_t len;
      Var& v = vars[k];
      v.w = typedArray<float>(env, ins[k * (2 + slots)], napi_float32_array, &len, name + "'s weight must be a Float32Array");
      v.n = (long)len;
      v.g = f32At(env, ins[k * (2 + slots) + 1], v.n, name + "'s gradient");
      v.s0 = slots > 0 ? f32At(env, ins[k * (2 + slots) + 2], v.n, name + "'s state 0") : nullptr;
      v.s1 = slots > 1 ? f32At(env, ins[k * (2 + slots) + 3], v.n, name + "'s state 1") : nullptr;
      v.wOut = f32At(env, outs[k * (1 + slots)], v.n, name + "'s new weight");
      v.s0Out = slots > 0 ? f32At(env, outs[k * (1 + slots) + 1], v.n, name + "'s new state 0") : nullptr;
      v.s1Out = slots > 1 ? f32At(env, outs[k * (1 + slots) + 2], v.n, name + "'s new state 1") : nullptr;
      v.decay = decay[k] != 0;
      for (long b = 0; b < v.n; b += CHUNK) chunks.push_back(Chunk{(int)k, b, std::min(v.n, b + CHUNK)});
    }

    // Pass 1: Σ g² per chunk (sumSquares), on the pool's threads; per variable in chunk order, rounded to float32
    // (as native Sum rounds its double sum); over the variables in float32 in their order (as tf.addN); √.
    std::vector<double> partial(chunks.size());
    parallelFor((long)chunks.size(), [&](long cb, long ce) {
      for (long j = cb; j < ce; j++) partial[j] = sumSquares(vars[chunks[j].var].g + chunks[j].begin, chunks[j].end - chunks[j].begin);
    });
    float total = 0.f;
    for (size_t j = 0, k = 0; k < nVars; k++) {
      double s = 0;
      for (; j < chunks.size() && chunks[j].var == (int)k; j++) s += partial[j];
      total = total + (float)s;
    }
    const float norm = std::sqrt(total);
    normOut[0] = norm;
    // The clipping scale as the tfjs-op path computes it (in double, from the float32 norm), then a float32 scalar.
    const double scale = clipNorm > 0 && (double)norm > clipNorm ? clipNorm / ((double)norm + 1e-6) : 1.0;
    c.scaled = scale != 1.0;
    c.scale = (float)scale;

    // Pass 2: the updates.
    parallelFor((long)chunks.size(), [&](long cb, long ce) {
      for (long j = cb; j < ce; j++) updateRange(vars[chunks[j].var], chunks[j].begin, chunks[j].end, c);
    });
    napi_value r;
    napi_get_undefined(env, &r);
    return r;
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, "GMR_NATIVE_OOM", "@gmr-conv/kernels-cuda: out of memory");
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("@gmr-conv/kernels-cuda: optimizerUpdate: ") + e.what()).c_str());
  }
  return nullptr;
}

}  // namespace gmr
