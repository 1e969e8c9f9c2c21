// The softmax cross-entropy of a batch of logits against its labels, forward and backward, each in one pass. tfjs
// composes it from about twenty kernels each way, most of them over a [B, K] tensor of a few hundred values: the
// engine's cost per kernel, not the arithmetic, was the loss's time. A batch is small (B·K of 32·10 here), so one
// thread; sums in double (log-sum-exp with the row's maximum subtracted, as tfjs's logSumExp).
#include "loss_ops.h"

#include <algorithm>
#include <cmath>

namespace gmr {

void softmaxCrossEntropy(const float* logits, const float* labels, long B, long K, float* loss, float* probs) {
  double total = 0;
  for (long b = 0; b < B; b++) {
    const float* z = logits + b * K;
    const float* y = labels + b * K;
    float m = z[0];
    for (long k = 1; k < K; k++) m = std::max(m, z[k]);
    double s = 0;
    for (long k = 0; k < K; k++) s += std::exp((double)z[k] - m);
    const double lse = m + std::log(s);
    double row = 0;
    for (long k = 0; k < K; k++) {
      const double logp = (double)z[k] - lse;
      row -= (double)y[k] * logp;
      probs[b * K + k] = (float)std::exp(logp);
    }
    total += row;
  }
  *loss = (float)(total / (double)std::max(1L, B));
}

void softmaxCrossEntropyGrad(const float* probs, const float* labels, float dy, long B, long K, float* dlogits) {
  const float scale = dy / (float)std::max(1L, B);
  for (long i = 0; i < B * K; i++) dlogits[i] = (probs[i] - labels[i]) * scale;
}

}  // namespace gmr
