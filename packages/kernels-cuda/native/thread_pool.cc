#include "thread_pool.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace gmr {
namespace {

// Chunks are handed out under the mutex, so a worker that wakes late (a busy machine) finds nothing left and goes
// back to sleep: the caller never waits for a thread that did not take part; it waits only for chunks in flight.
struct Pool {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake, done;
  const std::function<void(long, long)>* job = nullptr;
  long n = 0;
  int chunks = 0, next = 0, finished = 0;
  unsigned long generation = 0;
  bool stop = false;

  // Takes and runs chunks of the current job until none is left (call without the lock).
  void work(unsigned long gen) {
    for (;;) {
      int c;
      const std::function<void(long, long)>* f;
      {
        std::lock_guard<std::mutex> lk(mu);
        if (gen != generation || next >= chunks) return;
        c = next++;
        f = job;
      }
      (*f)(n * c / chunks, n * (c + 1) / chunks);
      std::lock_guard<std::mutex> lk(mu);
      if (++finished == chunks) done.notify_all();
    }
  }

  void worker() {
    unsigned long seen = 0;
    for (;;) {
      unsigned long gen;
      {
        std::unique_lock<std::mutex> lk(mu);
        wake.wait(lk, [&] { return stop || generation != seen; });
        if (stop) return;
        seen = gen = generation;
      }
      work(gen);
    }
  }

  void resize(int threads) {
    shutdown();
    stop = false;
    for (int i = 1; i < threads; i++) workers.emplace_back([this] { worker(); });
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
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
  {
    std::lock_guard<std::mutex> lk(p->mu);
    p->job = &fn;
    p->n = n;
    p->chunks = chunks;
    p->next = 0;
    p->finished = 0;
    gen = ++p->generation;
  }
  p->wake.notify_all();
  p->work(gen);
  std::unique_lock<std::mutex> lk(p->mu);
  p->done.wait(lk, [&] { return p->finished == p->chunks; });
  p->job = nullptr;
  p->chunks = 0;
}

}  // namespace gmr
