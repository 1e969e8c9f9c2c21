// Steerable feature-field operations of core's src/steerable on the host: the gated non-linearity of
// FieldNonlinearity ('gate' mode) in one pass over the fields, and its gradient in one more.
#pragma once

namespace gmr {

// x [rows, n0 + 3K] laid out [order-0 maps (n0) | gates (K = n1 + n2) | Re1 (n1) | Im1 (n1) | Re2 (n2) | Im2 (n2)]
// → y [rows, n0 + 2K] = [ReLU(maps) | Re1·σ(g1) | Im1·σ(g1) | Re2·σ(g2) | Im2·σ(g2)].
void fieldGate(const float* x, long rows, int n0, int n1, int n2, float* y);
// dx [rows, n0 + 3K] from x and dy [rows, n0 + 2K]: dy·step(x) on the maps, dy·σ(g) on Re/Im, and on each gate
// σ'(g)·Σ over its field's two channels of dy·z.
void fieldGateGrad(const float* x, const float* dy, long rows, int n0, int n1, int n2, float* dx);

}  // namespace gmr
