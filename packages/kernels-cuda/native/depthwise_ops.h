// tfjs's DepthwiseConv2dNative (NHWC) on the host: see depthwise_ops.cc.
#pragma once
#include "gmr_common.h"

namespace gmr {
// y [B, outH, outW, cin·mult] from x [B, inH, inW, cin] and w [kh, kw, cin, mult]; g's strides, dilations and the
// top/left padding (zeros) as for the convolutions (groups and rings unused).
void depthwiseConv(const RingGeom& g, int mult, const float* x, const float* w, float* y);
}  // namespace gmr
