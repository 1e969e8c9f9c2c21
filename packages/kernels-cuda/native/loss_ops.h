// The softmax cross-entropy loss of a classifier's training step (core's softmaxCrossEntropy): see loss_ops.cc.
#pragma once

namespace gmr {
// loss = mean over the B rows of −Σ_k labels[b, k]·log softmax(logits[b])_k; probs [B, K] = softmax(logits).
void softmaxCrossEntropy(const float* logits, const float* labels, long B, long K, float* loss, float* probs);
// dlogits = dy·(probs − labels)/B.
void softmaxCrossEntropyGrad(const float* probs, const float* labels, float dy, long B, long K, float* dlogits);
}  // namespace gmr
