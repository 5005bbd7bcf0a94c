#include "infra/core/blocking_pool.hpp"

#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "infra/core/log.hpp"

namespace keyledger::infra {

blocking_pool::blocking_pool(std::size_t threads, std::size_t queue_capacity)
    : capacity_(queue_capacity) {
  // Either would make a pool that silently never runs or never accepts anything.
  if (threads == 0) throw std::invalid_argument("blocking_pool: at least one thread");
  if (queue_capacity == 0) throw std::invalid_argument("blocking_pool: queue capacity of zero");
  threads_.reserve(threads);
  try {
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this, i] { run(i); });
  } catch (...) {
    // A thread failed to start: stop the ones that did, or their destructors terminate.
    stop();
    throw;
  }
}

blocking_pool::~blocking_pool() { stop(); }

bool blocking_pool::try_submit(job j) {
  // An empty std::function is a caller bug; refusing it beats a bad_function_call later.
  if (!j) return false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(j));
  }
  cv_.notify_one();
  return true;
}

void blocking_pool::stop() {
  {
    std::lock_guard lock(mutex_);
    // Only the first caller joins; threads_ itself is never resized, so size() stays valid.
    // Precondition (as for any join): not called from inside a job.
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void blocking_pool::run(std::size_t worker) {
  for (;;) {
    job j;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Stopping still drains: exit only once nothing is left.
      if (queue_.empty()) return;
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      j(worker);
    } catch (...) {
      // The exception text may quote a query or input that holds a secret, so it is not
      // logged; the worker survives to take the next job.
      try {
        log(log_level::error, "blocking_pool_job_threw",
            {{"message", "job threw"}, {"worker", std::to_string(worker)}});
      } catch (...) {
        // std::to_string can only fail on allocation; the worker matters more than the line.
      }
    }
  }
}

}  // namespace keyledger::infra
