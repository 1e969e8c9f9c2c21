// Plain 2D convolutions (groups 1, zero padding; geometry as RingGeom with groups = numRings = 1): x [B, H, W, Cin],
// w [kh, kw, Cin, Cout] (tfjs's filter layout), y / dy [B, Ho, Wo, Cout]. Implicit GEMM, see conv_host.cc.
#pragma once
#include "gmr_common.h"

namespace gmr {

// y = conv(x, w) (+ bias[Cout], then ReLU when act == 1); bias may be null.
void convForward(const RingGeom& g, const float* x, const float* w, int cout, const float* bias, int act, float* y);
// dx = the input gradient of conv(x, w) for dy.
void convBackpropInput(const RingGeom& g, const float* dy, const float* w, int cout, float* dx);
// dw = the filter gradient of conv(x, w) for dy (written, not accumulated).
void convBackpropFilter(const RingGeom& g, const float* x, const float* dy, int cout, float* dw);

}  // namespace gmr
