// apply_waiters: answers waiting for the view without a thread each, called exactly once, when
// applied or at their deadline.
#include "services/projections/apply_waiters.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;
using clock = apply_waiters::clock;

/// Polls `done` until it holds or 10 s pass.
template <class Pred>
bool eventually(Pred done) {
  const auto deadline = clock::now() + 10s;
  while (!done()) {
    if (clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(apply_waiters, given_an_applied_seq_then_called_at_once_with_true) {
  apply_waiters w;
  int calls = 0;
  bool result = false;
  w.add(
      5, clock::now() + 10s, [] { return std::uint64_t{7}; },
      [&](bool applied) {
        ++calls;
        result = applied;
      });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(result);
  EXPECT_EQ(w.waiting(), 0u);
}

TEST(apply_waiters, given_a_later_seq_then_called_once_when_it_is_applied) {
  apply_waiters w;
  std::atomic<int> calls{0};
  std::atomic<bool> result{false};
  w.add(
      5, clock::now() + 10s, [] { return std::uint64_t{3}; },
      [&](bool applied) {
        ++calls;
        result = applied;
      });
  EXPECT_EQ(calls.load(), 0);
  w.applied(4);
  EXPECT_EQ(calls.load(), 0);
  w.applied(6);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(result.load());
  w.applied(9);
  EXPECT_EQ(calls.load(), 1);
}

TEST(apply_waiters, given_a_deadline_that_passes_then_called_once_with_false) {
  apply_waiters w;
  std::atomic<int> calls{0};
  std::atomic<int> falses{0};
  w.add(
      5, clock::now() + 20ms, [] { return std::uint64_t{0}; },
      [&](bool applied) {
        ++calls;
        if (!applied) ++falses;
      });
  // A second waiter with a later deadline stays.
  std::atomic<int> later_calls{0};
  w.add(
      6, clock::now() + 10s, [] { return std::uint64_t{0}; },
      [&](bool applied) { later_calls += applied ? 1 : 100; });
  ASSERT_TRUE(eventually([&] { return calls.load() == 1; }));
  EXPECT_EQ(falses.load(), 1);
  EXPECT_EQ(w.waiting(), 1u);
  w.applied(10);  // too late for the first, in time for the second
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(later_calls.load(), 1);
}

// Found by tests/fuzz http (ASan, heap-use-after-free): the timer waited on the deadline of its
// earliest entry by reference, and applied() freed that entry while the timer slept. Here the
// timer is left waiting on a far deadline whose entry applied() then removes; a later, near
// deadline must still be kept (and, under ASan, nothing freed may be read).
TEST(apply_waiters, given_the_entry_the_timer_waits_on_applied_then_later_deadlines_still_fire) {
  apply_waiters w;
  std::atomic<int> applied_calls{0};
  for (std::uint64_t seq = 1; seq <= 50; ++seq) {
    w.add(
        seq, clock::now() + 1h, [] { return std::uint64_t{0}; },
        [&](bool applied) {
          if (applied) ++applied_calls;
        });
    w.applied(seq);
  }
  EXPECT_EQ(applied_calls.load(), 50);
  std::atomic<int> late{0};
  w.add(
      100, clock::now() + 20ms, [] { return std::uint64_t{0}; },
      [&](bool applied) {
        if (!applied) ++late;
      });
  EXPECT_TRUE(eventually([&] { return late.load() == 1; }));
  EXPECT_EQ(w.waiting(), 0u);
}

TEST(apply_waiters, given_waiters_left_at_destruction_then_none_is_called) {
  std::atomic<int> calls{0};
  {
    apply_waiters w;
    w.add(
        5, clock::now() + 10s, [] { return std::uint64_t{0}; }, [&](bool) { ++calls; });
  }
  EXPECT_EQ(calls.load(), 0);
}

TEST(apply_waiters, given_many_adders_and_one_applier_then_each_is_called_exactly_once) {
  apply_waiters w;
  std::atomic<std::uint64_t> applied{0};
  constexpr int adders = 4;
  constexpr int each = 500;
  std::vector<std::atomic<int>> calls(adders * each);
  std::atomic<int> falses{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < adders; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        const auto seq = static_cast<std::uint64_t>(i + 1);
        w.add(
            seq, clock::now() + 10s, [&] { return applied.load(); },
            [&, slot = t * each + i](bool ok) {
              ++calls[static_cast<std::size_t>(slot)];
              if (!ok) ++falses;
            });
      }
    });
  }
  std::thread applier([&] {
    for (std::uint64_t s = 1; s <= each; ++s) {
      applied.store(s);
      w.applied(s);
    }
  });
  for (auto& t : threads) t.join();
  applier.join();
  for (const auto& c : calls) EXPECT_EQ(c.load(), 1);
  EXPECT_EQ(falses.load(), 0);
  EXPECT_EQ(w.waiting(), 0u);
}

}  // namespace
}  // namespace keyledger::services
