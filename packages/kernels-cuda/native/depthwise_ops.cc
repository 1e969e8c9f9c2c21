// A depthwise convolution forward (tfjs's DepthwiseConv2dNative, NHWC): the steerable CNN's fixed input blur, which
// on tfjs's JavaScript kernel was 30 % of that network's inference batch. Each output row of an image is one task:
// the row is zeroed, then every tap that lands inside x adds x's channels times its weights, taps in the order
// tfjs's kernel adds them (kernel row, then column), one vector loop over the output's cin·mult channels per pixel.
#include "depthwise_ops.h"

#include <algorithm>
#include <cstring>

#include "thread_pool.h"

namespace gmr {
namespace {

#if defined(__x86_64__) && !defined(GMR_NO_CLONES)
#define GMR_DW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GMR_DW_CLONES
#endif

GMR_DW_CLONES void depthwiseRows(const RingGeom& g, int mult, const float* __restrict x, const float* __restrict w, float* __restrict y, long rb, long re) {
  const long cout = (long)g.cin * mult;
  for (long r = rb; r < re; r++) {
    const long b = r / g.outH;
    const int oy = (int)(r % g.outH);
    float* yr = y + r * g.outW * cout;
    std::memset(yr, 0, sizeof(float) * (size_t)(g.outW * cout));
    for (int ky = 0; ky < g.kh; ky++) {
      const int iy = oy * g.sh + ky * g.dh - g.padTop;
      if (iy < 0 || iy >= g.inH) continue;
      const float* xr = x + (b * g.inH + iy) * (long)g.inW * g.cin;
      for (int ox = 0; ox < g.outW; ox++) {
        float* o = yr + ox * cout;
        for (int kx = 0; kx < g.kw; kx++) {
          const int ix = ox * g.sw + kx * g.dw - g.padLeft;
          if (ix < 0 || ix >= g.inW) continue;
          const float* xp = xr + (long)ix * g.cin;
          const float* wp = w + ((long)ky * g.kw + kx) * cout;
          if (mult == 1)
            for (long c = 0; c < cout; c++) o[c] += xp[c] * wp[c];
          else
            for (long c = 0; c < g.cin; c++)
              for (int m = 0; m < mult; m++) o[c * mult + m] += xp[c] * wp[c * mult + m];
        }
      }
    }
  }
}

}  // namespace

void depthwiseConv(const RingGeom& g, int mult, const float* x, const float* w, float* y) {
  const long perRow = (long)g.outW * g.cin * mult * g.kh * g.kw;
  parallelFor((long)g.batch * g.outH, [&](long rb, long re) { depthwiseRows(g, mult, x, w, y, rb, re); }, std::max(1L, (1L << 15) / std::max(1L, perRow)));
}

}  // namespace gmr
