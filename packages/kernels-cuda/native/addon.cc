// N-API glue of the addon (host and CUDA builds): native buffers, the thread count and one entry point per
// operation. Arguments are checked here (types, sizes); a failure throws a JavaScript error with the message.
#define NAPI_VERSION 8
#include <node_api.h>

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "conv_host.h"
#include "depthwise_ops.h"
#include "field_ops.h"
#include "host_ops.h"
#include "loss_ops.h"
#include "optimizer_update.h"
#include "steerable_ops.h"
#include "thread_pool.h"

#ifdef GMR_CUDA
#include "cuda_ops.h"
#endif

namespace {

using namespace gmr;

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

#define CHECK_NAPI(call)                                            \
  do {                                                              \
    if ((call) != napi_ok) throw Error("N-API call failed: " #call); \
  } while (0)

// ---- native buffers ----------------------------------------------------------------------------

// Where a block's memory comes from. Not glibc's aligned_alloc: a block from it leaves a hole that the next
// aligned request of the same size cannot reuse (memalign asks for size + alignment + slack), and Node's own small
// allocations made between ours (Buffer bookkeeping, freed only after a GC) keep holes from merging, so a training
// loop grew by every byte it allocated (issue 16: ~10 MB per step with the pool off). Large blocks are mmap'd (given
// back to the system when freed); small ones are malloc(bytes + 64) aligned by hand, so the same size always makes
// the same request and reuses the same hole.
constexpr size_t MMAP_MIN = 256u << 10;

struct Block {
  void* ptr;   // 64-byte aligned data
  void* base;  // what to free (malloc'd) or unmap (mmap'd)
  size_t bytes;
};

Block blockAlloc(size_t bytes) {
  if (bytes >= MMAP_MIN) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? Block{nullptr, nullptr, bytes} : Block{p, p, bytes};
  }
  void* base = std::malloc(bytes + 64);
  if (!base) return Block{nullptr, nullptr, bytes};
  void* p = (void*)(((uintptr_t)base + 64) & ~(uintptr_t)63);
  return Block{p, base, bytes};
}

void blockFree(const Block& b) {
  if (b.bytes >= MMAP_MIN) munmap(b.base, b.bytes);
  else std::free(b.base);
}

struct NativeBuf {
  Block block;
  bool freed;
};
std::mutex bufMu;
std::unordered_map<void*, NativeBuf*> liveBufs;
long long liveCount = 0, liveBytes = 0, totalAllocs = 0;

// Freed blocks are kept for reuse by the next allocation of the same size (a training step allocates the same
// shapes every step), up to GMR_NATIVE_POOL_MB (default 512) of cached memory; this saves the page faults of
// fresh large allocations. trimPool() returns the cache to the system.
std::unordered_map<size_t, std::vector<Block>> freeBlocks;
long long cachedBytes = 0;
long long poolLimit() {
  static long long limit = [] {
    const char* env = std::getenv("GMR_NATIVE_POOL_MB");
    return (env ? std::atoll(env) : 512LL) << 20;
  }();
  return limit;
}

bool takeBlockLocked(size_t bytes, Block* out) {
  auto it = freeBlocks.find(bytes);
  if (it == freeBlocks.end() || it->second.empty()) return false;
  *out = it->second.back();
  it->second.pop_back();
  cachedBytes -= (long long)bytes;
  return true;
}

void releaseLocked(NativeBuf* b) {
  if (cachedBytes + (long long)b->block.bytes <= poolLimit()) {
    freeBlocks[b->block.bytes].push_back(b->block);
    cachedBytes += (long long)b->block.bytes;
  } else {
    blockFree(b->block);
  }
  b->freed = true;
  liveCount--;
  liveBytes -= (long long)b->block.bytes;
}

void trimPoolLocked() {
  for (auto& kv : freeBlocks)
    for (const Block& blk : kv.second) blockFree(blk);
  freeBlocks.clear();
  cachedBytes = 0;
}

void finalizeBuf(napi_env, void*, void* hint) {
  NativeBuf* b = static_cast<NativeBuf*>(hint);
  {
    std::lock_guard<std::mutex> lk(bufMu);
    if (!b->freed) {
      liveBufs.erase(b->block.ptr);
      releaseLocked(b);
    }
  }
  delete b;
}

// ---- argument helpers --------------------------------------------------------------------------

struct Args {
  napi_env env;
  std::vector<napi_value> v;
  // room > want: up to room arguments, the ones not passed read as undefined (optional trailing arguments).
  Args(napi_env e, napi_callback_info info, size_t want, size_t room = 0) : env(e), v(std::max(want, room)) {
    size_t argc = v.size();
    CHECK_NAPI(napi_get_cb_info(e, info, &argc, v.data(), nullptr, nullptr));
    if (argc < want) throw Error("expected " + std::to_string(want) + " arguments, got " + std::to_string(argc));
  }
  bool isNull(size_t i) {
    napi_valuetype t;
    CHECK_NAPI(napi_typeof(env, v[i], &t));
    return t == napi_null || t == napi_undefined;
  }
  double num(size_t i) {
    double d;
    if (napi_get_value_double(env, v[i], &d) != napi_ok) throw Error("argument " + std::to_string(i) + " must be a number");
    return d;
  }
  int i32(size_t i) { return (int)num(i); }
  bool flag(size_t i) {
    bool b;
    if (napi_get_value_bool(env, v[i], &b) != napi_ok) throw Error("argument " + std::to_string(i) + " must be a boolean");
    return b;
  }
  template <typename T>
  T* typed(size_t i, napi_typedarray_type want, size_t* len, const char* what) {
    bool is = false;
    CHECK_NAPI(napi_is_typedarray(env, v[i], &is));
    if (!is) throw Error(std::string("argument ") + std::to_string(i) + " must be a " + what);
    napi_typedarray_type type;
    size_t length, offset;
    void* data;
    napi_value ab;
    CHECK_NAPI(napi_get_typedarray_info(env, v[i], &type, &length, &data, &ab, &offset));
    if (type != want) throw Error(std::string("argument ") + std::to_string(i) + " must be a " + what);
    if (len) *len = length;
    return static_cast<T*>(data);
  }
  float* f32(size_t i, size_t need) {
    size_t len;
    float* p = typed<float>(i, napi_float32_array, &len, "Float32Array");
    if (len < need) throw Error("Float32Array argument " + std::to_string(i) + " has " + std::to_string(len) + " elements, needs " + std::to_string(need));
    return p;
  }
  size_t f32len(size_t i) {
    size_t len;
    typed<float>(i, napi_float32_array, &len, "Float32Array");
    return len;
  }
};

napi_value number(napi_env env, double d) {
  napi_value r;
  napi_create_double(env, d, &r);
  return r;
}
napi_value undefinedValue(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

template <typename F>
napi_value guarded(napi_env env, F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, "GMR_NATIVE_OOM", "@gmr-conv/kernels-cuda: out of memory");
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("@gmr-conv/kernels-cuda: ") + e.what()).c_str());
  }
  return nullptr;
}

#define ENTRY(name) napi_value name(napi_env env, napi_callback_info info)

RingGeom geomFrom(Args& a, size_t i) {
  size_t len;
  int* g = a.typed<int>(i, napi_int32_array, &len, "Int32Array");
  if (len < 17) throw Error("geometry must have 17 entries");
  RingGeom r{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15], g[16]};
  if (r.batch < 0 || r.inH <= 0 || r.inW <= 0 || r.cin <= 0 || r.outH < 0 || r.outW < 0 || r.groups <= 0 || r.cin % r.groups != 0 ||
      r.numRings <= 0 || r.kh <= 0 || r.kw <= 0 || r.sh <= 0 || r.sw <= 0 || r.dh <= 0 || r.dw <= 0 || r.padMode < 0 || r.padMode > 3)
    throw Error("invalid geometry");
  return r;
}

std::vector<RingTap> tapsFrom(Args& a, size_t i, const RingGeom& g) {
  size_t len = a.f32len(i);
  const float* t = a.f32(i, len);
  if (len % 4) throw Error("taps must be (ty, tx, ring, weight) quadruples");
  std::vector<RingTap> taps(len / 4);
  for (size_t k = 0; k < taps.size(); k++) {
    taps[k] = RingTap{(int)t[4 * k], (int)t[4 * k + 1], (int)t[4 * k + 2], t[4 * k + 3]};
    if (taps[k].ty < 0 || taps[k].ty >= g.kh || taps[k].tx < 0 || taps[k].tx >= g.kw || taps[k].ring < 0 || taps[k].ring >= g.numRings)
      throw Error("tap out of range");
  }
  return taps;
}

size_t xSize(const RingGeom& g) { return (size_t)g.batch * g.inH * g.inW * g.cin; }
size_t rSize(const RingGeom& g) { return (size_t)g.batch * g.outH * g.outW * g.cin * g.numRings; }
size_t colSize(const RingGeom& g) { return (size_t)g.batch * g.outH * g.outW * g.kh * g.kw * g.cin; }

// ---- entry points ------------------------------------------------------------------------------

ENTRY(Alloc) {
  return guarded(env, [&] {
    Args a(env, info, 1);
    double bytesD = a.num(0);
    if (!(bytesD >= 0) || bytesD > 1e12) throw Error("bad allocation size");
    size_t bytes = (size_t)bytesD;
    size_t rounded = ((bytes + 63) / 64) * 64;
    if (rounded == 0) rounded = 64;
    if (rounded > (64u << 10)) rounded = ((rounded + 4095) / 4096) * 4096;
    Block blk{nullptr, nullptr, rounded};
    bool pooled;
    {
      std::lock_guard<std::mutex> lk(bufMu);
      pooled = takeBlockLocked(rounded, &blk);
    }
    if (!pooled) blk = blockAlloc(rounded);
    if (!blk.ptr) {
      std::lock_guard<std::mutex> lk(bufMu);
      trimPoolLocked();
      blk = blockAlloc(rounded);
    }
    if (!blk.ptr) throw std::bad_alloc();
    void* p = blk.ptr;
    NativeBuf* b = new NativeBuf{blk, false};
    {
      std::lock_guard<std::mutex> lk(bufMu);
      liveBufs[p] = b;
      liveCount++;
      liveBytes += (long long)rounded;
      totalAllocs++;
    }
    napi_value ab;
    if (napi_create_external_arraybuffer(env, p, bytes, finalizeBuf, b, &ab) != napi_ok) {
      std::lock_guard<std::mutex> lk(bufMu);
      liveBufs.erase(p);
      releaseLocked(b);
      delete b;
      throw Error("cannot create an external ArrayBuffer");
    }
    return ab;
  });
}

ENTRY(Release) {
  return guarded(env, [&] {
    Args a(env, info, 1);
    void* data;
    size_t len;
    if (napi_get_arraybuffer_info(env, a.v[0], &data, &len) != napi_ok) throw Error("release expects an ArrayBuffer");
    NativeBuf* b = nullptr;
    {
      std::lock_guard<std::mutex> lk(bufMu);
      auto it = liveBufs.find(data);
      if (it == liveBufs.end()) {
        napi_value r;
        napi_get_boolean(env, false, &r);
        return r;
      }
      b = it->second;
      liveBufs.erase(it);
    }
    // Released (marked freed) before the detach, which may run the finalizer and delete b; the detach leaves every
    // view of it with length 0, so a stale view cannot touch the freed memory (nothing runs in between on this thread).
    {
      std::lock_guard<std::mutex> lk(bufMu);
      releaseLocked(b);
    }
    napi_detach_arraybuffer(env, a.v[0]);
    napi_value r;
    napi_get_boolean(env, true, &r);
    return r;
  });
}

ENTRY(LiveBuffers) {
  return guarded(env, [&] {
    napi_value o;
    CHECK_NAPI(napi_create_object(env, &o));
    std::lock_guard<std::mutex> lk(bufMu);
    napi_set_named_property(env, o, "count", number(env, (double)liveCount));
    napi_set_named_property(env, o, "bytes", number(env, (double)liveBytes));
    napi_set_named_property(env, o, "allocations", number(env, (double)totalAllocs));
    napi_set_named_property(env, o, "cachedBytes", number(env, (double)cachedBytes));
    return o;
  });
}

ENTRY(TrimPool) {
  return guarded(env, [&] {
    std::lock_guard<std::mutex> lk(bufMu);
    trimPoolLocked();
    return undefinedValue(env);
  });
}

ENTRY(SetThreads) {
  return guarded(env, [&] {
    Args a(env, info, 1);
    setNumThreads(a.i32(0));
    return number(env, numThreads());
  });
}

ENTRY(Info) {
  return guarded(env, [&] {
    napi_value o, s;
    CHECK_NAPI(napi_create_object(env, &o));
#ifdef GMR_CUDA
    napi_create_string_utf8(env, "cuda", NAPI_AUTO_LENGTH, &s);
#else
    napi_create_string_utf8(env, "host", NAPI_AUTO_LENGTH, &s);
#endif
    napi_set_named_property(env, o, "build", s);
    napi_create_string_utf8(env, simdLevel(), NAPI_AUTO_LENGTH, &s);
    napi_set_named_property(env, o, "simd", s);
    napi_set_named_property(env, o, "threads", number(env, numThreads()));
    return o;
  });
}

ENTRY(Sgemm) {
  return guarded(env, [&] {
    // (transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc)
    Args a(env, info, 16);
    bool tA = a.flag(0), tB = a.flag(1);
    int M = a.i32(2), N = a.i32(3), K = a.i32(4);
    if (M < 0 || N < 0 || K < 0) throw Error("sgemm: negative size");
    float alpha = (float)a.num(5), beta = (float)a.num(12);
    size_t aOff = (size_t)a.num(7), bOff = (size_t)a.num(10), cOff = (size_t)a.num(14);
    int lda = a.i32(8), ldb = a.i32(11), ldc = a.i32(15);
    size_t aRows = tA ? K : M, aCols = tA ? M : K, bRows = tB ? N : K, bCols = tB ? K : N;
    if ((aCols > 0 && lda < (int)aCols) || (bCols > 0 && ldb < (int)bCols) || (N > 0 && ldc < N)) throw Error("sgemm: leading dimension too small");
    auto need = [](size_t off, size_t rows, size_t cols, int ld) { return rows == 0 || cols == 0 ? off : off + (rows - 1) * (size_t)ld + cols; };
    const float* A = a.f32(6, need(aOff, aRows, aCols, lda)) + aOff;
    const float* B = a.f32(9, need(bOff, bRows, bCols, ldb)) + bOff;
    float* C = a.f32(13, need(cOff, M, N, ldc)) + cOff;
#ifdef GMR_CUDA
    if (cudaReady()) return cudaSgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc), undefinedValue(env);
#endif
    sgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return undefinedValue(env);
  });
}

ENTRY(RingSum) {
  return guarded(env, [&] {
    Args a(env, info, 4);  // (x, taps, geom, R)
    RingGeom g = geomFrom(a, 2);
    auto taps = tapsFrom(a, 1, g);
#ifdef GMR_CUDA
    if (cudaReady()) return cudaRingSum(g, taps.data(), (int)taps.size(), a.f32(0, xSize(g)), a.f32(3, rSize(g))), undefinedValue(env);
#endif
    ringSum(g, taps.data(), (int)taps.size(), a.f32(0, xSize(g)), a.f32(3, rSize(g)));
    return undefinedValue(env);
  });
}

ENTRY(GmrForward) {
  return guarded(env, [&] {
    Args a(env, info, 6, 8);  // (x, taps, geom, phiT, cout, y[, bias | null, act]): act 1 = ReLU, after the bias
    RingGeom g = geomFrom(a, 2);
    auto taps = tapsFrom(a, 1, g);
    const int cout = a.i32(4);
    if (cout <= 0 || cout % g.groups) throw Error("gmrForward: cout must be a positive multiple of groups");
    const int act = a.isNull(7) ? 0 : a.i32(7);
    if (act < 0 || act > 1) throw Error("gmrForward: act must be 0 or 1");
    const size_t P = (size_t)g.batch * g.outH * g.outW;
    gmrForwardFused(g, taps.data(), (int)taps.size(), a.f32(0, xSize(g)), a.f32(3, (size_t)cout * g.numRings * (g.cin / g.groups)), cout, a.f32(5, P * cout),
                    nullptr, a.isNull(6) ? nullptr : a.f32(6, (size_t)cout), act);
    return undefinedValue(env);
  });
}

ENTRY(GmrForwardKeep) {
  return guarded(env, [&] {
    Args a(env, info, 7);  // (x, taps, geom, phiT, cout, y, R)
    RingGeom g = geomFrom(a, 2);
    auto taps = tapsFrom(a, 1, g);
    const int cout = a.i32(4);
    if (cout <= 0 || cout % g.groups) throw Error("gmrForwardKeep: cout must be a positive multiple of groups");
    const size_t P = (size_t)g.batch * g.outH * g.outW;
    gmrForwardFused(g, taps.data(), (int)taps.size(), a.f32(0, xSize(g)), a.f32(3, (size_t)cout * g.numRings * (g.cin / g.groups)), cout, a.f32(5, P * cout),
                    a.f32(6, rSize(g)));
    return undefinedValue(env);
  });
}

ENTRY(GmrFilterGrad) {
  return guarded(env, [&] {
    Args a(env, info, 7);  // (x | null, R | null, dy, taps, geom, cout, dphi)
    RingGeom g = geomFrom(a, 4);
    auto taps = tapsFrom(a, 3, g);
    const int cout = a.i32(5);
    if (cout <= 0 || cout % g.groups) throw Error("gmrFilterGrad: cout must be a positive multiple of groups");
    const size_t P = (size_t)g.batch * g.outH * g.outW;
    const float* R = a.isNull(1) ? nullptr : a.f32(1, rSize(g));
    if (!R && a.isNull(0)) throw Error("gmrFilterGrad: needs x or the ring sums R");
    const float* x = R ? nullptr : a.f32(0, xSize(g));  // x is read only when R is not given
    gmrFilterGrad(g, taps.data(), (int)taps.size(), x, R, a.f32(2, P * cout), cout, a.f32(6, (size_t)cout * g.numRings * (g.cin / g.groups)));
    return undefinedValue(env);
  });
}

// ---- the steerable convolution over its plan's blocks (steerable_ops.h) ----------------------------

SteerPlan steerPlanArg(Args& a, size_t i, const RingGeom& g, int cout) {
  size_t len;
  const int* p = a.typed<int>(i, napi_int32_array, &len, "Int32Array");
  if (g.groups != 1) throw Error("steerable convolution: groups must be 1");
  return steerPlanFrom(p, (long)len, g.cin, cout, g.numRings);
}

ENTRY(SteerableForward) {
  return guarded(env, [&] {
    Args a(env, info, 8);  // (x, taps, geom, plan, W, cout, y, Rp)
    RingGeom g = geomFrom(a, 2);
    auto taps = tapsFrom(a, 1, g);
    const int cout = a.i32(5);
    if (cout <= 0) throw Error("steerableForward: cout must be positive");
    SteerPlan pl = steerPlanArg(a, 3, g, cout);
    const size_t P = (size_t)g.batch * g.outH * g.outW;
    steerableForward(g, taps.data(), (int)taps.size(), a.f32(0, xSize(g)), pl, a.f32(4, (size_t)cout * g.cin * g.numRings), cout, a.f32(6, P * cout),
                     a.f32(7, P * pl.kt));
    return undefinedValue(env);
  });
}

ENTRY(SteerableFilterGrad) {
  return guarded(env, [&] {
    Args a(env, info, 8);  // (x | null, Rp | null, dy, taps, geom, plan, cout, dW)
    RingGeom g = geomFrom(a, 4);
    auto taps = tapsFrom(a, 3, g);
    const int cout = a.i32(6);
    if (cout <= 0) throw Error("steerableFilterGrad: cout must be positive");
    SteerPlan pl = steerPlanArg(a, 5, g, cout);
    const size_t P = (size_t)g.batch * g.outH * g.outW;
    const float* Rp = a.isNull(1) ? nullptr : a.f32(1, P * pl.kt);
    if (!Rp && a.isNull(0)) throw Error("steerableFilterGrad: needs x or the kept ring sums");
    const float* x = Rp ? nullptr : a.f32(0, xSize(g));
    steerableFilterGrad(g, taps.data(), (int)taps.size(), x, Rp, a.f32(2, P * cout), pl, cout, a.f32(7, (size_t)cout * g.cin * g.numRings));
    return undefinedValue(env);
  });
}

ENTRY(SteerableInputGrad) {
  return guarded(env, [&] {
    Args a(env, info, 7);  // (dy, taps, geom, plan, W, cout, dx)
    RingGeom g = geomFrom(a, 2);
    auto taps = tapsFrom(a, 1, g);
    const int cout = a.i32(5);
    if (cout <= 0) throw Error("steerableInputGrad: cout must be positive");
    SteerPlan pl = steerPlanArg(a, 3, g, cout);
    const size_t P = (size_t)g.batch * g.outH * g.outW;
    steerableInputGrad(g, taps.data(), (int)taps.size(), a.f32(0, P * cout), pl, a.f32(4, (size_t)cout * g.cin * g.numRings), cout, a.f32(6, xSize(g)));
    return undefinedValue(env);
  });
}

ENTRY(RingScatter) {
  return guarded(env, [&] {
    Args a(env, info, 4);  // (D, taps, geom, dx)
    RingGeom g = geomFrom(a, 2);
    auto taps = tapsFrom(a, 1, g);
#ifdef GMR_CUDA
    if (cudaReady()) return cudaRingScatter(g, taps.data(), (int)taps.size(), a.f32(0, rSize(g)), a.f32(3, xSize(g))), undefinedValue(env);
#endif
    ringScatter(g, taps.data(), (int)taps.size(), a.f32(0, rSize(g)), a.f32(3, xSize(g)));
    return undefinedValue(env);
  });
}

ENTRY(Im2col) {
  return guarded(env, [&] {
    Args a(env, info, 3);  // (x, geom, col)
    RingGeom g = geomFrom(a, 1);
    im2col(g, a.f32(0, xSize(g)), a.f32(2, colSize(g)));
    return undefinedValue(env);
  });
}

ENTRY(Col2im) {
  return guarded(env, [&] {
    Args a(env, info, 3);  // (col, geom, dx)
    RingGeom g = geomFrom(a, 1);
    col2im(g, a.f32(0, colSize(g)), a.f32(2, xSize(g)));
    return undefinedValue(env);
  });
}

// Plain convolutions: geometry as im2col's (17 entries), cout the filter's last dimension.
size_t ySize(const RingGeom& g, int cout) { return (size_t)g.batch * g.outH * g.outW * cout; }
size_t wSize(const RingGeom& g, int cout) { return (size_t)g.kh * g.kw * g.cin * cout; }
int coutArg(Args& a, size_t i) {
  const int c = a.i32(i);
  if (c <= 0) throw Error("conv: cout must be positive");
  return c;
}
void plainConvOnly(const RingGeom& g) {
  if (g.groups != 1 || g.numRings != 1 || g.padMode != PAD_ZEROS) throw Error("conv: plain convolutions take groups 1, one ring and zero padding");
}

ENTRY(ConvForward) {
  return guarded(env, [&] {
    Args a(env, info, 7);  // (x, w, geom, cout, bias | null, act, y)
    RingGeom g = geomFrom(a, 2);
    plainConvOnly(g);
    const int cout = coutArg(a, 3), act = a.i32(5);
    if (act < 0 || act > 1) throw Error("conv: act must be 0 (none) or 1 (relu)");
    const float* bias = a.isNull(4) ? nullptr : a.f32(4, (size_t)cout);
    convForward(g, a.f32(0, xSize(g)), a.f32(1, wSize(g, cout)), cout, bias, act, a.f32(6, ySize(g, cout)));
    return undefinedValue(env);
  });
}

ENTRY(ConvBackpropInput) {
  return guarded(env, [&] {
    Args a(env, info, 5);  // (dy, w, geom, cout, dx)
    RingGeom g = geomFrom(a, 2);
    plainConvOnly(g);
    const int cout = coutArg(a, 3);
    convBackpropInput(g, a.f32(0, ySize(g, cout)), a.f32(1, wSize(g, cout)), cout, a.f32(4, xSize(g)));
    return undefinedValue(env);
  });
}

ENTRY(ConvBackpropFilter) {
  return guarded(env, [&] {
    Args a(env, info, 5);  // (x, dy, geom, cout, dw)
    RingGeom g = geomFrom(a, 2);
    plainConvOnly(g);
    const int cout = coutArg(a, 3);
    convBackpropFilter(g, a.f32(0, xSize(g)), a.f32(1, ySize(g, cout)), cout, a.f32(4, wSize(g, cout)));
    return undefinedValue(env);
  });
}

ENTRY(Relu) {
  return guarded(env, [&] {
    Args a(env, info, 2);
    size_t n = a.f32len(0);
    relu(a.f32(0, n), a.f32(1, n), (long)n);
    return undefinedValue(env);
  });
}

ENTRY(ReluGrad) {
  return guarded(env, [&] {
    Args a(env, info, 3);  // (dy, x, dx)
    size_t n = a.f32len(0);
    reluGrad(a.f32(0, n), a.f32(1, n), a.f32(2, n), (long)n);
    return undefinedValue(env);
  });
}

ENTRY(BiasAct) {
  return guarded(env, [&] {
    Args a(env, info, 5);  // (y, bias | null, rows, cols, act)
    long rows = (long)a.num(2), cols = (long)a.num(3);
    int act = a.i32(4);
    if (rows < 0 || cols < 0 || act < 0 || act > 1) throw Error("biasAct: bad arguments");
    float* y = a.f32(0, (size_t)rows * cols);
    const float* bias = a.isNull(1) ? nullptr : a.f32(1, (size_t)cols);
    biasAct(y, bias, rows, cols, act);
    return undefinedValue(env);
  });
}

ENTRY(Binary) {
  return guarded(env, [&] {
    Args a(env, info, 4);  // (op, a, b, out): b's length divides out's (broadcast along the leading axes)
    int op = a.i32(0);
    if (op < 0 || op > 2) throw Error("binary: unknown op");
    size_t n = a.f32len(3), an = a.f32len(1), bn = a.f32len(2);
    if (an == 0 || bn == 0 || n % an || n % bn) throw Error("binary: shapes do not broadcast");
    binary(op, a.f32(1, an), (long)an, a.f32(2, bn), (long)bn, a.f32(3, n), (long)n);
    return undefinedValue(env);
  });
}

ENTRY(Reduce) {
  return guarded(env, [&] {
    Args a(env, info, 6);  // (x, outer, red, inner, out, mean)
    long outer = (long)a.num(1), red = (long)a.num(2), inner = (long)a.num(3);
    if (outer < 0 || red < 0 || inner < 0) throw Error("reduce: negative size");
    reduceMiddle(a.f32(0, (size_t)outer * red * inner), outer, red, inner, a.f32(4, (size_t)outer * inner), a.flag(5));
    return undefinedValue(env);
  });
}

std::vector<int> intList(Args& a, size_t i, size_t minLen, size_t maxLen) {
  size_t len;
  int* p = a.typed<int>(i, napi_int32_array, &len, "Int32Array");
  if (len < minLen || len > maxLen) throw Error("Int32Array argument " + std::to_string(i) + " has a bad length");
  return std::vector<int>(p, p + len);
}

ENTRY(BinaryStrided) {
  return guarded(env, [&] {
    Args a(env, info, 7);  // (op, a, aStrides, b, bStrides, out, shape)
    int op = a.i32(0);
    if (op < 0 || op > 4) throw Error("binaryStrided: unknown op");
    auto shape = intList(a, 6, 1, 8);
    int rank = (int)shape.size();
    auto as = intList(a, 2, rank, rank), bs = intList(a, 4, rank, rank);
    size_t n = 1, aNeed = 1, bNeed = 1;
    for (int d = 0; d < rank; d++) {
      if (shape[d] <= 0) throw Error("binaryStrided: empty shape");
      if (as[d] < 0 || bs[d] < 0) throw Error("binaryStrided: negative stride");
      n *= shape[d];
      aNeed += (size_t)as[d] * (shape[d] - 1);
      bNeed += (size_t)bs[d] * (shape[d] - 1);
    }
    binaryStrided(op, a.f32(1, aNeed), as.data(), a.f32(3, bNeed), bs.data(), a.f32(5, n), shape.data(), rank);
    return undefinedValue(env);
  });
}

ENTRY(Tile) {
  return guarded(env, [&] {
    Args a(env, info, 4);  // (x, shape, reps, out)
    auto shape = intList(a, 1, 1, 8);
    int rank = (int)shape.size();
    auto reps = intList(a, 2, rank, rank);
    size_t n = 1, on = 1;
    for (int d = 0; d < rank; d++) {
      if (shape[d] <= 0 || reps[d] <= 0) throw Error("tile: empty shape");
      n *= shape[d];
      on *= (size_t)shape[d] * reps[d];
    }
    tile(a.f32(0, n), shape.data(), reps.data(), rank, a.f32(3, on));
    return undefinedValue(env);
  });
}

ENTRY(AvgPool) {
  return guarded(env, [&] {
    Args a(env, info, 3);  // (x, geom, y)
    RingGeom g = geomFrom(a, 1);
    avgPool(g, a.f32(0, xSize(g)), a.f32(2, (size_t)g.batch * g.outH * g.outW * g.cin));
    return undefinedValue(env);
  });
}

ENTRY(DepthwiseConv) {
  return guarded(env, [&] {
    Args a(env, info, 5);  // (x, w [kh, kw, cin, mult], geom, mult, y)
    RingGeom g = geomFrom(a, 2);
    const int mult = a.i32(3);
    if (mult <= 0) throw Error("depthwiseConv: the channel multiplier must be positive");
    const size_t cout = (size_t)g.cin * mult;
    depthwiseConv(g, mult, a.f32(0, xSize(g)), a.f32(1, (size_t)g.kh * g.kw * cout), a.f32(4, (size_t)g.batch * g.outH * g.outW * cout));
    return undefinedValue(env);
  });
}

ENTRY(AvgPoolGrad) {
  return guarded(env, [&] {
    Args a(env, info, 3);  // (dy, geom, dx)
    RingGeom g = geomFrom(a, 1);
    avgPoolGrad(g, a.f32(0, (size_t)g.batch * g.outH * g.outW * g.cin), a.f32(2, xSize(g)));
    return undefinedValue(env);
  });
}

ENTRY(BatchNorm) {
  return guarded(env, [&] {
    Args a(env, info, 7);  // (x, mean, var, offset | null, scale | null, eps, y): parameters of length C = their length
    size_t n = a.f32len(0), C = a.f32len(1);
    if (C == 0 || n % C) throw Error("batchNorm: parameter length must divide the input size");
    const float* off = a.isNull(3) ? nullptr : a.f32(3, C);
    const float* sc = a.isNull(4) ? nullptr : a.f32(4, C);
    batchNorm(a.f32(0, n), (long)n, (long)C, a.f32(1, C), a.f32(2, C), off, sc, (float)a.num(5), a.f32(6, n));
    return undefinedValue(env);
  });
}

ENTRY(BatchNormGrad) {
  return guarded(env, [&] {
    // (x, dy, mean, var, scale | null, eps, dx, dmean, dvar, dscale, doffset): per-channel arrays of length C = mean's
    Args a(env, info, 11);
    size_t n = a.f32len(0), C = a.f32len(2);
    if (C == 0 || n % C) throw Error("batchNormGrad: parameter length must divide the input size");
    const float* sc = a.isNull(4) ? nullptr : a.f32(4, C);
    batchNormGrad(a.f32(0, n), a.f32(1, n), (long)n, (long)C, a.f32(2, C), a.f32(3, C), sc, (float)a.num(5), a.f32(6, n), a.f32(7, C), a.f32(8, C), a.f32(9, C), a.f32(10, C));
    return undefinedValue(env);
  });
}

ENTRY(Transpose) {
  return guarded(env, [&] {
    Args a(env, info, 4);  // (x, shape, perm, out)
    auto shape = intList(a, 1, 1, 8);
    int rank = (int)shape.size();
    auto perm = intList(a, 2, rank, rank);
    size_t n = 1;
    std::vector<bool> seen(rank, false);
    for (int d = 0; d < rank; d++) {
      if (shape[d] <= 0 || perm[d] < 0 || perm[d] >= rank || seen[perm[d]]) throw Error("transpose: bad shape or permutation");
      seen[perm[d]] = true;
      n *= shape[d];
    }
    transpose(a.f32(0, n), shape.data(), perm.data(), rank, a.f32(3, n));
    return undefinedValue(env);
  });
}

ENTRY(FieldGate) {
  return guarded(env, [&] {
    Args a(env, info, 5);  // (x, n0, n1, n2, y): x [rows, n0 + 3K], y [rows, n0 + 2K], K = n1 + n2
    const int n0 = a.i32(1), n1 = a.i32(2), n2 = a.i32(3);
    const long cin = n0 + 3L * (n1 + n2), cout = n0 + 2L * (n1 + n2);
    size_t n = a.f32len(0);
    if (n0 < 0 || n1 < 0 || n2 < 0 || cout == 0 || n % cin) throw Error("fieldGate: x's size must be a multiple of n0 + 3·(n1 + n2)");
    const long rows = (long)(n / cin);
    fieldGate(a.f32(0, n), rows, n0, n1, n2, a.f32(4, (size_t)rows * cout));
    return undefinedValue(env);
  });
}

ENTRY(FieldGateGrad) {
  return guarded(env, [&] {
    Args a(env, info, 6);  // (x, dy, n0, n1, n2, dx)
    const int n0 = a.i32(2), n1 = a.i32(3), n2 = a.i32(4);
    const long cin = n0 + 3L * (n1 + n2), cout = n0 + 2L * (n1 + n2);
    size_t n = a.f32len(0);
    if (n0 < 0 || n1 < 0 || n2 < 0 || cout == 0 || n % cin) throw Error("fieldGateGrad: x's size must be a multiple of n0 + 3·(n1 + n2)");
    const long rows = (long)(n / cin);
    fieldGateGrad(a.f32(0, n), a.f32(1, (size_t)rows * cout), rows, n0, n1, n2, a.f32(5, n));
    return undefinedValue(env);
  });
}

ENTRY(FieldInvariants) {
  return guarded(env, [&] {
    Args a(env, info, 6);  // (x, n0, n1, n2, paired (0/1), y): x [rows, n0 + 2·(n1 + n2)], y [rows, fieldInvariantChannels]
    const int n0 = a.i32(1), n1 = a.i32(2), n2 = a.i32(3);
    const bool paired = a.i32(4) != 0;
    const long cin = n0 + 2L * (n1 + n2);
    size_t n = a.f32len(0);
    if (n0 < 0 || n1 < 0 || n2 < 0 || cin == 0 || n % cin) throw Error("fieldInvariants: x's size must be a multiple of n0 + 2·(n1 + n2)");
    const long rows = (long)(n / cin);
    fieldInvariants(a.f32(0, n), rows, n0, n1, n2, paired, a.f32(5, (size_t)rows * fieldInvariantChannels(n0, n1, n2, paired)));
    return undefinedValue(env);
  });
}

ENTRY(FieldInvariantsGrad) {
  return guarded(env, [&] {
    Args a(env, info, 7);  // (x, dy, n0, n1, n2, paired (0/1), dx)
    const int n0 = a.i32(2), n1 = a.i32(3), n2 = a.i32(4);
    const bool paired = a.i32(5) != 0;
    const long cin = n0 + 2L * (n1 + n2);
    size_t n = a.f32len(0);
    if (n0 < 0 || n1 < 0 || n2 < 0 || cin == 0 || n % cin) throw Error("fieldInvariantsGrad: x's size must be a multiple of n0 + 2·(n1 + n2)");
    const long rows = (long)(n / cin);
    fieldInvariantsGrad(a.f32(0, n), a.f32(1, (size_t)rows * fieldInvariantChannels(n0, n1, n2, paired)), rows, n0, n1, n2, paired, a.f32(6, n));
    return undefinedValue(env);
  });
}

// The activation code of the field batch-norm entries: 0 none, 1 ReLU (order-0 fields only).
void checkBatchNormAct(const char* where, int act, int n1, int n2) {
  if (act != BN_LINEAR && act != BN_RELU) throw Error(std::string(where) + ": act must be 0 (linear) or 1 (relu)");
  if (act == BN_RELU && n1 + n2 > 0) throw Error(std::string(where) + ": a fused ReLU takes order-0 fields only (n1 = n2 = 0)");
}

ENTRY(FieldBatchNorm) {
  return guarded(env, [&] {
    Args a(env, info, 12);  // (x, n0, n1, n2, gamma [F], beta [n0] | null, eps, act (0 linear, 1 relu), y, mean [C], stats [F], invStd [C])
    const int n0 = a.i32(1), n1 = a.i32(2), n2 = a.i32(3);
    const long C = n0 + 2L * (n1 + n2), F = (long)n0 + n1 + n2;
    size_t n = a.f32len(0);
    if (n0 < 0 || n1 < 0 || n2 < 0 || C == 0 || n % C) throw Error("fieldBatchNorm: x's size must be a multiple of n0 + 2·(n1 + n2)");
    const float* beta = a.isNull(5) ? nullptr : a.f32(5, n0);
    const int act = a.i32(7);
    checkBatchNormAct("fieldBatchNorm", act, n1, n2);
    fieldBatchNorm(a.f32(0, n), (long)(n / C), n0, n1, n2, a.f32(4, F), beta, (float)a.num(6), act, a.f32(8, n), a.f32(9, C), a.f32(10, F), a.f32(11, C));
    return undefinedValue(env);
  });
}

ENTRY(FieldBatchNormGrad) {
  return guarded(env, [&] {
    Args a(env, info, 13);  // (x, dy, n0, n1, n2, mean [C], invStd [C], gamma [F], beta [n0] | null, act, dx, dgamma [F], dbeta [n0] | null)
    const int n0 = a.i32(2), n1 = a.i32(3), n2 = a.i32(4);
    const long C = n0 + 2L * (n1 + n2), F = (long)n0 + n1 + n2;
    size_t n = a.f32len(0);
    if (n0 < 0 || n1 < 0 || n2 < 0 || C == 0 || n % C) throw Error("fieldBatchNormGrad: x's size must be a multiple of n0 + 2·(n1 + n2)");
    const int act = a.i32(9);
    checkBatchNormAct("fieldBatchNormGrad", act, n1, n2);
    if (act != BN_LINEAR && a.isNull(8)) throw Error("fieldBatchNormGrad: a fused ReLU needs beta");
    const float* beta = a.isNull(8) ? nullptr : a.f32(8, n0);
    float* dbeta = a.isNull(12) ? nullptr : a.f32(12, n0);
    fieldBatchNormGrad(a.f32(0, n), a.f32(1, n), (long)(n / C), n0, n1, n2, a.f32(5, C), a.f32(6, C), a.f32(7, F), beta, act, a.f32(10, n), a.f32(11, F), dbeta);
    return undefinedValue(env);
  });
}

ENTRY(SoftmaxCrossEntropy) {
  return guarded(env, [&] {
    Args a(env, info, 5);  // (logits [B, K], labels [B, K], K, loss [1], probs [B, K])
    const long K = a.i32(2);
    const size_t n = a.f32len(0);
    if (K <= 0 || n % K) throw Error("softmaxCrossEntropy: logits' size must be a multiple of K > 0");
    softmaxCrossEntropy(a.f32(0, n), a.f32(1, n), (long)(n / K), K, a.f32(3, 1), a.f32(4, n));
    return undefinedValue(env);
  });
}

ENTRY(SoftmaxCrossEntropyGrad) {
  return guarded(env, [&] {
    Args a(env, info, 5);  // (probs [B, K], labels [B, K], K, dy, dlogits [B, K])
    const long K = a.i32(2);
    const size_t n = a.f32len(0);
    if (K <= 0 || n % K) throw Error("softmaxCrossEntropyGrad: probs' size must be a multiple of K > 0");
    softmaxCrossEntropyGrad(a.f32(0, n), a.f32(1, n), (float)a.num(3), (long)(n / K), K, a.f32(4, n));
    return undefinedValue(env);
  });
}

ENTRY(Step) {
  return guarded(env, [&] {
    Args a(env, info, 3);  // (x, alpha, y)
    size_t n = a.f32len(0);
    step(a.f32(0, n), (float)a.num(1), a.f32(2, n), (long)n);
    return undefinedValue(env);
  });
}

#ifdef GMR_CUDA
ENTRY(DeviceInfo) {
  return guarded(env, [&] {
    CudaDeviceInfo d = cudaDeviceInfo();
    napi_value o, s;
    CHECK_NAPI(napi_create_object(env, &o));
    napi_get_boolean(env, d.ok, &s);
    napi_set_named_property(env, o, "ok", s);
    napi_set_named_property(env, o, "count", number(env, d.count));
    napi_create_string_utf8(env, d.name.c_str(), NAPI_AUTO_LENGTH, &s);
    napi_set_named_property(env, o, "name", s);
    napi_create_string_utf8(env, d.error.c_str(), NAPI_AUTO_LENGTH, &s);
    napi_set_named_property(env, o, "error", s);
    return o;
  });
}
#endif

napi_value Init(napi_env env, napi_value exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
  } fns[] = {
      {"alloc", Alloc}, {"release", Release}, {"liveBuffers", LiveBuffers}, {"trimPool", TrimPool}, {"setThreads", SetThreads}, {"info", Info},
      {"sgemm", Sgemm}, {"ringSum", RingSum}, {"gmrForward", GmrForward}, {"gmrForwardKeep", GmrForwardKeep}, {"gmrFilterGrad", GmrFilterGrad}, {"ringScatter", RingScatter}, {"steerableForward", SteerableForward}, {"steerableFilterGrad", SteerableFilterGrad}, {"steerableInputGrad", SteerableInputGrad}, {"im2col", Im2col}, {"col2im", Col2im},
      {"convForward", ConvForward}, {"convBackpropInput", ConvBackpropInput}, {"convBackpropFilter", ConvBackpropFilter},
      {"relu", Relu}, {"reluGrad", ReluGrad}, {"biasAct", BiasAct}, {"binary", Binary}, {"reduce", Reduce},
      {"binaryStrided", BinaryStrided}, {"tile", Tile}, {"avgPool", AvgPool}, {"avgPoolGrad", AvgPoolGrad}, {"depthwiseConv", DepthwiseConv},
      {"batchNorm", BatchNorm}, {"batchNormGrad", BatchNormGrad}, {"step", Step}, {"transpose", Transpose},
      {"optimizerUpdate", optimizerUpdateEntry},
      {"fieldGate", FieldGate}, {"fieldGateGrad", FieldGateGrad}, {"fieldBatchNorm", FieldBatchNorm}, {"fieldBatchNormGrad", FieldBatchNormGrad},
      {"fieldInvariants", FieldInvariants}, {"fieldInvariantsGrad", FieldInvariantsGrad},
      {"softmaxCrossEntropy", SoftmaxCrossEntropy}, {"softmaxCrossEntropyGrad", SoftmaxCrossEntropyGrad},
#ifdef GMR_CUDA
      {"deviceInfo", DeviceInfo},
#endif
  };
  for (const Fn& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
