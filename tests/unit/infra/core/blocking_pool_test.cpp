#include "infra/core/blocking_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "stderr_capture.hpp"

namespace keyledger::infra {
namespace {

using namespace std::chrono_literals;

constexpr auto deadline = 10s;

/// A gate jobs wait at until the test opens it. Shared, so a job never outlives it.
class gate {
 public:
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

/// Opens the gate when the test leaves scope, even on a failed assertion, so that the pool's
/// stop() (which drains) can never hang on a closed gate. Declare it after the pool.
struct gate_opener {
  std::shared_ptr<gate> g;
  ~gate_opener() { g->open(); }
};

/// A job that reports it started, then blocks at the gate.
blocking_pool::job blocker(const std::shared_ptr<gate>& g, std::promise<void>& started) {
  return [g, &started](std::size_t) {
    started.set_value();
    g->wait();
  };
}

TEST(blocking_pool, given_busy_workers_and_a_full_queue_when_submitting_then_refused) {
  // Given one worker held at a gate, and room for two queued jobs
  auto g = std::make_shared<gate>();
  std::atomic<int> ran{0};
  blocking_pool pool(1, 2);
  gate_opener opener{g};
  std::promise<void> started;
  ASSERT_TRUE(pool.try_submit(blocker(g, started)));
  ASSERT_EQ(started.get_future().wait_for(deadline), std::future_status::ready);
  // When two jobs fill the queue, then a third is refused
  EXPECT_TRUE(pool.try_submit([&](std::size_t) { ++ran; }));
  EXPECT_TRUE(pool.try_submit([&](std::size_t) { ++ran; }));
  EXPECT_FALSE(pool.try_submit([&](std::size_t) { ran += 100; }));
  // And once the gate opens and the pool stops, exactly the accepted ones ran
  g->open();
  pool.stop();
  EXPECT_EQ(ran.load(), 2);
}

TEST(blocking_pool, given_a_refused_job_when_the_queue_drains_then_accepted_again) {
  auto g = std::make_shared<gate>();
  blocking_pool pool(1, 1);
  gate_opener opener{g};
  std::promise<void> started;
  ASSERT_TRUE(pool.try_submit(blocker(g, started)));
  ASSERT_EQ(started.get_future().wait_for(deadline), std::future_status::ready);
  std::promise<void> first_done;
  ASSERT_TRUE(pool.try_submit([&](std::size_t) { first_done.set_value(); }));
  EXPECT_FALSE(pool.try_submit([](std::size_t) {}));
  // When the worker is released and has taken the queued job
  g->open();
  ASSERT_EQ(first_done.get_future().wait_for(deadline), std::future_status::ready);
  // Then there is room again
  std::promise<void> second_done;
  EXPECT_TRUE(pool.try_submit([&](std::size_t) { second_done.set_value(); }));
  EXPECT_EQ(second_done.get_future().wait_for(deadline), std::future_status::ready);
}

TEST(blocking_pool, given_queued_jobs_when_stopped_then_all_run_before_stop_returns) {
  // Given two workers held at a gate and many queued jobs
  auto g = std::make_shared<gate>();
  std::atomic<int> ran{0};
  // (a capacity far above what is submitted, so a refusal below can only mean "stopping")
  constexpr int capacity = 100000;
  blocking_pool pool(2, capacity);
  gate_opener opener{g};
  std::promise<void> started_a;
  std::promise<void> started_b;
  ASSERT_TRUE(pool.try_submit(blocker(g, started_a)));
  ASSERT_TRUE(pool.try_submit(blocker(g, started_b)));
  ASSERT_EQ(started_a.get_future().wait_for(deadline), std::future_status::ready);
  ASSERT_EQ(started_b.get_future().wait_for(deadline), std::future_status::ready);
  int submitted = 0;
  for (int i = 0; i < 50; ++i) submitted += pool.try_submit([&](std::size_t) { ++ran; }) ? 1 : 0;
  ASSERT_EQ(submitted, 50);

  // When stop() begins while they are still queued
  std::thread stopper([&] { pool.stop(); });
  const auto until = std::chrono::steady_clock::now() + deadline;
  bool timed_out = false;
  while (pool.try_submit([&](std::size_t) { ++ran; })) {
    ++submitted;  // accepted before stop() took effect: must run too
    if (std::chrono::steady_clock::now() > until || submitted >= capacity) {
      timed_out = true;
      break;
    }
    std::this_thread::yield();
  }
  const int ran_while_closed = ran.load();
  g->open();
  stopper.join();
  EXPECT_FALSE(timed_out) << "stop() never refused new work";
  EXPECT_EQ(ran_while_closed, 0);

  // Then every accepted job ran, and nothing more is accepted
  EXPECT_EQ(ran.load(), submitted);
  EXPECT_FALSE(pool.try_submit([](std::size_t) {}));
}

TEST(blocking_pool, given_a_stopped_pool_when_stopped_again_or_destroyed_then_nothing_happens) {
  std::atomic<int> ran{0};
  {
    blocking_pool pool(2, 8);
    EXPECT_TRUE(pool.try_submit([&](std::size_t) { ++ran; }));
    pool.stop();
    pool.stop();
    EXPECT_EQ(ran.load(), 1);
    EXPECT_EQ(pool.size(), 2u);
  }
  EXPECT_EQ(ran.load(), 1);
}

TEST(blocking_pool, given_queued_jobs_when_destroyed_then_they_run_first) {
  std::atomic<int> ran{0};
  {
    blocking_pool pool(1, 16);
    for (int i = 0; i < 16; ++i) ASSERT_TRUE(pool.try_submit([&](std::size_t) { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 16);
}

TEST(blocking_pool, given_jobs_that_throw_then_the_worker_survives_and_logs_no_text) {
  // Given a single worker and stderr captured
  testing::stderr_capture capture;
  std::promise<std::size_t> after;
  {
    blocking_pool pool(1, 8);
    // When jobs throw a std::exception (holding something secret-looking) and a non-exception
    ASSERT_TRUE(pool.try_submit(
        [](std::size_t) { throw std::runtime_error("kl_live_SECRETSECRETSECRET"); }));
    ASSERT_TRUE(pool.try_submit([](std::size_t) { throw 42; }));
    ASSERT_TRUE(pool.try_submit([&](std::size_t worker) { after.set_value(worker); }));
    // Then the same (only) worker still runs the next job
    auto f = after.get_future();
    ASSERT_EQ(f.wait_for(deadline), std::future_status::ready);
    EXPECT_EQ(f.get(), 0u);
  }
  capture.restore();
  // And each throw was logged at error level without the exception's text
  const std::string text = capture.text();
  std::size_t lines = 0;
  for (std::size_t at = 0;
       (at = text.find("\"event\":\"blocking_pool_job_threw\"", at)) != std::string::npos; ++at) {
    ++lines;
  }
  EXPECT_EQ(lines, 2u) << text;
  EXPECT_NE(text.find("\"level\":\"error\""), std::string::npos) << text;
  EXPECT_NE(text.find("job threw"), std::string::npos) << text;
  EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
}

TEST(blocking_pool, given_jobs_then_each_gets_a_worker_index_below_size) {
  blocking_pool pool(3, 64);
  EXPECT_EQ(pool.size(), 3u);
  std::atomic<int> bad{0};
  std::atomic<int> ran{0};
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(pool.try_submit([&](std::size_t worker) {
      if (worker >= 3) ++bad;
      ++ran;
    }));
  }
  pool.stop();
  EXPECT_EQ(ran.load(), 60);
  EXPECT_EQ(bad.load(), 0);
}

TEST(blocking_pool, given_many_concurrent_submitters_then_every_accepted_job_runs_once) {
  std::atomic<int> ran{0};
  std::atomic<int> accepted{0};
  blocking_pool pool(2, 16);
  std::vector<std::thread> submitters;
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (pool.try_submit([&](std::size_t) { ++ran; })) ++accepted;
      }
    });
  }
  for (auto& s : submitters) s.join();
  pool.stop();
  EXPECT_GT(accepted.load(), 0);
  EXPECT_EQ(ran.load(), accepted.load());
}

TEST(blocking_pool, given_an_empty_job_then_refused) {
  blocking_pool pool(1, 4);
  EXPECT_FALSE(pool.try_submit(blocking_pool::job{}));
}

TEST(blocking_pool, given_zero_threads_or_zero_capacity_then_construction_fails) {
  EXPECT_THROW(blocking_pool(0, 4), std::invalid_argument);
  EXPECT_THROW(blocking_pool(1, 0), std::invalid_argument);
}

}  // namespace
}  // namespace keyledger::infra
