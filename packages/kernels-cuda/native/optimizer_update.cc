// The fused optimiser update: every variable of a model and its optimiser state in one call, instead of about 14
// small tfjs ops per variable (each a kernel launch, a tensor record and a pass over memory; for a small network
// the optimiser's element-wise ops cost more than its convolutions).
//
// Numbers: the same float32 operations in the same order as the tfjs-op path of the CLI's optimisers
// (apps/cli/src/optim.ts), each rounded to float32, so the result matches that path on `native` to the last bit
// for every element-wise step. The constants (1 − β₁, 1 − β₁ᵗ, lr·wd, …) are computed by the caller in double, as
// JavaScript does before tfjs turns them into float32 scalars. a·b + c must stay two roundings, as in two tfjs ops:
// the x86-64 build has no FMA to contract into, and the pragmas below keep it so where the target has one.
//
// Global-norm clipping needs the norm of all gradients before any update, so the call has two passes: Σg² per
// chunk (double), then the updates with the clipping scale. Chunks are fixed-size slices of the variables, and
// the partial sums are added in chunk order, so the norm (and with it every update) does not depend on how many
// threads ran.
#include "optimizer_update.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "thread_pool.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
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

void updateRange(const Var& v, long b, long e, const Consts& c) {
  const float wd = v.decay ? c.wd : 0.f;
  if (c.kind == SGD) {
    for (long i = b; i < e; i++) {
      float g = v.g[i];
      if (c.scaled) g = g * c.scale;
      if (wd != 0.f) g = g + v.w[i] * wd;
      float upd = g;
      if (c.momentum) {
        const float m = v.s0[i] * c.mom + g;
        v.s0Out[i] = m;
        upd = c.nesterov ? g + m * c.mom : m;
      }
      v.wOut[i] = v.w[i] - upd * c.lr;
    }
    return;
  }
  const float adamWd = c.kind == ADAM ? wd : 0.f, decoupled = c.kind == ADAMW ? wd : 0.f;
  for (long i = b; i < e; i++) {
    float g = v.g[i];
    if (c.scaled) g = g * c.scale;
    if (adamWd != 0.f) g = g + v.w[i] * adamWd;
    const float m = v.s0[i] * c.b1 + g * c.omb1;
    const float s = v.s1[i] * c.b2 + (g * g) * c.omb2;
    v.s0Out[i] = m;
    v.s1Out[i] = s;
    const float mHat = m / c.bc1, vHat = s / c.bc2;
    const float q = mHat / (std::sqrt(vHat) + c.eps);
    float next = v.w[i] - q * c.lr;
    if (decoupled != 0.f) next = next - v.w[i] * c.lrwd;
    v.wOut[i] = next;
  }
}

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

    // Pass 1: Σ g² per chunk (each square rounded to float32 as tf.square does, summed in double as native Sum
    // does); per variable in chunk order, rounded to float32; over the variables in float32 (as tf.addN); √.
    std::vector<double> partial(chunks.size());
    parallelFor((long)chunks.size(), [&](long cb, long ce) {
      for (long j = cb; j < ce; j++) {
        const Chunk& ch = chunks[j];
        const float* g = vars[ch.var].g;
        double s = 0;
        for (long i = ch.begin; i < ch.end; i++) s += (double)(g[i] * g[i]);
        partial[j] = s;
      }
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
