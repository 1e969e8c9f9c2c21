// Steerable feature-field operations of core's src/steerable on the host: the gated non-linearity of
// FieldNonlinearity ('gate' mode) in one pass over the fields, and its gradient in one more; FieldBatchNorm in
// training; FieldInvariants (the network head's invariant channels) one pass each way.
#pragma once

namespace gmr {

// x [rows, n0 + 3K] laid out [order-0 maps (n0) | gates (K = n1 + n2) | Re1 (n1) | Im1 (n1) | Re2 (n2) | Im2 (n2)]
// → y [rows, n0 + 2K] = [ReLU(maps) | Re1·σ(g1) | Im1·σ(g1) | Re2·σ(g2) | Im2·σ(g2)].
void fieldGate(const float* x, long rows, int n0, int n1, int n2, float* y);
// dx [rows, n0 + 3K] from x and dy [rows, n0 + 2K]: dy·step(x) on the maps, dy·σ(g) on Re/Im, and on each gate
// σ'(g)·Σ over its field's two channels of dy·z.
void fieldGateGrad(const float* x, const float* dy, long rows, int n0, int n1, int n2, float* dx);

}  // namespace gmr

namespace gmr {

// FieldBatchNorm in training on x [rows, C] with the field layout [n0 | Re1 | Im1 | Re2 | Im2] (n1, n2 fields):
// per channel mean (order 0; 0 on order m), per field variance (order 0: of its channel; order m: E|z|² over Re and
// Im), invStd [C] = 1/√(var + ε) of the channel's field, y = (x − mean)·invStd·γ + β (γ [F] per field, β [n0] or null).
// stats [F] = the per-field variances (the moving statistics' input). `act`: the activation applied in the same pass,
// BN_LINEAR none, BN_RELU relu(…) (order-0 fields only: a batch norm and the ReLU after it as one kernel).
constexpr int BN_LINEAR = 0, BN_RELU = 1;
void fieldBatchNorm(const float* x, long rows, int n0, int n1, int n2, const float* gamma, const float* beta, float eps, int act, float* y, float* mean, float* stats, float* invStd);
// Its gradient: dx, dγ [F] and dβ [n0] (null when there is no β) from x, dy and the forward's mean, invStd, γ and β (β
// read only with BN_RELU: the gradient of the fused ReLU, dy·step(y), recomputes y from x as the forward did).
void fieldBatchNormGrad(const float* x, const float* dy, long rows, int n0, int n1, int n2, const float* mean, const float* invStd, const float* gamma, const float* beta, int act, float* dx, float* dgamma, float* dbeta);

}  // namespace gmr

namespace gmr {

// FieldInvariants' output channel count for the fields [n0, n1, n2]: n0 + n1 + n2, and with `paired` the
// (n1 − 1)⁺ + (n2 − 1)⁺ consecutive-field products and the min(n1, n2) cross-order ones (core's fieldInvariantChannels).
inline long fieldInvariantChannels(int n0, int n1, int n2, bool paired) {
  const long pairs = paired ? (long)(n1 > 1 ? n1 - 1 : 0) + (n2 > 1 ? n2 - 1 : 0) + (n1 < n2 ? n1 : n2) : 0;
  return (long)n0 + n1 + n2 + pairs;
}

// x [rows, n0 + 2·n1 + 2·n2] laid out [n0 | Re1 | Im1 | Re2 | Im2] (a_m, b_m below) → y [rows, fieldInvariantChannels]
// = [order-0 maps | a1² + b1² | a2² + b2² | (paired:) a1_j·a1_{j+1} + b1_j·b1_{j+1} | the same on order 2 |
// a2_j·(a1_j² − b1_j²) + b2_j·(2·(a1_j·b1_j)) for j < min(n1, n2)], each value rounded as core's composed form
// rounds it (no fused multiply-adds), so the two agree bit for bit.
void fieldInvariants(const float* x, long rows, int n0, int n1, int n2, bool paired, float* y);
// dx (x's shape) from x and dy [rows, fieldInvariantChannels]: each output's partial derivatives times its dy, summed
// over the outputs an input channel enters.
void fieldInvariantsGrad(const float* x, const float* dy, long rows, int n0, int n1, int n2, bool paired, float* dx);

}  // namespace gmr
