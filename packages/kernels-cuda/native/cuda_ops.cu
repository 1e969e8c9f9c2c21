// CUDA kernels for the CUDA build: the GMR ring sums (gather), their transpose (scatter with atomics) and a tiled
// SGEMM. The ring index math is gmr_common.h's, shared with the host build. Staging: host → device → host per call.
#include <cuda_runtime.h>

#include <mutex>
#include <stdexcept>
#include <string>

#include "cuda_ops.h"

namespace gmr {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

// Grow-only device scratch buffers, one per slot.
struct Scratch {
  void* p = nullptr;
  size_t n = 0;
  void* get(size_t bytes) {
    if (bytes > n) {
      if (p) cudaFree(p);
      p = nullptr;
      n = 0;
      check(cudaMalloc(&p, bytes), "cudaMalloc");
      n = bytes;
    }
    return p;
  }
};
Scratch slots[4];
std::mutex cudaMu;

template <typename T>
T* upload(int slot, const T* host, size_t count) {
  T* d = static_cast<T*>(slots[slot].get(count * sizeof(T) + 16));
  check(cudaMemcpy(d, host, count * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
  return d;
}

template <typename T>
void download(T* host, const T* dev, size_t count) {
  check(cudaMemcpy(host, dev, count * sizeof(T), cudaMemcpyDeviceToHost), "copy to host");
}

void finish(const char* what) {
  check(cudaGetLastError(), what);
  check(cudaDeviceSynchronize(), what);
}

constexpr int TILE = 16;

__global__ void sgemmKernel(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  __shared__ float As[TILE][TILE + 1];
  __shared__ float Bs[TILE][TILE + 1];
  const int row = blockIdx.y * TILE + threadIdx.y;
  const int col = blockIdx.x * TILE + threadIdx.x;
  float acc = 0.f;
  for (int k0 = 0; k0 < K; k0 += TILE) {
    const int ka = k0 + threadIdx.x, kb = k0 + threadIdx.y;
    As[threadIdx.y][threadIdx.x] = (row < M && ka < K) ? (tA ? A[(size_t)ka * lda + row] : A[(size_t)row * lda + ka]) : 0.f;
    Bs[threadIdx.y][threadIdx.x] = (kb < K && col < N) ? (tB ? B[(size_t)col * ldb + kb] : B[(size_t)kb * ldb + col]) : 0.f;
    __syncthreads();
#pragma unroll
    for (int k = 0; k < TILE; k++) acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
    __syncthreads();
  }
  if (row < M && col < N) {
    float* c = C + (size_t)row * ldc + col;
    *c = alpha * acc + (beta == 0.f ? 0.f : beta * *c);
  }
}

// One thread per (position, input channel): all n ring sums of that channel (gmr_common.h's ringSumElement).
__global__ void ringSumKernel(RingGeom g, const RingTap* taps, int nTaps, const float* x, float* R) {
  const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  const long long P = (long long)g.batch * g.outH * g.outW;
  if (idx >= P * g.cin) return;
  const int c = (int)(idx % g.cin);
  const long long p = idx / g.cin;
  const int ox = (int)(p % g.outW), oy = (int)((p / g.outW) % g.outH), b = (int)(p / ((long long)g.outW * g.outH));
  ringSumElement(g, taps, nTaps, x, b, oy, ox, c, R + p * (long long)g.cin * g.numRings);
}

// One thread per (position, channel, tap): adds the ring value into the input pixel it came from.
__global__ void ringScatterKernel(RingGeom g, const RingTap* taps, int nTaps, const float* D, float* dx) {
  const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  const long long P = (long long)g.batch * g.outH * g.outW;
  if (idx >= P * g.cin * nTaps) return;
  const int t = (int)(idx % nTaps);
  const int c = (int)((idx / nTaps) % g.cin);
  const long long p = idx / ((long long)nTaps * g.cin);
  const int ox = (int)(p % g.outW), oy = (int)((p / g.outW) % g.outH), b = (int)(p / ((long long)g.outW * g.outH));
  const int iy = inputRow(g, oy, taps[t].ty), ix = inputCol(g, ox, taps[t].tx);
  if (iy < 0 || ix < 0) return;
  const int cinG = g.cin / g.groups, grp = c / cinG, cl = c - grp * cinG;
  const float v = D[p * (long long)g.cin * g.numRings + ((long long)grp * g.numRings + taps[t].ring) * cinG + cl];
  atomicAdd(dx + (((long long)b * g.inH + iy) * g.inW + ix) * g.cin + c, taps[t].w * v);
}

unsigned blocksFor(long long n, int threads) { return (unsigned)((n + threads - 1) / threads); }

}  // namespace

CudaDeviceInfo cudaDeviceInfo() {
  static CudaDeviceInfo info = [] {
    CudaDeviceInfo r{false, 0, "", ""};
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      r.error = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
      cudaGetLastError();
      return r;
    }
    if (count == 0) {
      r.error = "no CUDA device";
      return r;
    }
    cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, 0);
    if (e != cudaSuccess) {
      r.error = std::string("cudaGetDeviceProperties: ") + cudaGetErrorString(e);
      return r;
    }
    r.ok = true;
    r.count = count;
    r.name = prop.name;
    return r;
  }();
  return info;
}

void cudaSgemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  std::lock_guard<std::mutex> lk(cudaMu);
  const size_t aRows = tA ? K : M, bRows = tB ? N : K;
  const size_t aLen = aRows ? (aRows - 1) * lda + (tA ? M : K) : 0, bLen = bRows ? (bRows - 1) * ldb + (tB ? K : N) : 0;
  const size_t cLen = (size_t)(M - 1) * ldc + N;
  const float* dA = upload(0, A, aLen);
  const float* dB = upload(1, B, bLen);
  float* dC = upload(2, C, cLen);
  dim3 block(TILE, TILE), grid((N + TILE - 1) / TILE, (M + TILE - 1) / TILE);
  sgemmKernel<<<grid, block>>>(tA, tB, M, N, K, alpha, dA, lda, dB, ldb, beta, dC, ldc);
  finish("sgemm kernel");
  download(C, dC, cLen);
}

void cudaRingSum(const RingGeom& g, const RingTap* taps, int nTaps, const float* x, float* R) {
  std::lock_guard<std::mutex> lk(cudaMu);
  const size_t xLen = (size_t)g.batch * g.inH * g.inW * g.cin;
  const long long P = (long long)g.batch * g.outH * g.outW;
  const size_t rLen = (size_t)P * g.cin * g.numRings;
  const float* dx = upload(0, x, xLen);
  const RingTap* dt = upload(1, taps, (size_t)nTaps);
  float* dR = static_cast<float*>(slots[2].get(rLen * sizeof(float) + 16));
  ringSumKernel<<<blocksFor(P * g.cin, 256), 256>>>(g, dt, nTaps, dx, dR);
  finish("ring sum kernel");
  download(R, dR, rLen);
}

void cudaRingScatter(const RingGeom& g, const RingTap* taps, int nTaps, const float* D, float* dxHost) {
  std::lock_guard<std::mutex> lk(cudaMu);
  const size_t xLen = (size_t)g.batch * g.inH * g.inW * g.cin;
  const long long P = (long long)g.batch * g.outH * g.outW;
  const float* dD = upload(0, D, (size_t)P * g.cin * g.numRings);
  const RingTap* dt = upload(1, taps, (size_t)nTaps);
  float* ddx = static_cast<float*>(slots[2].get(xLen * sizeof(float) + 16));
  check(cudaMemset(ddx, 0, xLen * sizeof(float)), "cudaMemset");
  if (nTaps > 0) ringScatterKernel<<<blocksFor(P * g.cin * nTaps, 256), 256>>>(g, dt, nTaps, dD, ddx);
  finish("ring scatter kernel");
  download(dxHost, ddx, xLen);
}

}  // namespace gmr
