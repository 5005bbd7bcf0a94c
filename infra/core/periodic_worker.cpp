#include "infra/core/periodic_worker.hpp"

#include <exception>
#include <utility>

#include "infra/core/log.hpp"

namespace keyledger::infra {

periodic_worker::periodic_worker(std::string name, options opts, std::function<void()> pass)
    : name_(std::move(name)), options_(opts), pass_(std::move(pass)) {
  if (options_.interval.count() <= 0) options_.interval = std::chrono::milliseconds(1);
}

periodic_worker::~periodic_worker() { stop(); }

void periodic_worker::start() {
  std::lock_guard lock(mutex_);
  if (stopping_ || thread_.joinable()) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void periodic_worker::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_one();
}

bool periodic_worker::stop() {
  std::thread thread;
  bool started = false;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    started = started_;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable() && thread.get_id() != std::this_thread::get_id()) thread.join();
  return started;
}

void periodic_worker::run() {
  std::unique_lock lock(mutex_);
  if (!options_.first_pass_at_once) {
    wake_.wait_for(lock, options_.interval, [this] { return stopping_ || woken_; });
  }
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    try {
      pass_();
    } catch (const std::exception& e) {
      log(log_level::warn, name_ + "_failed", {{"detail", e.what()}});
    } catch (...) {
      log(log_level::warn, name_ + "_failed", {{"detail", "non-standard exception"}});
    }
    lock.lock();
    wake_.wait_for(lock, options_.interval, [this] { return stopping_ || woken_; });
  }
}

}  // namespace keyledger::infra
