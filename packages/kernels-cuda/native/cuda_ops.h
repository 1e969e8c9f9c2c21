// The CUDA build's device paths (cuda_ops.cu). Same host-pointer interface as host_ops.h: inputs are copied to
// device memory, the kernel runs, the result is copied back. Every CUDA error becomes a std::runtime_error
// carrying cudaGetErrorString (a JavaScript error in the addon).
#pragma once
#include <string>

#include "gmr_common.h"

namespace gmr {

struct CudaDeviceInfo {
  bool ok;
  int count;
  std::string name;
  std::string error;
};

// Asks the runtime for devices (once; cached). Never throws.
CudaDeviceInfo cudaDeviceInfo();
inline bool cudaReady() { return cudaDeviceInfo().ok; }

void cudaSgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc);
void cudaRingSum(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, float* R);
void cudaRingScatter(const RingGeom& g, const RingTap* taps, int nTaps, const float* D, float* dx);

}  // namespace gmr
