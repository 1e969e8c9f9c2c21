#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace gmr {
namespace {

// A pause between two polls of a shared flag (lets the sibling hyperthread run; no system call).
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// How long a worker polls for the next job before it sleeps, and the caller polls for its chunks in flight before it
// sleeps (GMR_NATIVE_SPIN_US, default 1000 µs; 0 = sleep at once). A training step is a few hundred parallelFor calls
// with a few µs to a few hundred µs of JS between them (the backward pass's bookkeeping, the loss, the optimiser): a
// sleeping worker woke through the kernel's futex late for most of them, so the second core joined the first only on
// the long ones (the plain CNN's step: 1.31× from 1 to 2 threads without polling, PyTorch's OpenMP threads 1.73×;
// libgomp's threads poll for a few hundred thousand pauses by default, milliseconds). 50 µs caught the short gaps;
// 1000 µs catches the gaps of a whole step (plain CNN 11.6 → 11.1 ms, median of runs on the quiet 2-core machine).
// After the first 50 µs the poll yields the core every 64 pauses, so that on a busy machine another runnable thread
// gets it (sched_yield costs well under a µs when nothing else is waiting). Polling is bounded, so an idle process gives
// its core back within the spin.
long spinMicros() {
  static const long us = [] {
    const char* env = std::getenv("GMR_NATIVE_SPIN_US");
    return env ? std::max(0L, std::atol(env)) : 1000L;
  }();
  return us;
}

// Polls `ready` for up to spinMicros(); true as soon as it holds.
template <class Ready>
bool pollFor(Ready ready) {
  const long us = spinMicros();
  if (us <= 0) return ready();
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + std::chrono::microseconds(us);
  const auto politeFrom = start + std::chrono::microseconds(std::min(us, 50L));
  for (int i = 0;; i++) {
    if (ready()) return true;
    cpuRelax();
    if ((i & 63) == 63) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= until) return ready();
      if (now >= politeFrom) std::this_thread::yield();
    }
  }
}

// Chunks are handed out under the mutex, so a worker that wakes late (a busy machine) finds nothing left and goes
// back to waiting: the caller never waits for a thread that did not take part; it waits only for chunks in flight.
struct Pool {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake, done;
  // the current job, written under mu before generation moves on
  const std::function<void(long, long)>* job = nullptr;
  long n = 0;
  int chunks = 0, next = 0;
  std::atomic<int> finished{0};
  std::atomic<unsigned long> generation{0};
  int sleepers = 0;       // workers waiting on `wake` (under mu): the caller notifies only when one is
  bool callerAsleep = false;  // the caller waits on `done` (under mu)
  bool stop = false;
  std::atomic<bool> stopping{false};

  // Takes and runs chunks of job `gen` until none is left (call without the lock).
  void work(unsigned long gen) {
    for (;;) {
      int c, total;
      long items;
      const std::function<void(long, long)>* f;
      {
        std::lock_guard<std::mutex> lk(mu);
        if (gen != generation.load(std::memory_order_relaxed) || next >= chunks) return;
        c = next++;
        f = job;
        items = n;
        total = chunks;
      }
      (*f)(items * c / total, items * (c + 1) / total);
      if (finished.fetch_add(1, std::memory_order_acq_rel) + 1 == total) {
        std::lock_guard<std::mutex> lk(mu);
        if (callerAsleep) done.notify_all();
      }
    }
  }

  void worker() {
    unsigned long seen = generation.load(std::memory_order_acquire);
    for (;;) {
      pollFor([&] {
        return generation.load(std::memory_order_acquire) != seen || stopping.load(std::memory_order_relaxed);
      });
      unsigned long gen;
      {
        std::unique_lock<std::mutex> lk(mu);
        sleepers++;
        wake.wait(lk, [&] { return stop || generation.load(std::memory_order_relaxed) != seen; });
        sleepers--;
        if (stop) return;
        seen = gen = generation.load(std::memory_order_relaxed);
      }
      work(gen);
    }
  }

  void resize(int threads) {
    shutdown();
    stop = false;
    stopping.store(false);
    for (int i = 1; i < threads; i++) workers.emplace_back([this] { worker(); });
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
      stopping.store(true);
    }
    wake.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
  }

  ~Pool() { shutdown(); }
};

Pool* pool() {
  static Pool* p = [] {
    Pool* q = new Pool();
    int n = 2;
    if (const char* env = std::getenv("GMR_NATIVE_THREADS")) n = std::max(1, std::atoi(env));
    q->resize(n);
    return q;
  }();
  return p;
}

}  // namespace

void setNumThreads(int n) { pool()->resize(std::max(1, std::min(n, 256))); }
int numThreads() { return (int)pool()->workers.size() + 1; }

void parallelFor(long n, const std::function<void(long, long)>& fn, long grain) {
  if (n <= 0) return;
  Pool* p = pool();
  const int threads = (int)p->workers.size() + 1;
  const long maxChunks = std::max(1L, n / std::max(1L, grain));
  if (threads == 1 || maxChunks == 1) {
    fn(0, n);
    return;
  }
  // A few chunks per thread: whoever is running takes the next one (balances a busy machine).
  const int chunks = (int)std::min<long>(maxChunks, 4L * threads);
  unsigned long gen;
  bool anyAsleep;
  {
    std::lock_guard<std::mutex> lk(p->mu);
    p->job = &fn;
    p->n = n;
    p->chunks = chunks;
    p->next = 0;
    p->finished.store(0, std::memory_order_relaxed);
    gen = p->generation.load(std::memory_order_relaxed) + 1;
    p->generation.store(gen, std::memory_order_release);
    anyAsleep = p->sleepers > 0;
  }
  if (anyAsleep) p->wake.notify_all();
  p->work(gen);
  // chunks still running on a worker: poll for a while, then sleep until the last one signals
  if (!pollFor([&] { return p->finished.load(std::memory_order_acquire) == chunks; })) {
    std::unique_lock<std::mutex> lk(p->mu);
    p->callerAsleep = true;
    p->done.wait(lk, [&] { return p->finished.load(std::memory_order_acquire) == chunks; });
    p->callerAsleep = false;
  }
  std::lock_guard<std::mutex> lk(p->mu);
  p->job = nullptr;
  p->chunks = 0;
}

}  // namespace gmr
