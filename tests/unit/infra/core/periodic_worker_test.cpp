// The one background loop: passes at once or after an interval, early on wake(), survives a
// throwing pass, stops promptly. Waits are on conditions with deadlines.
#include "infra/core/periodic_worker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

namespace keyledger::infra {
namespace {

using namespace std::chrono_literals;

/// Counts passes; a test waits for a count with a deadline.
class pass_counter {
 public:
  void hit() {
    {
      std::lock_guard lock(mutex_);
      ++count_;
    }
    changed_.notify_all();
  }
  bool wait_for(int n, std::chrono::milliseconds deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline, [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

TEST(periodic_worker, the_first_pass_runs_at_once_and_wake_runs_the_next_early) {
  pass_counter passes;
  periodic_worker w("test", {1h, true}, [&] { passes.hit(); });
  w.start();
  ASSERT_TRUE(passes.wait_for(1, 5s));
  w.wake();  // without it the next pass is an hour away
  ASSERT_TRUE(passes.wait_for(2, 5s));
  EXPECT_TRUE(w.stop());
}

TEST(periodic_worker, a_delayed_first_pass_waits_for_the_interval_or_a_wake) {
  pass_counter passes;
  periodic_worker w("test", {1h, false}, [&] { passes.hit(); });
  w.start();
  EXPECT_FALSE(passes.wait_for(1, 100ms));
  w.wake();
  ASSERT_TRUE(passes.wait_for(1, 5s));
  w.stop();
}

TEST(periodic_worker, a_throwing_pass_does_not_stop_the_loop) {
  pass_counter passes;
  periodic_worker w("test", {1ms, true}, [&] {
    passes.hit();
    throw std::runtime_error("boom");
  });
  w.start();
  ASSERT_TRUE(passes.wait_for(3, 5s));
  w.stop();
}

TEST(periodic_worker, stop_is_prompt_idempotent_and_final) {
  pass_counter passes;
  periodic_worker w("test", {1h, true}, [&] { passes.hit(); });
  EXPECT_FALSE(periodic_worker("unstarted", {1h, true}, [] {}).stop());
  w.start();
  ASSERT_TRUE(passes.wait_for(1, 5s));
  const auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(w.stop());
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s) << "stop must not wait out the hour";
  const int after_stop = passes.count();
  w.wake();
  w.start();  // a stopped worker stays stopped
  EXPECT_FALSE(passes.wait_for(after_stop + 1, 100ms));
  w.stop();
}

}  // namespace
}  // namespace keyledger::infra
