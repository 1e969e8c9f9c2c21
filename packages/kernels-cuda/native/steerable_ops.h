// The steerable GMR convolution without the zero blocks of its mixing weights (issue 17; core's
// steerable/steerable_conv.ts). Its op weights W [Cout, Cin, rows] link each (output channel, input channel) pair
// through at most one angular component, i.e. through one contiguous range of mask rows, and the channels come in
// blocks (order 0, Re/Im of order 1 and 2) whose pairs all share it. A plan lists, per output block O, its segments
// (input block I, row range of the component): y[:, O] only needs the ring sums R[:, rows of the segment, I].
#pragma once
#include <vector>

#include "gmr_common.h"

namespace gmr {

struct SteerSegment {
  int i0, i1, r0, r1;
  int col;  // first column of the segment in its block's operand (ring-major, then input channel)
};

struct SteerBlock {
  int o0, o1;
  int k;    // columns of the block: Σ over segments (r1 − r0)·(i1 − i0)
  int col;  // first column of the block in R' [P, KT]
  long w;   // offset of the block's packed weights W'_O [o1 − o0, k]
  std::vector<SteerSegment> segs;
};

struct SteerPlan {
  std::vector<SteerBlock> blocks;
  int kt = 0;      // columns of R' (Σ k)
  long wSize = 0;  // floats of the packed weights
};

// Plan from the flat Int32Array [numBlocks, (o0, o1, numSegs, (i0, i1, r0, r1) × numSegs) × numBlocks]; checks it
// against the geometry (blocks partition [0, cout), segments inside [0, cin) × [0, rows)). Throws std::runtime_error.
SteerPlan steerPlanFrom(const int* p, long len, int cin, int cout, int rows);

// y [P, Cout] = the GMR convolution with W [Cout, Cin, rows] over the mask rows (g.numRings = rows, groups 1), using
// only the plan's blocks. Rp [P, KT] receives the ring sums of the plan's columns (kept by the caller for the filter
// gradient, or scratch).
void steerableForward(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, const SteerPlan& pl, const float* W, int cout, float* y, float* Rp);

// dW [Cout, Cin, rows] (zero outside the plan) = Σ_p dy[p]ᵀ·R[p], from the kept Rp or, when Rp is null, from x.
void steerableFilterGrad(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, const float* Rp, const float* dy, const SteerPlan& pl, int cout, float* dW);

// dx [B, H, W, Cin] = the transpose of the forward for dy [P, Cout].
void steerableInputGrad(const RingGeom& g, const RingTap* taps, int nTaps, const float* dy, const SteerPlan& pl, const float* W, int cout, float* dx);

}  // namespace gmr
