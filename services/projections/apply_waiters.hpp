#pragma once

// Answers that wait for this node's view without holding a thread (issue 12): a command's pool
// thread hands its answer over and goes back to work; the answer goes out when the view has
// applied the command's last event (called on the applier's thread), or as a refusal when the
// deadline passes first (called on this object's own timer thread). Each waiter is called
// exactly once. A pool thread that blocked on the view instead (wait_applied) was lost to
// every other request for the whole notify-read-apply round trip.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

namespace keyledger::services {

class apply_waiters {
 public:
  using clock = std::chrono::steady_clock;
  /// true: applied; false: the deadline passed first.
  using callback = std::function<void(bool applied)>;

  apply_waiters() = default;
  /// Waiters still waiting are dropped without being called (their server is going away).
  ~apply_waiters();
  apply_waiters(const apply_waiters&) = delete;
  apply_waiters& operator=(const apply_waiters&) = delete;

  /// Calls `done(true)` once applied(s) with s >= seq was called, at once (on this thread) if
  /// `applied_now` >= seq already; `done(false)` at `deadline` otherwise. `applied_now` is
  /// read under the waiters' lock so that an applied() between the caller's check and this call
  /// is not missed (pass the view's applied_seq reader).
  void add(std::uint64_t seq, clock::time_point deadline,
           const std::function<std::uint64_t()>& applied_now, callback done);

  /// The view has applied everything up to `seq`: calls every waiter at or below it.
  void applied(std::uint64_t seq);

  /// Waiters not yet called (tests).
  std::size_t waiting() const;

 private:
  struct entry {
    std::uint64_t seq;
    clock::time_point deadline;
    callback done;
  };
  void run_timer();
  static void call(callback& done, bool applied) noexcept;

  mutable std::mutex mutex_;
  std::condition_variable timer_wake_;
  std::list<entry> entries_;
  std::thread timer_;  // started with the first waiter
  bool stopping_ = false;
};

}  // namespace keyledger::services
