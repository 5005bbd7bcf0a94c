#include "services/app/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;

domain::timestamp at_s(std::int64_t seconds, std::int64_t micros = 0) {
  return domain::timestamp(std::chrono::seconds(seconds) + std::chrono::microseconds(micros));
}

TEST(rate_limiter, given_a_limit_when_it_is_reached_then_further_requests_wait_for_the_window) {
  rate_limiter limiter;
  const domain::rate_limit limit{3, 60};
  // Window [1200, 1260): aligned to the epoch, not to the first request.
  EXPECT_EQ(limiter.try_acquire("key_a", limit, at_s(1210)), 0s);
  EXPECT_EQ(limiter.try_acquire("key_a", limit, at_s(1220)), 0s);
  EXPECT_EQ(limiter.try_acquire("key_a", limit, at_s(1230)), 0s);

  EXPECT_EQ(limiter.try_acquire("key_a", limit, at_s(1230)), 30s);
  // Partial seconds round up, so a client that waits retry_after lands in the next window.
  EXPECT_EQ(limiter.try_acquire("key_a", limit, at_s(1258, 500'000)), 2s);
  EXPECT_EQ(limiter.try_acquire("key_a", limit, at_s(1259, 999'999)), 1s);

  EXPECT_EQ(limiter.try_acquire("key_a", limit, at_s(1260)), 0s);
}

TEST(rate_limiter, given_a_refused_request_then_it_is_not_counted) {
  rate_limiter limiter;
  const domain::rate_limit limit{1, 10};
  EXPECT_EQ(limiter.try_acquire("key_a", limit, at_s(100)), 0s);
  for (int i = 0; i < 5; ++i) EXPECT_GT(limiter.try_acquire("key_a", limit, at_s(101)), 0s);
  // Raising the limit mid-window: only the one accepted request counts against it.
  const domain::rate_limit raised{2, 10};
  EXPECT_EQ(limiter.try_acquire("key_a", raised, at_s(102)), 0s);
  EXPECT_EQ(limiter.try_acquire("key_a", raised, at_s(103)), 7s);
}

TEST(rate_limiter, given_two_keys_then_their_counters_are_separate) {
  rate_limiter limiter;
  const domain::rate_limit limit{1, 60};
  EXPECT_EQ(limiter.try_acquire("key_a", limit, at_s(0)), 0s);
  EXPECT_EQ(limiter.try_acquire("key_b", limit, at_s(0)), 0s);
  EXPECT_EQ(limiter.try_acquire("key_a", limit, at_s(1)), 59s);
  EXPECT_EQ(limiter.try_acquire("key_b", limit, at_s(1)), 59s);
}

TEST(rate_limiter, given_a_new_window_length_then_counting_starts_anew) {
  rate_limiter limiter;
  EXPECT_EQ(limiter.try_acquire("key_a", {1, 60}, at_s(30)), 0s);
  EXPECT_EQ(limiter.try_acquire("key_a", {1, 60}, at_s(31)), 29s);
  EXPECT_EQ(limiter.try_acquire("key_a", {1, 3600}, at_s(32)), 0s);
  EXPECT_EQ(limiter.try_acquire("key_a", {1, 3600}, at_s(33)), 3567s);
}

TEST(rate_limiter, given_instants_before_the_epoch_then_windows_still_align) {
  rate_limiter limiter;
  // -0.5 s lies in the window [-10, 0).
  EXPECT_EQ(limiter.try_acquire("key_a", {1, 10}, at_s(0, -500'000)), 0s);
  EXPECT_EQ(limiter.try_acquire("key_a", {1, 10}, at_s(0, -400'000)), 1s);
  EXPECT_EQ(limiter.try_acquire("key_a", {1, 10}, at_s(0)), 0s);
}

TEST(rate_limiter, given_ended_windows_when_swept_then_only_their_counters_go) {
  rate_limiter limiter;
  EXPECT_EQ(limiter.try_acquire("key_short", {1, 10}, at_s(100)), 0s);
  EXPECT_EQ(limiter.try_acquire("key_long", {1, 1000}, at_s(100)), 0s);
  EXPECT_EQ(limiter.counter_count(), 2u);

  limiter.sweep(at_s(109));
  EXPECT_EQ(limiter.counter_count(), 2u);
  limiter.sweep(at_s(110));
  EXPECT_EQ(limiter.counter_count(), 1u);
  // The surviving counter still holds its count.
  EXPECT_GT(limiter.try_acquire("key_long", {1, 1000}, at_s(110)), 0s);
}

TEST(rate_limiter, given_concurrent_requests_then_exactly_the_limit_is_accepted) {
  rate_limiter limiter;
  const domain::rate_limit limit{1000, 60};
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 600; ++i) {
        if (limiter.try_acquire("key_hot", limit, at_s(5)) == 0s) ++accepted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 1000);
}

}  // namespace
}  // namespace keyledger::services
