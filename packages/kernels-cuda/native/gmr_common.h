// Kernel logic shared by the host build (g++, threads) and the CUDA build (nvcc): one element of each
// GMR ring operation, written once. GMR_HD marks functions that both compilers build.
#pragma once
#include <stdint.h>

#if defined(__CUDACC__)
#define GMR_HD __host__ __device__ __forceinline__
#else
#define GMR_HD inline
#endif

namespace gmr {

enum PadMode { PAD_ZEROS = 0, PAD_REFLECT = 1, PAD_REPLICATE = 2, PAD_CIRCULAR = 3 };

// One 2D GMR convolution, channels-last x [B, H, W, Cin]; the ring sums R are [B·Ho·Wo, groups, n, Cin/groups].
struct RingGeom {
  int batch, inH, inW, cin, outH, outW, groups, numRings, kh, kw, sh, sw, dh, dw, padTop, padLeft, padMode;
};

// Maps a padded coordinate (may lie outside [0, size)) to the input coordinate it reads, or -1 (a zero).
GMR_HD int mapCoord(int p, int size, int mode) {
  switch (mode) {
    case PAD_ZEROS:
      return (p < 0 || p >= size) ? -1 : p;
    case PAD_REFLECT: {
      int q = p < 0 ? -p : p;
      if (q >= size) q = 2 * (size - 1) - q;
      return (q < 0 || q >= size) ? -1 : q;
    }
    case PAD_REPLICATE:
      return p < 0 ? 0 : (p >= size ? size - 1 : p);
    default: {
      int q = p % size;
      return q < 0 ? q + size : q;
    }
  }
}

// Input row read by output row `o` at kernel row `t` (−1: zero).
GMR_HD int inputRow(const RingGeom& g, int o, int t) { return mapCoord(o * g.sh - g.padTop + t * g.dh, g.inH, g.padMode); }
GMR_HD int inputCol(const RingGeom& g, int o, int t) { return mapCoord(o * g.sw - g.padLeft + t * g.dw, g.inW, g.padMode); }

// A ring tap: kernel position (ty, tx) weighted `w` into ring `ring` (the non-zero entries of M).
struct RingTap {
  int ty, tx, ring;
  float w;
};

// R[p, group, ring, c'] for one output position p and one channel c (all rings): the gather form.
// out points at R[p] (length cin·n); x is channels-last.
GMR_HD void ringSumElement(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, int b, int oy, int ox, int c, float* out) {
  const int cinG = g.cin / g.groups;
  const int grp = c / cinG;
  const int cl = c - grp * cinG;
  float* o = out + (int64_t)grp * g.numRings * cinG + cl;
  for (int i = 0; i < g.numRings; i++) o[(int64_t)i * cinG] = 0.f;
  for (int t = 0; t < nTaps; t++) {
    const int iy = inputRow(g, oy, taps[t].ty);
    const int ix = inputCol(g, ox, taps[t].tx);
    if (iy < 0 || ix < 0) continue;
    o[(int64_t)taps[t].ring * cinG] += taps[t].w * x[(((int64_t)b * g.inH + iy) * g.inW + ix) * g.cin + c];
  }
}

}  // namespace gmr
