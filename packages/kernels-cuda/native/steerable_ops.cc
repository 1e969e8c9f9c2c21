// The steerable GMR convolution over the non-zero blocks of its mixing weights (steerable_ops.h).
//
// Why: the steerable layer's W [Cout, Cin, rows] is ~3/11 non-zero (each channel pair uses the rows of one angular
// component), so the plain GMR kernels' products with K = Cin·rows spend most of their time on zeros. Here the ring
// sums of each output block's segments are laid side by side, R' [P, KT] (a block O's columns: for each of its
// segments, the segment's rows × input channels), and every block is one product with K = its column count:
//   forward        y[:, O] = R'_O · W'_Oᵀ
//   filter grad    dW'_O = dy[:, O]ᵀ · R'_O, scattered back to W's layout (zeros elsewhere)
//   input grad     D'_O = dy[:, O] · W'_O, summed back to the ring layout D [P, rows, Cin], then ringScatter.
// An input block's ring sums appear once per output block that reads them, yet R' stays smaller than R (the plan's
// blocks leave out the re→im pairs of equal order, which have no link). The ring sums and their transpose are
// host_ops' ringSum / ringScatter (tuned, all rows and channels) on chunks of images that stay in cache, copied to or
// from R'; the forward and input-gradient products are gemmPackedB on tiles of 48 positions (A read in place) that
// follow each tile's copy (forward) or precede its sum back (input gradient) while it is in cache; the filter
// gradient's sgemm.
//
// Measured (one thread, batch 32, the CLI steerable model's layers; plain = gmrForwardKeep / gmrFilterGrad / sgemm +
// ringScatter over the whole W): conv2 40→112 k5 14² forward 5.8 → 4.1 ms, filter gradient 5.6 → 2.9, input gradient
// 6.1 → 4.8; conv3 80→128 k5 7² 2.9 → 1.6, 2.9 → 1.1, 3.0 → 2.0. A first try that summed the rings per segment row
// straight from x (vectors of |I| = 8 channels) was 2–4× slower than ringSum; ringSum over the whole batch then a copy
// cost 2–3 ms in the copy (R, 11 MB, from memory); five sgemm calls (each packing its A) made the forward 5.9 ms, 4.1
// with gemmPackedB. Later (one thread, batch 32, CPU time, medians of 40): the input gradient per chunk and tile, D'
// no longer written for the whole batch (9 MB) and read back, conv2 6.0 → 3.6 ms, conv3 2.1 → 1.65; the forward's
// copy and products per tile, conv2 4.7 → 4.25. Not kept: the filter gradient as R'ᵀ·dy (transposed A in place, only
// dy packed) or with dy transposed first, both no faster than dyᵀ·R' (whose packing of R' is half of its time).
#include "steerable_ops.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "host_ops.h"
#include "thread_pool.h"

namespace gmr {

SteerPlan steerPlanFrom(const int* p, long len, int cin, int cout, int rows) {
  auto bad = [](const char* why) { throw std::runtime_error(std::string("steerable plan: ") + why); };
  SteerPlan pl;
  long at = 0;
  auto next = [&]() {
    if (at >= len) bad("shorter than its counts say");
    return p[at++];
  };
  const int nb = next();
  if (nb <= 0) bad("no output block");
  int covered = 0;
  for (int b = 0; b < nb; b++) {
    SteerBlock blk;
    blk.o0 = next(), blk.o1 = next();
    const int ns = next();
    // Output blocks in channel order, contiguous and covering [0, cout): y is written block by block.
    if (blk.o0 != covered || blk.o1 <= blk.o0 || blk.o1 > cout || ns < 0) bad("output blocks must partition [0, cout) in order");
    covered = blk.o1;
    blk.k = 0;
    blk.col = pl.kt;
    blk.w = pl.wSize;
    for (int s = 0; s < ns; s++) {
      SteerSegment sg;
      sg.i0 = next(), sg.i1 = next(), sg.r0 = next(), sg.r1 = next();
      if (sg.i0 < 0 || sg.i1 <= sg.i0 || sg.i1 > cin || sg.r0 < 0 || sg.r1 <= sg.r0 || sg.r1 > rows) bad("segment outside [0, cin) × [0, rows)");
      sg.col = blk.k;
      blk.k += (sg.r1 - sg.r0) * (sg.i1 - sg.i0);
      blk.segs.push_back(sg);
    }
    pl.kt += blk.k;
    pl.wSize += (long)(blk.o1 - blk.o0) * blk.k;
    pl.blocks.push_back(blk);
  }
  if (covered != cout) bad("output blocks must cover [0, cout)");
  if (at != len) bad("longer than its counts say");
  return pl;
}

namespace {

// The input gradient's sums back to the ring layout on the widest vectors the host has (the addon is built for any
// x86-64; conv2 40→112 input gradient 3.6 → 3.45 ms at one thread; the copies of gatherRange, bound by their stores
// to memory, were not faster this way).
#if defined(__x86_64__) && !defined(GMR_NO_CLONES)
#define STEER_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define STEER_CLONES
#endif

// Scratch kept between calls (the same shapes come every training step; a fresh 10 MB buffer per call would page-fault
// each time). Calls come from the one JS thread; the mutex only guards against misuse.
struct Scratch {
  std::mutex mu;
  std::vector<float> a, b;
};
Scratch& scratch() {
  static Scratch s;
  return s;
}
float* grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// W'_O [o1 − o0, k] for every block: the plan's entries of W [Cout, Cin, rows].
void packW(const SteerPlan& pl, const float* W, int cin, int rows, std::vector<float>& Wp) {
  Wp.assign(pl.wSize, 0.f);
  for (const SteerBlock& b : pl.blocks)
    for (int o = b.o0; o < b.o1; o++) {
      float* dst = Wp.data() + b.w + (long)(o - b.o0) * b.k;
      for (const SteerSegment& s : b.segs) {
        const int ni = s.i1 - s.i0;
        for (int r = s.r0; r < s.r1; r++)
          for (int i = s.i0; i < s.i1; i++) dst[s.col + (r - s.r0) * ni + (i - s.i0)] = W[((long)o * cin + i) * rows + r];
      }
    }
}

// A run of n floats copied or added: pieces of 8 and 4 with constant sizes, which the compiler turns into a few vector
// moves. A plain loop of n floats became a memcpy call per run (GCC's idiom recognition), and with |I| = 8 channels
// those calls were most of the copy (conv2 40→112: gatherRange 1.5 of the forward's 4.9 ms at one thread).
inline void copyRun(float* __restrict d, const float* __restrict s, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) std::memcpy(d + i, s + i, 8 * sizeof(float));
  if (i + 4 <= n) std::memcpy(d + i, s + i, 4 * sizeof(float)), i += 4;
  for (; i < n; i++) d[i] = s[i];
}
inline void addRun(float* __restrict d, const float* __restrict s, int n) {
  for (int i = 0; i < n; i++) d[i] += s[i];
}

// Copies the plan's segments of ring rows R [n, rows, Cin] (n positions) into R' [n, KT].
void gatherRange(const float* __restrict R, int cin, int rows, const SteerPlan& pl, float* __restrict Rp, long n) {
  const long ld = (long)rows * cin;
  for (long p = 0; p < n; p++) {
    const float* src = R + p * ld;
    float* dst = Rp + p * pl.kt;
    for (const SteerBlock& bl : pl.blocks)
      for (const SteerSegment& s : bl.segs) {
        const int ni = s.i1 - s.i0;
        float* o = dst + bl.col + s.col;
        for (int r = s.r0; r < s.r1; r++, o += ni) copyRun(o, src + (long)r * cin + s.i0, ni);
      }
  }
}

// Sums a tile of the input gradient's products back into the ring layout D [m, rows, Cin], which the caller zeroed. The
// tile holds m positions block after block: block O's D'_O [m, k] at m·col (each product's C contiguous).
STEER_CLONES void sumBackTile(const float* __restrict Dt, long m, int cin, int rows, const SteerPlan& pl, float* __restrict D) {
  const long ld = (long)rows * cin;
  for (const SteerBlock& bl : pl.blocks) {
    const float* blk = Dt + m * bl.col;
    for (long p = 0; p < m; p++) {
      float* dst = D + p * ld;
      const float* src = blk + p * bl.k;
      for (const SteerSegment& s : bl.segs) {
        const int ni = s.i1 - s.i0;
        const float* e = src + s.col;
        for (int r = s.r0; r < s.r1; r++, e += ni) addRun(dst + (long)r * cin + s.i0, e, ni);
      }
    }
  }
}

// Images per chunk: the chunk's full ring sums R [positions, rows, Cin] stay within ~1 MB (L2), so that host_ops'
// ringSum / ringScatter (all rows, all channels, their tuned kernels) and the copy to or from R' meet in cache.
long chunkImages(const RingGeom& g) {
  const long perImage = (long)g.outH * g.outW * g.numRings * g.cin;
  const long c = (256L << 10) / (perImage > 0 ? perImage : 1);
  return c < 1 ? 1 : (c > g.batch ? g.batch : c);
}

// The chunks of images (chunkImages) in turn, each as before(c, b0) (c: the chunk's geometry, b0 its first image),
// then its positions in tiles of 48, tile(b0, pb, m) for the m positions from pb of the chunk (in parallel), then
// after(c, b0): the forward's and the input gradient's walk, so that a chunk's ring layout and its tiles meet in cache.
template <typename Before, typename Tile, typename After>
void forChunkTiles(const RingGeom& g, Before&& before, Tile&& tile, After&& after) {
  const long chunk = chunkImages(g), pos = (long)g.outH * g.outW;
  for (long b0 = 0; b0 < g.batch; b0 += chunk) {
    RingGeom c = g;
    c.batch = (int)(b0 + chunk <= g.batch ? chunk : g.batch - b0);
    before(c, b0);
    const long n = c.batch * pos;
    parallelFor(
        (n + 47) / 48,
        [&](long tb, long te) {
          for (long t = tb; t < te; t++) tile(b0, t * 48, std::min(n, t * 48 + 48) - t * 48);
        },
        1);
    after(c, b0);
  }
}

// R' [P, KT]: ring sums of a chunk of images, then its plan's columns copied out tile by tile (48 positions) and each
// tile handed to `then` (the forward's products) while it is in L1/L2.
template <typename Then>
void ringSumsOfPlan(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, const SteerPlan& pl, float* Rp, std::vector<float>& R, Then&& then) {
  const long pos = (long)g.outH * g.outW, img = (long)g.inH * g.inW * g.cin, ld = (long)g.numRings * g.cin;
  float* r = grow(R, (size_t)chunkImages(g) * pos * ld);
  forChunkTiles(
      g, [&](const RingGeom& c, long b0) { ringSum(c, taps, nTaps, x + b0 * img, r); },
      [&](long b0, long pb, long m) {
        gatherRange(r + pb * ld, g.cin, g.numRings, pl, Rp + (b0 * pos + pb) * pl.kt, m);
        then(b0 * pos + pb, m);
      },
      [](const RingGeom&, long) {});
}

// Every block's operand packed once per call for gemmPackedB (op(B) [K × N] in its panel layout, 64-byte aligned):
// the products then read their A (R' or dy) in place, with no packing of A per call, which for blocks of 16 output
// channels cost as much as the multiply (conv2 40→112 forward: 5.9 ms with five sgemm calls, 4.1 ms this way).
struct PackedBlocks {
  std::unique_ptr<float, decltype(&std::free)> buf{nullptr, &std::free};
  std::vector<size_t> at;
  // forward: op(B) = W'_Oᵀ (W'_O stored [N, K]); else op(B) = W'_O [K = |O|, N = k] (dy's right operand).
  PackedBlocks(const SteerPlan& pl, const std::vector<float>& Wp, bool forward) {
    size_t total = 0;
    for (const SteerBlock& b : pl.blocks) {
      at.push_back(total);
      const int no = b.o1 - b.o0;
      if (b.k > 0) total += (size_t)(forward ? packedBSize(b.k, no) : packedBSize(no, b.k));
    }
    buf.reset((float*)std::aligned_alloc(64, (total > 0 ? total : 16) * sizeof(float)));
    if (!buf) throw std::bad_alloc();
    for (size_t j = 0; j < pl.blocks.size(); j++) {
      const SteerBlock& b = pl.blocks[j];
      const int no = b.o1 - b.o0;
      if (b.k == 0) continue;
      if (forward) packBFull(b.k, no, Wp.data() + b.w, b.k, true, buf.get() + at[j]);
      else packBFull(no, b.k, Wp.data() + b.w, b.k, false, buf.get() + at[j]);
    }
  }
  const float* operator[](size_t j) const { return buf.get() + at[j]; }
};

}  // namespace

void steerableForward(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, const SteerPlan& pl, const float* W, int cout, float* y, float* Rp) {
  Scratch& sc = scratch();
  std::lock_guard<std::mutex> lk(sc.mu);
  std::vector<float> Wp;
  packW(pl, W, g.cin, g.numRings, Wp);
  const PackedBlocks bp(pl, Wp, true);
  ringSumsOfPlan(g, taps, nTaps, x, pl, Rp, sc.a, [&](long p0, long m) {
    for (size_t j = 0; j < pl.blocks.size(); j++) {
      const SteerBlock& b = pl.blocks[j];
      const int no = b.o1 - b.o0;
      // An output block no input links to (Im outputs of order m from inputs of order m only): zeros.
      if (b.k == 0)
        for (long p = p0; p < p0 + m; p++) std::memset(y + p * cout + b.o0, 0, no * sizeof(float));
      else
        gemmPackedB((int)m, no, b.k, Rp + p0 * pl.kt + b.col, pl.kt, bp[j], y + p0 * cout + b.o0, cout);
    }
  });
}

void steerableFilterGrad(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, const float* Rp, const float* dy, const SteerPlan& pl, int cout, float* dW) {
  const long P = (long)g.batch * g.outH * g.outW;
  const int cin = g.cin, rows = g.numRings;
  Scratch& sc = scratch();
  std::lock_guard<std::mutex> lk(sc.mu);
  if (!Rp) {
    float* rp = grow(sc.b, (size_t)P * pl.kt);
    ringSumsOfPlan(g, taps, nTaps, x, pl, rp, sc.a, [](long, long) {});
    Rp = rp;
  }
  std::vector<float> dWp(pl.wSize, 0.f);
  for (const SteerBlock& b : pl.blocks)
    if (b.k > 0) sgemm(true, false, b.o1 - b.o0, b.k, (int)P, 1.f, dy + b.o0, cout, Rp + b.col, pl.kt, 0.f, dWp.data() + b.w, b.k);
  std::memset(dW, 0, sizeof(float) * (size_t)cout * cin * rows);
  for (const SteerBlock& b : pl.blocks)
    for (int o = b.o0; o < b.o1; o++) {
      const float* src = dWp.data() + b.w + (long)(o - b.o0) * b.k;
      for (const SteerSegment& s : b.segs) {
        const int ni = s.i1 - s.i0;
        for (int r = s.r0; r < s.r1; r++)
          for (int i = s.i0; i < s.i1; i++) dW[((long)o * cin + i) * rows + r] = src[s.col + (r - s.r0) * ni + (i - s.i0)];
      }
    }
}

void steerableInputGrad(const RingGeom& g, const RingTap* taps, int nTaps, const float* dy, const SteerPlan& pl, const float* W, int cout, float* dx) {
  const int cin = g.cin, rows = g.numRings;
  Scratch& sc = scratch();
  std::lock_guard<std::mutex> lk(sc.mu);
  std::vector<float> Wp;
  packW(pl, W, cin, rows, Wp);
  const PackedBlocks bp(pl, Wp, false);
  // Per chunk of images (ring layout D in L2, as ringScatter wants it), per tile of 48 positions: the products D'_O =
  // dy[:, O]·W'_O into a tile of D' (48 × KT floats, in L1/L2), summed back to D at once. D' for the whole batch
  // (P × KT, 9 MB for conv2 40→112) went to memory and came back, and gemmPackedB zeroed its rows one memset each.
  const long chunk = chunkImages(g);
  const long pos = (long)g.outH * g.outW, img = (long)g.inH * g.inW * cin, ld = (long)rows * cin;
  float* d = grow(sc.a, (size_t)chunk * pos * ld);
  float* dt = grow(sc.b, (size_t)chunk * pos * pl.kt);
  forChunkTiles(
      g, [](const RingGeom&, long) {},
      [&](long b0, long pb, long m) {
        float* tile = dt + pb * pl.kt;
        for (size_t j = 0; j < pl.blocks.size(); j++) {
          const SteerBlock& b = pl.blocks[j];
          if (b.k > 0) gemmPackedB((int)m, b.k, b.o1 - b.o0, dy + (b0 * pos + pb) * cout + b.o0, cout, bp[j], tile + m * b.col, b.k);
        }
        std::memset(d + pb * ld, 0, sizeof(float) * (size_t)m * ld);
        sumBackTile(tile, m, cin, rows, pl, d + pb * ld);
      },
      [&](const RingGeom& c, long b0) { ringScatter(c, taps, nTaps, d, dx + b0 * img); });
}

}  // namespace gmr
