#include "services/projections/apply_waiters.hpp"

#include <algorithm>
#include <exception>

#include "infra/core/log.hpp"

namespace keyledger::services {

apply_waiters::~apply_waiters() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  timer_wake_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void apply_waiters::call(callback& done, bool applied) noexcept {
  try {
    done(applied);
  } catch (const std::exception& e) {
    infra::log(infra::log_level::error, "apply_waiter_failed", {{"what", e.what()}});
  } catch (...) {
    infra::log(infra::log_level::error, "apply_waiter_failed", {{"what", "unknown"}});
  }
}

void apply_waiters::add(std::uint64_t seq, clock::time_point deadline,
                        const std::function<std::uint64_t()>& applied_now, callback done) {
  {
    std::unique_lock lock(mutex_);
    if (applied_now() < seq) {
      const bool earliest = std::all_of(entries_.begin(), entries_.end(),
                                        [&](const entry& e) { return e.deadline > deadline; });
      entries_.push_back({seq, deadline, std::move(done)});
      if (!timer_.joinable()) timer_ = std::thread([this] { run_timer(); });
      if (earliest) timer_wake_.notify_one();
      return;
    }
  }
  call(done, true);
}

void apply_waiters::applied(std::uint64_t seq) {
  std::list<entry> ready;
  {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      const auto next = std::next(it);
      if (it->seq <= seq) ready.splice(ready.end(), entries_, it);
      it = next;
    }
  }
  for (auto& e : ready) call(e.done, true);
}

std::size_t apply_waiters::waiting() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void apply_waiters::run_timer() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (entries_.empty()) {
      timer_wake_.wait(lock);
      continue;
    }
    const auto earliest =
        std::min_element(entries_.begin(), entries_.end(),
                         [](const entry& a, const entry& b) { return a.deadline < b.deadline; });
    // A copy: wait_until takes the instant by reference and reads it again after waking, by
    // which time applied() may have spliced out and freed this entry (a heap-use-after-free
    // found by tests/fuzz http under ASan).
    const auto until = earliest->deadline;
    if (clock::now() < until) {
      timer_wake_.wait_until(lock, until);
      continue;
    }
    std::list<entry> late;
    const auto now = clock::now();
    for (auto it = entries_.begin(); it != entries_.end();) {
      const auto next = std::next(it);
      if (it->deadline <= now) late.splice(late.end(), entries_, it);
      it = next;
    }
    lock.unlock();
    for (auto& e : late) call(e.done, false);
    lock.lock();
  }
}

}  // namespace keyledger::services
