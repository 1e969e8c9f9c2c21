// Plain 2D convolutions on the host (NHWC x, HWIO filters as tfjs stores them), forward and both gradients, as
// implicit GEMMs: the im2col rows of a block of positions are built in a thread's own buffer (sized for L2) and
// multiplied at once by a filter matrix packed once per call (gemmPackedB), so no whole im2col matrix is ever
// written to memory and read back. The input gradient is gathered (each input pixel collects the output positions
// that read it, any stride and padding), so threads never write the same pixel and no col2im pass is needed.
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "conv_host.h"
#include "host_ops.h"
#include "thread_pool.h"

#if defined(__x86_64__) && !defined(GMR_NO_CLONES)
#define GMR_CONV_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GMR_CONV_CLONES
#endif

namespace gmr {
namespace {

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Floats = std::unique_ptr<float[], AlignedFree>;

// 64-byte aligned (the AVX-512 kernels load packed B rows aligned).
Floats alignedFloats(size_t n) {
  float* p = (float*)std::aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64);
  if (!p) throw std::bad_alloc();
  return Floats(p);
}

// Rows per block: the block's im2col rows stay within about 384 KB (L2 holds them next to the packed filter),
// a multiple of 12 (the AVX-512 tile), at least 12 and at most 240.
long blockRows(long K) {
  long mb = (384L << 10) / (4 * std::max(1L, K));
  mb = std::max(12L, std::min(240L, mb));
  return mb - mb % 12;
}

// Copies n floats: runs here are short (a tap's channels, a kernel row's), where memcpy's call costs more than the
// copy; an inline loop the compiler vectorises.
// (GCC would turn the loop back into a memmove call: fixed 8-float moves, which it inlines, and a short tail.)
inline void copyChannels(float* __restrict d, const float* __restrict s, int n) {
  if (n > 256) {
    std::memcpy(d, s, (size_t)n * sizeof(float));
    return;
  }
  int i = 0;
  for (; i + 8 <= n; i += 8) __builtin_memcpy(d + i, s + i, 8 * sizeof(float));
  switch (n - i) {
    case 7: d[i + 6] = s[i + 6]; [[fallthrough]];
    case 6: d[i + 5] = s[i + 5]; [[fallthrough]];
    case 5: d[i + 4] = s[i + 4]; [[fallthrough]];
    case 4: d[i + 3] = s[i + 3]; [[fallthrough]];
    case 3: d[i + 2] = s[i + 2]; [[fallthrough]];
    case 2: d[i + 1] = s[i + 1]; [[fallthrough]];
    case 1: d[i] = s[i]; [[fallthrough]];
    default: break;
  }
}

// Working memory that the calling thread keeps between calls (two blocks, up to 64 MB each; a third user, or a larger
// request, allocates its own), uninitialised. A fresh block of a few MB per call came from mmap each time in a
// training process, and its page faults cost about 1 ms of a 16→32 9×9 layer's input gradient.
class Scratch {
 public:
  explicit Scratch(size_t n) {
    if (n * sizeof(float) <= (64u << 20))
      for (int i = 0; i < 2; i++)
        if (!slots()[i].busy) {
          Slot& s = slots()[i];
          if (n > s.size) s.block = alignedFloats(n), s.size = n;
          s.busy = true, slot_ = i, p_ = s.block.get();
          return;
        }
    own_ = alignedFloats(n), p_ = own_.get();
  }
  ~Scratch() {
    if (slot_ >= 0) slots()[slot_].busy = false;
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* get() const { return p_; }

 private:
  struct Slot {
    Floats block;
    size_t size = 0;
    bool busy = false;
  };
  static Slot* slots() {
    static thread_local Slot s[2];
    return s;
  }
  int slot_ = -1;
  Floats own_;
  float* p_ = nullptr;
};

// x with its zero padding written out (each image [Hp, Wp, Cin]): every tap of every output position then reads
// inside it, so an im2col row is kh runs of kw·Cin consecutive floats (dilation 1 along the row) with no border tests.
// Not zero-filled first: every float is written by fill. Filled at once over the pool's threads, or, `lazy`, image by
// image by its users (fillImages), so that an image is read back while it is still in the core's cache: the whole
// padded batch of a 16- or 32-channel layer (1–2 MB) would have left L2 by the time it is read.
struct PaddedInput {
  const RingGeom& g;
  const float* x;
  int Hp, Wp;
  Scratch mem;
  float* v;
  const float* data() const { return v; }
  PaddedInput(const RingGeom& g, const float* x, bool lazy = false)
      : g(g), x(x), Hp((g.outH - 1) * g.sh + (g.kh - 1) * g.dh + 1), Wp((g.outW - 1) * g.sw + (g.kw - 1) * g.dw + 1), mem((size_t)g.batch * Hp * Wp * g.cin), v(mem.get()) {
    if (!lazy) parallelFor((long)g.batch * Hp, [&](long tb, long te) { fillRows(tb, te); }, 8);
  }
  // Images [b0, b1), on the caller's thread.
  void fillImages(long b0, long b1) const { fillRows(b0 * Hp, b1 * Hp); }

 private:
  // Padded rows [t0, t1) of the whole batch (row t: image t / Hp, padded row t % Hp).
  void fillRows(long t0, long t1) const {
    const long cin = g.cin;
    for (long t = t0; t < t1; t++) {
      const long b = t / Hp;
      const int py = (int)(t % Hp), iy = py - g.padTop;
      float* row = v + t * Wp * cin;
      if (iy < 0 || iy >= g.inH) {
        std::memset(row, 0, (size_t)Wp * cin * sizeof(float));
        continue;
      }
      // Columns [padLeft, padLeft + inW) of the padded row hold x's row (clipped to Wp); the rest are zeros.
      const int c0 = std::min(Wp, std::max(0, g.padLeft)), c1 = std::min(Wp, std::max(0, g.padLeft + g.inW));
      std::memset(row, 0, (size_t)c0 * cin * sizeof(float));
      if (c1 > c0) std::memcpy(row + (long)c0 * cin, x + ((b * g.inH + iy) * g.inW + (c0 - g.padLeft)) * cin, (size_t)(c1 - c0) * cin * sizeof(float));
      std::memset(row + (long)std::max(c0, c1) * cin, 0, (size_t)(Wp - std::max(c0, c1)) * cin * sizeof(float));
    }
  }
};

// im2col rows of output positions [p0, p1): row (p − p0) = x at every tap (ty, tx), channels innermost.
void im2colRows(const RingGeom& g, const PaddedInput& xp, long p0, long p1, float* col) {
  const int cin = g.cin, run = g.kw * cin;
  const long K = (long)g.kh * run;
  for (long p = p0; p < p1; p++) {
    const int ox = (int)(p % g.outW);
    const int oy = (int)((p / g.outW) % g.outH);
    const long b = p / ((long)g.outW * g.outH);
    float* d = col + (p - p0) * K;
    for (int ty = 0; ty < g.kh; ty++, d += run) {
      const float* src = xp.data() + ((b * xp.Hp + (long)oy * g.sh + (long)ty * g.dh) * xp.Wp + (long)ox * g.sw) * cin;
      if (g.dw == 1) copyChannels(d, src, run);
      else
        for (int tx = 0; tx < g.kw; tx++) copyChannels(d + tx * cin, src + (long)tx * g.dw * cin, cin);
    }
  }
}

// fn(r0, r1, col) over blocks of mb rows of [0, rows), on the pool's threads, each with its own buffer col [mb × K]
// (64-byte aligned) for the block's im2col rows.
template <typename F>
void forRowBlocks(long rows, long mb, long K, F&& fn) {
  const long blocks = (rows + mb - 1) / mb;
  parallelFor(blocks, [&](long bb, long be) {
    Floats col = alignedFloats((size_t)mb * K);
    for (long blk = bb; blk < be; blk++) fn(blk * mb, std::min(rows, blk * mb + mb), col.get());
  });
}

// y[r, c] = act(y[r, c] + bias[c]) on one block (the caller's thread).
void addBiasAct(float* y, const float* bias, long rows, int cols, int act) {
  for (long r = 0; r < rows; r++) {
    float* v = y + r * cols;
    if (bias) for (int c = 0; c < cols; c++) v[c] += bias[c];
    if (act == 1) for (int c = 0; c < cols; c++) v[c] = v[c] > 0.f ? v[c] : 0.f;
  }
}

// Below this many output columns a 16-wide GEMM tile is mostly padding: dot products instead.
constexpr int SMALL_N = 8;

// C [M × N] = A [M × K] · B [K × N] for N < SMALL_N: per row, N dot products of length K in 16 lanes.
GMR_CONV_CLONES void smallNProduct(long M, int N, int K, const float* __restrict A, const float* __restrict B, float* __restrict C) {
  std::vector<float> bt((size_t)N * K);  // B transposed: each dot product reads two contiguous rows
  for (int k = 0; k < K; k++)
    for (int n = 0; n < N; n++) bt[(size_t)n * K + k] = B[(size_t)k * N + n];
  for (long i = 0; i < M; i++) {
    const float* a = A + i * K;
    for (int n = 0; n < N; n++) {
      const float* bn = bt.data() + (size_t)n * K;
      float acc[16] = {};
      int k = 0;
      for (; k + 16 <= K; k += 16)
        for (int l = 0; l < 16; l++) acc[l] += a[k + l] * bn[k + l];
      float s = 0.f;
      for (; k < K; k++) s += a[k] * bn[k];
      for (int l = 0; l < 16; l++) s += acc[l];
      C[i * N + n] = s;
    }
  }
}

// ---- Direct implicit GEMM (AVX-512): no im2col rows at all. An output position's im2col row is, tap by tap, Cin
// consecutive floats of the padded input at a fixed offset from the position's own pixel, so a 12-position ×
// (16 or 32)-channel register tile reads x in place: per tap one offset, per input channel one broadcast per position
// and one or two filter rows. The filter gradient is the same tile turned around (12 im2col columns × output
// channels, summed over positions), so each task owns its rows of dW whole: no partial sums, no dy transposed.
constexpr int DR = 14;  // positions (forward) or im2col columns (filter gradient) per tile

bool directConvs() {
  static const bool on = std::strcmp(simdLevel(), "avx512f") == 0;
  return on;
}

// Everything below runs only where directConvs() holds, so it is all built for AVX-512 (the lambdas too).
#pragma GCC push_options
#pragma GCC target("avx512f")

inline __mmask16 tailMask(int cols) { return cols >= 16 ? (__mmask16)0xFFFF : cols <= 0 ? (__mmask16)0 : (__mmask16)((1u << cols) - 1); }

// The forward tiles' epilogue, applied to the accumulators as they are stored (no second pass over y): + bias
// (its 16 columns of this panel, null: none), then ReLU when act == 1, in addBiasAct's order and as it writes it,
// v > 0 ? v : 0 (+0 for a NaN or a −0).
struct Epilogue {
  const float* bias;  // at the tile's first column, or null
  int act;
};
template <int NP>
__attribute__((always_inline, target("avx512f"))) inline void loadBias(const Epilogue& ep, const __mmask16* mq, __m512 (&bv)[NP]) {
  _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) bv[q] = ep.bias ? _mm512_maskz_loadu_ps(mq[q], ep.bias + q * 16) : _mm512_setzero_ps();
}
__attribute__((always_inline, target("avx512f"))) inline __m512 applyEpilogue(const Epilogue& ep, __m512 v, __m512 bv) {
  if (ep.bias) v = _mm512_add_ps(v, bv);
  if (ep.act == 1) v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
  return v;
}

// y rows [0, rows) (row stride ldy) × columns [0, 16·NP) (the last panel masked to `cols` − 16·(NP − 1)) =
// Σ over k of a[r][koff[k]] · w[k·ldw + column]: a, the rows' first taps; koff, im2col column k's offset from it.
// One loop over k (not taps, then channels): with one input channel a tap is one step, and the offset is one load.
template <int NP>
__attribute__((target("avx512f"))) void directTile(const float* const* a, int rows, const int* koff, int K, const float* w, int ldw, int cols, float* y, int ldy, Epilogue ep) {
  __m512 acc[DR][NP];
  _Pragma("GCC unroll 16") for (int r = 0; r < DR; r++)
    _Pragma("GCC unroll 16") for (int q = 0; q < NP; q++) acc[r][q] = _mm512_setzero_ps();
  const __mmask16 m = tailMask(cols - 16 * (NP - 1));
  const float* p[DR];
  _Pragma("GCC unroll 16") for (int r = 0; r < DR; r++) p[r] = a[r];
  _Pragma("GCC unroll 2") for (int k = 0; k < K; k++, w += ldw) {
    const int o = koff[k];
    __m512 b[NP];
    _Pragma("GCC unroll 16") for (int q = 0; q < NP; q++) b[q] = q == NP - 1 ? _mm512_maskz_loadu_ps(m, w + q * 16) : _mm512_loadu_ps(w + q * 16);
    _Pragma("GCC unroll 16") for (int r = 0; r < DR; r++) {
      const __m512 av = _mm512_set1_ps(p[r][o]);
      _Pragma("GCC unroll 16") for (int q = 0; q < NP; q++) acc[r][q] = _mm512_fmadd_ps(av, b[q], acc[r][q]);
    }
  }
  __mmask16 mq[NP];
  _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) mq[q] = q == NP - 1 ? m : (__mmask16)0xFFFF;
  __m512 bv[NP];
  loadBias<NP>(ep, mq, bv);
  _Pragma("GCC unroll 16") for (int r = 0; r < DR; r++) if (r < rows)
    _Pragma("GCC unroll 16") for (int q = 0; q < NP; q++) _mm512_mask_storeu_ps(y + (size_t)r * ldy + q * 16, mq[q], applyEpilogue(ep, acc[r][q], bv[q]));
}

// Offset of each im2col column k = (ty, tx, ci) in the padded input from a position's first tap, in floats.
std::vector<int> columnOffsets(const RingGeom& g, int Wp) {
  std::vector<int> off((size_t)g.kh * g.kw * g.cin);
  for (int ty = 0, k = 0; ty < g.kh; ty++)
    for (int tx = 0; tx < g.kw; tx++)
      for (int ci = 0; ci < g.cin; ci++) off[k++] = (ty * g.dh * Wp + tx * g.dw) * g.cin + ci;
  return off;
}

// The padded input's first tap of output position p.
inline const float* positionBase(const RingGeom& g, const PaddedInput& xp, long p) {
  const int ox = (int)(p % g.outW), oy = (int)((p / g.outW) % g.outH);
  const long b = p / ((long)g.outW * g.outH);
  return xp.data() + ((b * xp.Hp + (long)oy * g.sh) * xp.Wp + (long)ox * g.sw) * g.cin;
}

// The multiply-adds of im2col columns [0, n) of one tap (offsets ko, filter rows from w) for the positions
// [LO, RUN − RR) of each of NRUNS rows: the others read the zero padding at this tap (LO, RR: the positions of the
// row that the tap puts left of or right of x), so they are left out, the sums unchanged.
template <int NP, int RUN, int NRUNS, int STEP, int LO, int RR>
__attribute__((always_inline, target("avx512f"))) inline void runTapColumns(__m512 (&acc)[RUN * NRUNS][NP], const float* const* a, const int* ko, int n, const float* w, int ldw, const __mmask16* mq) {
  _Pragma("GCC unroll 2") for (int k = 0; k < n; k++, w += ldw) {
    const int o = ko[k];
    __m512 b[NP];
    _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) b[q] = _mm512_maskz_loadu_ps(mq[q], w + q * 16);
    _Pragma("GCC unroll 4") for (int j = 0; j < NRUNS; j++) {
      const float* pj = a[j] + o;
      _Pragma("GCC unroll 28") for (int i = LO; i < RUN - RR; i++) {
        const __m512 av = _mm512_set1_ps(pj[i * STEP]);
        _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) acc[j * RUN + i][q] = _mm512_fmadd_ps(av, b[q], acc[j * RUN + i][q]);
      }
    }
  }
}

// Kinds of taps by the positions of a whole output row that they put in the zero padding, LO on the left and RR on
// the right, each at most RUN_EDGE (a tap with more computes some zeros): kind LO·(RUN_EDGE + 1) + RR.
constexpr int RUN_EDGE = 4;

// The same product for NRUNS consecutive whole output rows of RUN positions (a[j]: row j's first tap; the positions
// of a row STEP floats apart): every broadcast address is one of NRUNS base registers plus a constant, so the 14 to
// 28 positions cost no pointer registers (directTile's 14 pointers spill), and a 16-column tile can take 28
// positions, which halves its loads per multiply-add. The columns run tap by tap (cin each), each tap leaving out
// the positions that it puts in the padding (kind[tap]: about a sixth of a 9×9 'same' layer's multiply-adds on
// 14×14 rows); kind null: all columns for all positions (a switch per tap costs more than it saves with a channel
// or two per tap). Writes all RUN·NRUNS rows of y.
template <int NP, int RUN, int NRUNS, int STEP>
__attribute__((target("avx512f"))) void directRunTile(const float* const* a, const int* koff, int K, const float* w, int ldw, int cols, float* y, int ldy, const unsigned char* kind, int cin, Epilogue ep) {
  constexpr int R = RUN * NRUNS;
  __m512 acc[R][NP];
  _Pragma("GCC unroll 28") for (int r = 0; r < R; r++)
    _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) acc[r][q] = _mm512_setzero_ps();
  __mmask16 mq[NP];  // per panel: with cols ≤ 16 a second panel is all masked (cout 40: 32 columns, then 8)
  _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) mq[q] = tailMask(cols - 16 * q);
  if (!kind) runTapColumns<NP, RUN, NRUNS, STEP, 0, 0>(acc, a, koff, K, w, ldw, mq);
  else for (int t = 0, k = 0; k < K; t++, k += cin) {
    const int* ko = koff + k;
    const float* wt = w + (size_t)k * ldw;
    switch (kind[t]) {
#define GMR_TAP(L, RR) \
  case L * (RUN_EDGE + 1) + RR: runTapColumns<NP, RUN, NRUNS, STEP, L, RR>(acc, a, ko, cin, wt, ldw, mq); break;
#define GMR_TAPS(L) GMR_TAP(L, 0) GMR_TAP(L, 1) GMR_TAP(L, 2) GMR_TAP(L, 3) GMR_TAP(L, 4)
      GMR_TAPS(0) GMR_TAPS(1) GMR_TAPS(2) GMR_TAPS(3) GMR_TAPS(4)
#undef GMR_TAPS
#undef GMR_TAP
      default: break;
    }
  }
  __m512 bv[NP];
  loadBias<NP>(ep, mq, bv);
  _Pragma("GCC unroll 28") for (int r = 0; r < R; r++)
    _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) _mm512_mask_storeu_ps(y + (size_t)r * ldy + q * 16, mq[q], applyEpilogue(ep, acc[r][q], bv[q]));
}

// One whole output row of RUN positions × NP 16-wide panels, for stride 1, dilation 1 and the padding of 'same'
// (kernel width KW odd, (KW − 1) / 2 columns each side): per kernel row and input channel, each input pixel of the
// row is broadcast once and multiplied by the KW taps' filter rows (held in registers) into the KW outputs that read
// it. With a 14-wide row and 9 taps, 9 loads and 14 broadcasts feed 106 multiply-adds, where directRunTile needs a
// load per multiply-add with one panel (16 per 28 with two); and the taps that read padding are never visited.
// Same arguments as directRunTile (a[0]: the row's first tap; koff's kernel rows from the first that reads x).
template <int NP, int RUN, int KW, int STEP>
__attribute__((target("avx512f"))) void rowTapTile(const float* const* a, const int* koff, int K, const float* w, int ldw, int cols, float* y, int ldy, const unsigned char*, int, Epilogue ep) {
  static_assert(NP * (RUN + KW) + 1 <= 32, "accumulators, filter rows and the broadcast fit the 32 registers");
  constexpr int PADL = (KW - 1) / 2;
  __m512 acc[RUN][NP];
  _Pragma("GCC unroll 28") for (int r = 0; r < RUN; r++)
    _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) acc[r][q] = _mm512_setzero_ps();
  __mmask16 mq[NP];
  _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) mq[q] = tailMask(cols - 16 * q);
  for (int k0 = 0; k0 < K; k0 += KW * STEP) {
    const float* row = a[0] + koff[k0] + PADL * STEP;  // input column 0 of this kernel row
    const float* wr = w + (size_t)k0 * ldw;
    for (int ci = 0; ci < STEP; ci++, row++, wr += ldw) {
      __m512 wv[KW][NP];
      _Pragma("GCC unroll 16") for (int tx = 0; tx < KW; tx++)
        _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) {
          const float* wq = wr + (size_t)tx * STEP * ldw + q * 16;
          wv[tx][q] = _mm512_maskz_loadu_ps(mq[q], wq);
        }
      _Pragma("GCC unroll 28") for (int ix = 0; ix < RUN; ix++) {
        const __m512 xb = _mm512_set1_ps(row[ix * STEP]);
        _Pragma("GCC unroll 16") for (int tx = 0; tx < KW; tx++) {
          const int ox = ix + PADL - tx;
          if (ox >= 0 && ox < RUN)
            _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) acc[ox][q] = _mm512_fmadd_ps(xb, wv[tx][q], acc[ox][q]);
        }
      }
    }
  }
  __m512 bv[NP];
  loadBias<NP>(ep, mq, bv);
  _Pragma("GCC unroll 28") for (int r = 0; r < RUN; r++)
    _Pragma("GCC unroll 2") for (int q = 0; q < NP; q++) _mm512_mask_storeu_ps(y + (size_t)r * ldy + q * 16, mq[q], applyEpilogue(ep, acc[r][q], bv[q]));
}

// The rowTapTile instance for a layer, if any (stride and dilation 1 along the row, 'same' columns, its row length,
// kernel width and channel count): 14-wide rows of 9 taps one panel at a time, 7-wide rows of 5 taps two at a time
// (one where there are only 16 output channels).
struct RowTapShape {
  void (*fn)(const float* const*, const int*, int, const float*, int, int, float*, int, const unsigned char*, int, Epilogue);
  int np;
};
RowTapShape rowTapShape(const RingGeom& g, int cout) {
  if (g.sw != 1 || g.dw != 1 || g.inW != g.outW || g.kw % 2 == 0 || g.padLeft != (g.kw - 1) / 2) return {nullptr, 0};
  if (g.outW == 14 && g.kw == 9) {
    if (g.cin == 16) return {rowTapTile<1, 14, 9, 16>, 1};
    if (g.cin == 32) return {rowTapTile<1, 14, 9, 32>, 1};
    if (g.cin == 64) return {rowTapTile<1, 14, 9, 64>, 1};
  }
  if (g.outW == 7 && g.kw == 5 && cout <= 16) {
    if (g.cin == 16) return {rowTapTile<1, 7, 5, 16>, 1};
    if (g.cin == 32) return {rowTapTile<1, 7, 5, 32>, 1};
    if (g.cin == 64) return {rowTapTile<1, 7, 5, 64>, 1};
  }
  if (g.outW == 7 && g.kw == 5) {
    if (g.cin == 16) return {rowTapTile<2, 7, 5, 16>, 2};
    if (g.cin == 32) return {rowTapTile<2, 7, 5, 32>, 2};
    if (g.cin == 64) return {rowTapTile<2, 7, 5, 64>, 2};
  }
  return {nullptr, 0};
}

using RunTile = void (*)(const float* const*, const int*, int, const float*, int, int, float*, int, const unsigned char*, int, Epilogue);
struct RunShape {
  RunTile fn;
  int rows;  // output rows per tile (NRUNS, at most 4)
};

// The instances: rows of 7, 14 or 28 positions (28×28 images and their 2×2 pools) at 1, 16, 32 or 64 floats apart
// (one input channel, or 16 / 32 / 64 at stride 1), 28 rows for one 16-column panel, 14 for two; none: {null}.
template <int STEP>
RunShape runShapeFor(int run, int np) {
  if (np == 1) {
    if (run == 28) return {directRunTile<1, 28, 1, STEP>, 1};
    if (run == 14) return {directRunTile<1, 14, 2, STEP>, 2};
    if (run == 7) return {directRunTile<1, 7, 4, STEP>, 4};
  } else {
    if (run == 14) return {directRunTile<2, 14, 1, STEP>, 1};
    if (run == 7) return {directRunTile<2, 7, 2, STEP>, 2};
  }
  return {nullptr, 0};
}
RunShape runShape(int run, int step, int np) {
  switch (step) {
    case 1: return runShapeFor<1>(run, np);
    case 16: return runShapeFor<16>(run, np);
    case 32: return runShapeFor<32>(run, np);
    case 64: return runShapeFor<64>(run, np);
    default: return {nullptr, 0};
  }
}

// y [P, cout] = conv(x, w) with w [taps·cin, cout] (row stride cout), over the pool's threads by groups of output
// rows: row-tap tiles (rowTapTile) where the layer has an instance, else whole-row tiles (directRunTile) where the
// row length and step have one, else 14-position tiles; the output channels 32 (or, when cout ≤ 16, 16) at a time;
// bias and ReLU applied as each tile is stored.

void directForward(const RingGeom& g, const float* x, const float* w, int cout, float* y, const float* bias, int act) {
  int np = cout <= 16 ? 1 : 2;
  RunShape rsh = runShape(g.outW, g.sw * g.cin, np);
  if (const RowTapShape rt = rowTapShape(g, cout); rt.fn) rsh = {rt.fn, 1}, np = rt.np;
  const int group = rsh.fn ? rsh.rows : std::max(1, DR / std::max(1, g.outW));
  // Tasks: chunks of `ipc` whole images, each padded by its task just before its rows are computed (the fewest
  // images whose rows make whole groups, so that no group is cut at the chunk's end), where there are enough chunks
  // to keep the threads busy; else one padding pass and groups of rows over all images (a group may span two).
  int ipc = 1;
  while (ipc < group && (ipc * g.outH) % group) ipc++;
  const long chunks = (g.batch + ipc - 1) / ipc;
  const bool lazy = chunks >= 4L * numThreads();
  const PaddedInput xp(g, x, lazy);
  const std::vector<int> koff = columnOffsets(g, xp.Wp);
  // Each tap's kind for the whole-row tiles (see RUN_EDGE): the row's positions that it puts left or right of x.
  std::vector<unsigned char> kind((size_t)g.kh * g.kw);
  for (int tx = 0; tx < g.kw; tx++) {
    int lo = 0, rr = 0;
    while (lo < g.outW && lo * g.sw + tx * g.dw - g.padLeft < 0) lo++;
    while (rr < g.outW - lo && (g.outW - 1 - rr) * g.sw + tx * g.dw - g.padLeft >= g.inW) rr++;
    for (int ty = 0; ty < g.kh; ty++) kind[(size_t)ty * g.kw + tx] = (unsigned char)(std::min(lo, RUN_EDGE) * (RUN_EDGE + 1) + std::min(rr, RUN_EDGE));
  }
  // Kernel rows that read x (not the zero padding) for some output row of [r0, r1) (over all images): the others
  // add only zeros, and the im2col columns run kernel row by kernel row, so they are skipped as one range of k
  // (about a sixth of the multiply-adds of a 9×9 'same' layer on 14×14; the sums are the same, zeros left out).
  const int kRow = g.kw * g.cin;
  auto tapRows = [&](long r0, long r1, int& ty0, int& ty1) {
    ty0 = g.kh, ty1 = 0;
    for (long r = r0; r < r1; r++) {
      const int oy = (int)(r % g.outH);
      int a = 0, b = g.kh;
      while (a < b && oy * g.sh + a * g.dh - g.padTop < 0) a++;
      while (b > a && oy * g.sh + (b - 1) * g.dh - g.padTop >= g.inH) b--;
      if (a < b) ty0 = std::min(ty0, a), ty1 = std::max(ty1, b);
    }
    if (ty0 >= ty1) ty0 = ty1 = 0;
  };
  // Bias and ReLU in the tiles' stores (Epilogue), for output columns from j0.
  auto epilogueAt = [&](int j0) { return Epilogue{bias ? bias + j0 : nullptr, act}; };
  // Output rows [row0, row1) (over all images), in groups from row0.
  auto rowsOf = [&](long row0, long row1) {
    for (long r0 = row0; r0 < row1; r0 += group) {
      const long r1 = std::min(row1, r0 + group);
      const long p0 = r0 * g.outW, p1 = r1 * g.outW;
      int ty0, ty1;
      tapRows(r0, r1, ty0, ty1);
      const int* ko = koff.data() + (size_t)ty0 * kRow;
      const int K = (ty1 - ty0) * kRow;
      const float* wk = w + (size_t)ty0 * kRow * cout;
      if (rsh.fn && r1 - r0 == group) {
        const float* a[4];
        for (int j = 0; j < group; j++) a[j] = positionBase(g, xp, (r0 + j) * g.outW);
        for (int j0 = 0; j0 < cout; j0 += 16 * np)
          rsh.fn(a, ko, K, wk + j0, cout, std::min(16 * np, cout - j0), y + p0 * cout + j0, cout, g.cin >= 8 ? kind.data() + (size_t)ty0 * g.kw : nullptr, g.cin, epilogueAt(j0));
      } else {
        for (long t0 = p0; t0 < p1; t0 += DR) {
          const int rows = (int)std::min<long>(DR, p1 - t0);
          const float* a[DR];
          _Pragma("GCC unroll 16") for (int r = 0; r < DR; r++) a[r] = positionBase(g, xp, t0 + std::min(r, rows - 1));
          for (int j0 = 0; j0 < cout; j0 += 32) {
            const int cols = std::min(32, cout - j0);
            if (cols > 16) directTile<2>(a, rows, ko, K, wk + j0, cout, cols, y + t0 * cout + j0, cout, epilogueAt(j0));
            else directTile<1>(a, rows, ko, K, wk + j0, cout, cols, y + t0 * cout + j0, cout, epilogueAt(j0));
          }
        }
      }
    }
  };
  if (lazy) {
    parallelFor(chunks, [&](long cb, long ce) {
      for (long c = cb; c < ce; c++) {
        const long b0 = c * ipc, b1 = std::min<long>(g.batch, b0 + ipc);
        xp.fillImages(b0, b1);
        rowsOf(b0 * g.outH, b1 * g.outH);
      }
    });
    return;
  }
  const long rowsAll = (long)g.batch * g.outH;
  parallelFor((rowsAll + group - 1) / group, [&](long ub, long ue) {
    for (long u = ub; u < ue; u++) rowsOf(u * group, std::min(rowsAll, u * group + group));
  });
}

// The output positions whose taps [tap0, tap1) (tap = ty·kw + tx) read x for at least one of them, as a rectangle
// of rows [oy0, oy1) × columns [ox0, ox1) of every image: outside it those taps read only the zero padding, so that
// a filter-gradient tile of these taps adds zeros there (about 30% of a 'same' 9×9 layer's positions on 14×14).
struct OutRect {
  int oy0, oy1, ox0, ox1;
};
OutRect tapsRect(const RingGeom& g, int tap0, int tap1) {
  // Output coordinates [o0, o1) that tap t of an axis maps inside [0, n) (o·s + t·d − pad).
  auto axis = [](int outN, int s, int d, int pad, int n, int t, int& o0, int& o1) {
    o0 = 0, o1 = outN;
    while (o0 < o1 && o0 * s + t * d - pad < 0) o0++;
    while (o1 > o0 && (o1 - 1) * s + t * d - pad >= n) o1--;
  };
  OutRect r{g.outH, 0, g.outW, 0};
  for (int t = tap0; t < tap1; t++) {
    int y0, y1, x0, x1;
    axis(g.outH, g.sh, g.dh, g.padTop, g.inH, t / g.kw, y0, y1);
    axis(g.outW, g.sw, g.dw, g.padLeft, g.inW, t % g.kw, x0, x1);
    if (y0 < y1 && x0 < x1) r = {std::min(r.oy0, y0), std::max(r.oy1, y1), std::min(r.ox0, x0), std::max(r.ox1, x1)};
  }
  if (r.oy0 >= r.oy1) r = {0, 0, 0, 0};
  return r;
}

// fn(base, d, n, step) for each output row's run of the positions [p0, p1) inside rect: n positions, the first
// one's first tap at base (each next one step floats on), its dy row at d (each next one cout floats on).
// (The row and image advance by counting: a division per run cost as much as a 7-position run's multiply-adds.)
template <typename F>
inline void forRowRuns(const RingGeom& g, const PaddedInput& xp, long p0, long p1, const float* d, int cout, const OutRect& rect, F&& fn) {
  const long step = (long)g.sw * g.cin;
  int ox = (int)(p0 % g.outW), oy = (int)((p0 / g.outW) % g.outH);
  long b = p0 / ((long)g.outW * g.outH);
  for (long p = p0; p < p1;) {
    const long run = std::min<long>(p1 - p, g.outW - ox);
    if (oy >= rect.oy0 && oy < rect.oy1) {
      const int x0 = std::max(ox, rect.ox0), x1 = (int)std::min<long>(ox + run, rect.ox1);
      if (x0 < x1) fn(xp.data() + ((b * xp.Hp + (long)oy * g.sh) * xp.Wp + (long)x0 * g.sw) * g.cin, d + (p + x0 - ox) * cout, x1 - x0, step);
    }
    p += run, ox = 0;
    if (++oy == g.outH) oy = 0, b++;
  }
}

// acc rows = im2col columns k0 + r (at offset koff[r] from a position's first tap) × output channels [j0, j0 + 16·NP)
// summed over positions [p0, p1) (dy rows), added to dW [K, cout] (the task's own rows).
template <int NP>
__attribute__((target("avx512f"))) void filterTile(const RingGeom& g, const PaddedInput& xp, const int* koff, int rows, const float* dy, int cout, int j0, int cols, long p0, long p1, const OutRect& rect, float* dw) {
  __m512 acc[DR][NP];
  const __mmask16 m = tailMask(cols - 16 * (NP - 1));
  _Pragma("GCC unroll 16") for (int r = 0; r < DR; r++)
    _Pragma("GCC unroll 16") for (int q = 0; q < NP; q++) acc[r][q] = r < rows ? _mm512_maskz_loadu_ps(q == NP - 1 ? m : (__mmask16)0xFFFF, dw + (size_t)r * cout + j0 + q * 16) : _mm512_setzero_ps();
  int o[DR];
  _Pragma("GCC unroll 16") for (int r = 0; r < DR; r++) o[r] = koff[std::min(r, rows - 1)];
  forRowRuns(g, xp, p0, p1, dy + j0, cout, rect, [&](const float* base, const float* d, long n, long step) {
    for (long i = 0; i < n; i++, base += step, d += cout) {
      __m512 b[NP];
      _Pragma("GCC unroll 16") for (int q = 0; q < NP; q++) b[q] = q == NP - 1 ? _mm512_maskz_loadu_ps(m, d + q * 16) : _mm512_loadu_ps(d + q * 16);
      _Pragma("GCC unroll 16") for (int r = 0; r < DR; r++) {
        const __m512 av = _mm512_set1_ps(base[o[r]]);
        _Pragma("GCC unroll 16") for (int q = 0; q < NP; q++) acc[r][q] = _mm512_fmadd_ps(av, b[q], acc[r][q]);
      }
    }
  });
  _Pragma("GCC unroll 16") for (int r = 0; r < DR; r++) if (r < rows)
    _Pragma("GCC unroll 16") for (int q = 0; q < NP; q++) _mm512_mask_storeu_ps(dw + (size_t)r * cout + j0 + q * 16, q == NP - 1 ? m : (__mmask16)0xFFFF, acc[r][q]);
}

// dW [K, cout] = Σ over positions of im2colᵀ · dy, tile by tile (12 im2col columns × 32 channels); a task owns its
// tiles and walks the positions in chunks of about 32 KB of dy, so that the chunk stays in L1 across its tiles (5–8%
// faster than 128 KB on the plain CNN's layers, where a chunk of dy is read once per tile).
// With Cin a multiple of 16 the filter gradient turns around once more: dWᵀ [cout, K] = dyᵀ · im2col, with 16
// im2col columns (16 channels of one tap) as one vector read straight from the padded input and dy's 8 channels
// broadcast from one row (constant offsets: no offset registers to spill). A tile, 8 output channels × KV vectors,
// adds the positions [p0, p1) to dWᵀ rows co0… at vectors voff (the first nv of KV valid).
constexpr int FT_CO = 8, FT_KV = 3;
__attribute__((target("avx512f"))) void filterTileT(const RingGeom& g, const PaddedInput& xp, const int* voff, int nv, const float* dy, int cout, int co0, long p0, long p1, const OutRect& rect, float* dwT, int K) {
  __m512 acc[FT_CO][FT_KV];
  int o[FT_KV];
  _Pragma("GCC unroll 3") for (int v = 0; v < FT_KV; v++) o[v] = voff[std::min(v, nv - 1)];
  _Pragma("GCC unroll 8") for (int c = 0; c < FT_CO; c++)
    _Pragma("GCC unroll 3") for (int v = 0; v < FT_KV; v++) acc[c][v] = v < nv ? _mm512_loadu_ps(dwT + (size_t)(co0 + c) * K + v * 16) : _mm512_setzero_ps();
  forRowRuns(g, xp, p0, p1, dy + co0, cout, rect, [&](const float* base, const float* d, long n, long step) {
    for (long i = 0; i < n; i++, base += step, d += cout) {
      __m512 xv[FT_KV];
      _Pragma("GCC unroll 3") for (int v = 0; v < FT_KV; v++) xv[v] = _mm512_loadu_ps(base + o[v]);
      _Pragma("GCC unroll 8") for (int c = 0; c < FT_CO; c++) {
        const __m512 dv = _mm512_set1_ps(d[c]);
        _Pragma("GCC unroll 3") for (int v = 0; v < FT_KV; v++) acc[c][v] = _mm512_fmadd_ps(dv, xv[v], acc[c][v]);
      }
    }
  });
  _Pragma("GCC unroll 8") for (int c = 0; c < FT_CO; c++)
    _Pragma("GCC unroll 3") for (int v = 0; v < FT_KV; v++) if (v < nv) _mm512_storeu_ps(dwT + (size_t)(co0 + c) * K + v * 16, acc[c][v]);
}

// The filter gradient for stride and dilation 1 and 'same' columns, RUN-wide rows, KW taps and STEP input channels,
// for one kernel row ty, one input channel ci and one 16-wide panel of output channels: dW[ty, tx, ci, j0…] (KW
// accumulators) += x[iy, ix, ci] · dy[oy, ix + PADL − tx] over the output rows [r0, r1) (over all images) whose input
// row iy = oy + ty − padTop is inside x. Each input pixel is broadcast once for its KW taps and each dy vector is
// loaded once for them too (the unrolled row keeps it in a register across the KW pixels that use it): 2 loads per
// KW multiply-adds, where filterTile needs a broadcast per multiply-add. Columns in the padding are never visited.
template <int RUN, int KW, int STEP>
__attribute__((target("avx512f"))) void filterRowTap(const RingGeom& g, const PaddedInput& xp, const float* dy, int cout, int j0, int ty, int ci, long r0, long r1, float* dw) {
  constexpr int PADL = (KW - 1) / 2;
  const __mmask16 m = tailMask(cout - j0);
  float* dwRow = dw + (size_t)ty * KW * STEP * cout + (size_t)ci * cout + j0;  // tap (ty, tx) at dwRow + tx·STEP·cout
  __m512 acc[KW];
  _Pragma("GCC unroll 16") for (int tx = 0; tx < KW; tx++) acc[tx] = _mm512_maskz_loadu_ps(m, dwRow + (size_t)tx * STEP * cout);
  int oy = (int)(r0 % g.outH);
  long b = r0 / g.outH;
  for (long r = r0; r < r1; r++) {
    const int iy = oy + ty - g.padTop;
    if (iy >= 0 && iy < g.inH) {
      const float* xr = xp.data() + ((b * xp.Hp + oy + ty) * (long)xp.Wp + PADL) * STEP + ci;  // input column ix at xr[ix·STEP]
      const float* d = dy + r * RUN * (long)cout + j0;
      __m512 dv[RUN];
      _Pragma("GCC unroll 28") for (int ix = 0; ix < RUN; ix++) {
        // Each dy vector is loaded at its first use (tx = 0 reads the newest, ox = ix + PADL).
        if (ix == 0) _Pragma("GCC unroll 16") for (int ox = 0; ox < PADL && ox < RUN; ox++) dv[ox] = _mm512_maskz_loadu_ps(m, d + (size_t)ox * cout);
        if (ix + PADL < RUN) dv[ix + PADL] = _mm512_maskz_loadu_ps(m, d + (size_t)(ix + PADL) * cout);
        const __m512 xb = _mm512_set1_ps(xr[ix * STEP]);
        _Pragma("GCC unroll 16") for (int tx = 0; tx < KW; tx++) {
          const int ox = ix + PADL - tx;
          if (ox >= 0 && ox < RUN) acc[tx] = _mm512_fmadd_ps(xb, dv[ox], acc[tx]);
        }
      }
    }
    if (++oy == g.outH) oy = 0, b++;
  }
  _Pragma("GCC unroll 16") for (int tx = 0; tx < KW; tx++) _mm512_mask_storeu_ps(dwRow + (size_t)tx * STEP * cout, m, acc[tx]);
}

using FilterRowTapFn = void (*)(const RingGeom&, const PaddedInput&, const float*, int, int, int, int, long, long, float*);
// The filterRowTap instance for a layer (stride and dilation 1, 'same' columns, its row length, kernel width and
// channel count), or null. Only a first layer's: with 16 or 32 input channels the transposed tiles below are as
// fast or faster (16 → 32 9×9 on 14×14: 2.15–2.35 ms against 2.19–2.29; 32 → 64 5×5 on 7×7: 0.99 against 0.79).
FilterRowTapFn filterRowTapFor(const RingGeom& g) {
  if (g.sh != 1 || g.sw != 1 || g.dh != 1 || g.dw != 1 || g.inW != g.outW || g.kw % 2 == 0 || g.padLeft != (g.kw - 1) / 2) return nullptr;
  if (g.outW == 28 && g.kw == 9 && g.cin == 1) return filterRowTap<28, 9, 1>;
  return nullptr;
}

void directFilter(const RingGeom& g, const float* x, const float* dy, int cout, float* dw) {
  const long P = (long)g.batch * g.outH * g.outW;
  const int K = g.kh * g.kw * g.cin;
  const PaddedInput xp(g, x);
  const std::vector<int> koff = columnOffsets(g, xp.Wp);
  if (const FilterRowTapFn frt = filterRowTapFor(g)) {
    // Tasks over (kernel row, input channel, 16-channel panel), each walking the rows in chunks of about 32 KB of dy
    // that its other (kernel row, channel) pairs then read again from L1 / L2.
    std::memset(dw, 0, (size_t)K * cout * sizeof(float));
    const long rowsAll = (long)g.batch * g.outH, panels = (cout + 15) / 16, perRow = (long)g.cin * panels;
    const long chunkRows = std::max(1L, (32L << 10) / (4L * g.outW * cout));
    parallelFor(g.kh * perRow, [&](long tb, long te) {
      for (long r0 = 0; r0 < rowsAll; r0 += chunkRows)
        for (long t = tb; t < te; t++)
          frt(g, xp, dy, cout, (int)(t % panels) * 16, (int)(t / perRow), (int)(t / panels % g.cin), r0, std::min(rowsAll, r0 + chunkRows), dw);
    });
    return;
  }
  if (g.cin % 16 == 0 && cout % FT_CO == 0) {
    // dWᵀ tile by tile (tasks over 8-channel × 3-vector tiles, positions in chunks of about 32 KB of dy), then dW.
    Scratch dwT((size_t)cout * K);
    std::memset(dwT.get(), 0, (size_t)cout * K * sizeof(float));
    const int vecs = K / 16;
    const long vTiles = (vecs + FT_KV - 1) / FT_KV, cTiles = cout / FT_CO;
    const long chunk = std::max(16L, (32L << 10) / (4L * cout));
    std::vector<OutRect> rects((size_t)vTiles);  // per vector tile: its taps' positions that read x
    for (long vt = 0; vt < vTiles; vt++) {
      const int v0 = (int)vt * FT_KV, v1 = std::min(vecs, v0 + FT_KV);
      rects[(size_t)vt] = tapsRect(g, v0 * 16 / g.cin, (v1 * 16 - 1) / g.cin + 1);
    }
    parallelFor(vTiles * cTiles, [&](long tb, long te) {
      for (long p0 = 0; p0 < P; p0 += chunk)
        for (long t = tb; t < te; t++) {
          const int v0 = (int)(t / cTiles) * FT_KV, co0 = (int)(t % cTiles) * FT_CO;
          int voff[FT_KV];
          const int nv = std::min(FT_KV, vecs - v0);
          for (int v = 0; v < nv; v++) voff[v] = koff[(size_t)(v0 + v) * 16];
          filterTileT(g, xp, voff, nv, dy, cout, co0, p0, std::min(P, p0 + chunk), rects[t / cTiles], dwT.get() + (size_t)v0 * 16, K);
        }
    });
    parallelFor(K, [&](long b, long e) {
      for (long k = b; k < e; k++)
        for (int c = 0; c < cout; c++) dw[k * cout + c] = dwT.get()[(size_t)c * K + k];
    }, 64);
    return;
  }
  std::memset(dw, 0, (size_t)K * cout * sizeof(float));
  const long kTiles = (K + DR - 1) / DR, jTiles = (cout + 31) / 32;
  const long chunk = std::max(16L, (32L << 10) / (4L * cout));
  std::vector<OutRect> rects((size_t)kTiles);  // per column tile: its taps' positions that read x
  for (long kt = 0; kt < kTiles; kt++) {
    const int k0 = (int)kt * DR, k1 = std::min(K, k0 + DR);
    rects[(size_t)kt] = tapsRect(g, k0 / g.cin, (k1 - 1) / g.cin + 1);
  }
  parallelFor(kTiles * jTiles, [&](long tb, long te) {
    for (long p0 = 0; p0 < P; p0 += chunk)
      for (long t = tb; t < te; t++) {
        const int k0 = (int)(t / jTiles) * DR, j0 = (int)(t % jTiles) * 32;
        const int rows = std::min(DR, K - k0), cols = std::min(32, cout - j0);
        const OutRect& rect = rects[(size_t)(t / jTiles)];
        if (cols > 16) filterTile<2>(g, xp, koff.data() + k0, rows, dy, cout, j0, cols, p0, std::min(P, p0 + chunk), rect, dw + (size_t)k0 * cout);
        else filterTile<1>(g, xp, koff.data() + k0, rows, dy, cout, j0, cols, p0, std::min(P, p0 + chunk), rect, dw + (size_t)k0 * cout);
      }
  });
}

#pragma GCC pop_options

}  // namespace

void convForward(const RingGeom& g, const float* x, const float* w, int cout, const float* bias, int act, float* y) {
  const long P = (long)g.batch * g.outH * g.outW;
  const int K = g.kh * g.kw * g.cin;
  if (P == 0 || cout == 0) return;
  if (directConvs()) return directForward(g, x, w, cout, y, bias, act);
  Floats wp = alignedFloats((size_t)packedBSize(K, cout));
  packBFull(K, cout, w, cout, false, wp.get());
  const PaddedInput xp(g, x);
  forRowBlocks(P, blockRows(K), K, [&](long p0, long p1, float* col) {
    im2colRows(g, xp, p0, p1, col);
    float* yb = y + p0 * cout;
    gemmPackedB((int)(p1 - p0), cout, K, col, K, wp.get(), yb, cout);
    if (bias || act) addBiasAct(yb, bias, p1 - p0, cout, act);
  });
}

// 16 floats as one value (a zmm register, two ymm or four xmm ones, whichever clone runs; only ever inlined, so
// GCC's note on the AVX-512 calling convention does not apply).
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float V16 __attribute__((vector_size(64)));
__attribute__((always_inline)) inline V16 load16(const float* p) {
  V16 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

// One input row of convBackpropInputC1, 16 pixels at a time summed in registers: four independent sums (over
// channels mod 4), since one chain would wait on the FMA's latency every step.
GMR_CONV_CLONES void c1InputRow(const RingGeom& g, const float* __restrict lines, const float* __restrict w, int cout, long b, int iy, int L, float* __restrict out) {
  const int span = (g.kw - 1) * g.dw;
  for (int ix0 = 0; ix0 < g.inW; ix0 += 16) {
    V16 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (int ty = 0; ty < g.kh; ty++) {
      const int num = iy + g.padTop - ty * g.dh;
      if (num < 0 || num % g.sh || num / g.sh >= g.outH) continue;
      const float* line = lines + (b * g.outH + num / g.sh) * (long)cout * L + ix0 + g.padLeft + span;
      for (int tx = 0; tx < g.kw; tx++) {
        const float* wt = w + ((size_t)ty * g.kw + tx) * cout;
        const float* base = line - tx * g.dw;
        int c = 0;
        for (; c + 4 <= cout; c += 4) {
          a0 += wt[c] * load16(base + (size_t)c * L);
          a1 += wt[c + 1] * load16(base + (size_t)(c + 1) * L);
          a2 += wt[c + 2] * load16(base + (size_t)(c + 2) * L);
          a3 += wt[c + 3] * load16(base + (size_t)(c + 3) * L);
        }
        for (; c < cout; c++) a0 += wt[c] * load16(base + (size_t)c * L);
      }
    }
    const V16 sum = (a0 + a1) + (a2 + a3);
    const int m = std::min(16, g.inW - ix0);
    for (int i = 0; i < m; i++) out[ix0 + i] = sum[i];
  }
}

// The input gradient of a one-channel input at stride 1 along the row (a first layer): a row of input pixels at a
// time, vectorised along it. Each output row of dy is first laid out per output channel as a zero-padded line, so
// that tap (ty, tx) of channel co adds consecutive values of its line times w[ty, tx, 0, co].
void convBackpropInputC1(const RingGeom& g, const float* dy, const float* w, int cout, float* dx) {
  const int span = (g.kw - 1) * g.dw, wPad = (g.inW + 15) / 16 * 16;
  const int L = wPad + g.padLeft + span;  // lane ix of tap tx reads line[ix + padLeft + span − tx·dw] = dy[ox = that − span]
  const size_t nLines = (size_t)g.batch * g.outH * cout * L;
  Scratch lines(nLines);
  std::memset(lines.get(), 0, nLines * sizeof(float));
  parallelFor((long)g.batch * g.outH, [&](long tb, long te) {
    for (long t = tb; t < te; t++) {
      const float* drow = dy + t * g.outW * (long)cout;
      float* line = lines.get() + t * (long)cout * L;
      for (int ox = 0; ox < g.outW && ox + span < L; ox++)
        for (int c = 0; c < cout; c++) line[(size_t)c * L + ox + span] = drow[(long)ox * cout + c];
    }
  }, 8);
  parallelFor((long)g.batch * g.inH, [&](long tb, long te) {
    for (long task = tb; task < te; task++) {
      const long b = task / g.inH;
      const int iy = (int)(task % g.inH);
      c1InputRow(g, lines.get(), w, cout, b, iy, L, dx + (b * g.inH + iy) * g.inW);
    }
  });
}

void convBackpropInput(const RingGeom& g, const float* dy, const float* w, int cout, float* dx) {
  const long Pin = (long)g.batch * g.inH * g.inW;
  const int cin = g.cin, taps = g.kh * g.kw;
  const int K = taps * cout;
  if (Pin == 0) return;
  if (cin == 1 && g.sw == 1) return convBackpropInputC1(g, dy, w, cout, dx);
  if (directConvs() && g.sh == 1 && g.sw == 1 && cin >= SMALL_N) {
    // At stride 1 the input gradient is a convolution of dy (padded by the taps' reach less the forward's padding)
    // with the filter turned by 180° and its channel axes swapped: the direct forward on dy.
    RingGeom t = g;
    t.inH = g.outH, t.inW = g.outW, t.cin = cout, t.outH = g.inH, t.outW = g.inW;
    t.padTop = (g.kh - 1) * g.dh - g.padTop, t.padLeft = (g.kw - 1) * g.dw - g.padLeft;
    Floats wf = alignedFloats((size_t)K * cin);
    for (int tap = 0; tap < taps; tap++)
      for (int co = 0; co < cout; co++)
        for (int ci = 0; ci < cin; ci++) wf[((size_t)tap * cout + co) * cin + ci] = w[((size_t)(taps - 1 - tap) * cin + ci) * cout + co];
    return directForward(t, dy, wf.get(), cin, dx, nullptr, 0);
  }
  // Wt [(ty, tx', co), ci] = w[ty, kw − 1 − tx', ci, co]: the filter of the transposed convolution, its columns
  // flipped so that, at stride 1, the taps of a kernel row read dy in increasing order (one contiguous run).
  Floats wt = alignedFloats((size_t)K * cin);
  for (int ty = 0; ty < g.kh; ty++)
    for (int txf = 0; txf < g.kw; txf++) {
      const size_t t = (size_t)ty * g.kw + txf, src = (size_t)ty * g.kw + (g.kw - 1 - txf);
      for (int ci = 0; ci < cin; ci++)
        for (int co = 0; co < cout; co++) wt[(t * cout + co) * cin + ci] = w[(src * cin + ci) * cout + co];
    }
  Floats wp;
  if (cin >= SMALL_N) {
    wp = alignedFloats((size_t)packedBSize(K, cin));
    packBFull(K, cin, wt.get(), cin, false, wp.get());
  }
  // Output coordinate that reads input coordinate i through kernel offset t (−1: none), per axis.
  auto invert = [](int inN, int k, int outN, int stride, int dil, int pad) {
    std::vector<int> inv((size_t)inN * k, -1);
    for (int i = 0; i < inN; i++)
      for (int t = 0; t < k; t++) {
        const int num = i + pad - t * dil;
        if (num >= 0 && num % stride == 0 && num / stride < outN) inv[(size_t)i * k + t] = num / stride;
      }
    return inv;
  };
  const std::vector<int> oyOf = invert(g.inH, g.kh, g.outH, g.sh, g.dh, g.padTop);
  const std::vector<int> oxOf = invert(g.inW, g.kw, g.outW, g.sw, g.dw, g.padLeft);
  forRowBlocks(Pin, blockRows(K), K, [&](long q0, long q1, float* col) {
    for (long q = q0; q < q1; q++) {
      const int ix = (int)(q % g.inW);
      const int iy = (int)((q / g.inW) % g.inH);
      const long b = q / ((long)g.inW * g.inH);
      float* row = col + (q - q0) * K;
      const int* cx = oxOf.data() + (size_t)ix * g.kw;  // by tx; tap tx' reads cx[kw − 1 − tx']
      const bool run = g.sw == 1 && g.dw == 1 && cx[g.kw - 1] >= 0 && cx[0] == cx[g.kw - 1] + g.kw - 1;
      for (int ty = 0; ty < g.kh; ty++) {
        const int oy = oyOf[(size_t)iy * g.kh + ty];
        float* d = row + (long)ty * g.kw * cout;
        if (oy < 0) {
          std::memset(d, 0, (size_t)g.kw * cout * sizeof(float));
          continue;
        }
        const float* src = dy + (b * g.outH + oy) * g.outW * cout;
        if (run) {
          copyChannels(d, src + (long)cx[g.kw - 1] * cout, g.kw * cout);
          continue;
        }
        for (int txf = 0; txf < g.kw; txf++, d += cout) {
          const int ox = cx[g.kw - 1 - txf];
          if (ox < 0) std::memset(d, 0, (size_t)cout * sizeof(float));
          else copyChannels(d, src + (long)ox * cout, cout);
        }
      }
    }
    if (cin >= SMALL_N) gemmPackedB((int)(q1 - q0), cin, K, col, K, wp.get(), dx + q0 * cin, cin);
    else smallNProduct(q1 - q0, cin, K, col, wt.get(), dx + q0 * cin);
  });
}

void convBackpropFilter(const RingGeom& g, const float* x, const float* dy, int cout, float* dw) {
  const long P = (long)g.batch * g.outH * g.outW;
  const int K = g.kh * g.kw * g.cin;
  const size_t KN = (size_t)K * cout;
  if (P == 0) {
    std::memset(dw, 0, KN * sizeof(float));
    return;
  }
  if (directConvs()) return directFilter(g, x, dy, cout, dw);
  const PaddedInput xp(g, x);
  const long mb = std::min(256L, blockRows(K));  // one k-block of the product (its inner dimension is the rows)
  const long blocks = (P + mb - 1) / mb;
  // Each task sums its blocks into its own partial dWᵀ [Cout, K] = dyᵀ·col (dy's block transposed into a small
  // buffer, so that the product runs the in-place AVX-512 tile with col as the packed right factor); the partials
  // are added in task order (deterministic) and transposed into dw.
  const long tasks = std::min(blocks, 4L * numThreads());
  std::vector<float> partial((size_t)tasks * KN, 0.f);
  parallelFor(tasks, [&](long tb, long te) {
    Floats col = alignedFloats((size_t)mb * K);
    std::vector<float> dyT((size_t)cout * mb);
    for (long t = tb; t < te; t++) {
      float* acc = partial.data() + (size_t)t * KN;
      for (long blk = blocks * t / tasks; blk < blocks * (t + 1) / tasks; blk++) {
        const long p0 = blk * mb, p1 = std::min(P, p0 + mb), rows = p1 - p0;
        im2colRows(g, xp, p0, p1, col.get());
        for (long r = 0; r < rows; r++)
          for (int c = 0; c < cout; c++) dyT[(size_t)c * rows + r] = dy[(p0 + r) * cout + c];
        sgemmOn(false, false, false, cout, K, (int)rows, 1.f, dyT.data(), (int)rows, col.get(), K, 1.f, acc, K);
      }
    }
  });
  parallelFor(K, [&](long b, long e) {
    for (long k = b; k < e; k++)
      for (int c = 0; c < cout; c++) {
        float s = 0.f;
        for (long t = 0; t < tasks; t++) s += partial[(size_t)t * KN + (size_t)c * K + k];
        dw[k * cout + c] = s;
      }
  }, 64);
}

}  // namespace gmr
