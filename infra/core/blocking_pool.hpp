#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace keyledger::infra {

/// A fixed set of threads with a bounded queue, for all blocking work (Postgres). A job gets
/// the index of the worker running it, so per-thread resources (one DB connection per thread)
/// can be kept in a vector indexed by it. Thread-safe.
class blocking_pool {
 public:
  using job = std::function<void(std::size_t worker)>;

  /// Starts `threads` workers; at most `queue_capacity` jobs wait at once.
  blocking_pool(std::size_t threads, std::size_t queue_capacity);
  ~blocking_pool();
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  /// Queues `j`. Returns false (and drops it) when the queue is full or the pool stopped:
  /// the caller answers 503 with Retry-After.
  bool try_submit(job j);

  /// Runs what is queued, then joins the workers. Idempotent.
  void stop();

  std::size_t size() const noexcept { return threads_.size(); }

 private:
  void run(std::size_t worker);

  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace keyledger::infra
