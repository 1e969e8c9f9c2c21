// A small persistent thread pool for the host build: parallelFor(n, fn) runs fn(begin, end) on contiguous
// chunks of [0, n) with the calling thread taking part. Calls are synchronous (the JS thread waits).
#pragma once
#include <functional>

namespace gmr {
void setNumThreads(int n);
int numThreads();
// fn(begin, end) over [0, n) split into at most numThreads() chunks (grain: minimum items per chunk).
void parallelFor(long n, const std::function<void(long, long)>& fn, long grain = 1);
}  // namespace gmr
