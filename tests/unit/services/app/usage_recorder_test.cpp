#include "services/app/usage_recorder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "infra/core/error.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;

/// What the fake store saw, shared between the test and the stores the factory opens.
struct telemetry_log {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::vector<infra::key_use>> use_writes;
  std::vector<std::vector<infra::auth_failure_count>> failure_writes;
  int fail_next = 0;  // writes still to refuse
  int opened = 0;

  /// Uses written: the sum of the counts.
  std::size_t uses_written() {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (const auto& w : use_writes) {
      for (const auto& u : w) n += u.count;
    }
    return n;
  }
  /// Waits (with a deadline, no sleeping) until `done` holds.
  template <class F>
  bool wait_for(F done, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return done(); });
  }
};

class fake_telemetry_store final : public infra::telemetry_store {
 public:
  explicit fake_telemetry_store(std::shared_ptr<telemetry_log> log) : log_(std::move(log)) {}

  void write(std::span<const infra::key_use> uses,
             std::span<const infra::auth_failure_count> failures) override {
    std::lock_guard lock(log_->mutex);
    if (log_->fail_next > 0) {
      --log_->fail_next;
      log_->changed.notify_all();
      throw infra::error(infra::errc::unavailable, "database away");
    }
    log_->use_writes.emplace_back(uses.begin(), uses.end());
    log_->failure_writes.emplace_back(failures.begin(), failures.end());
    log_->changed.notify_all();
  }
  std::vector<infra::last_use> last_uses(std::span<const std::string>) override { return {}; }
  std::vector<infra::request_log_entry> request_log(
      std::string_view, std::optional<std::pair<std::int64_t, std::int64_t>>,
      std::size_t) override {
    return {};
  }
  std::vector<infra::auth_failure_count> auth_failures(std::string_view, std::int64_t,
                                                       std::size_t) override {
    return {};
  }
  std::size_t purge_request_log(std::int64_t) override { return 0; }
  std::size_t purge_auth_failures(std::int64_t) override { return 0; }

 private:
  std::shared_ptr<telemetry_log> log_;
};

std::function<std::unique_ptr<infra::telemetry_store>()> factory_for(
    std::shared_ptr<telemetry_log> log) {
  return [log]() -> std::unique_ptr<infra::telemetry_store> {
    {
      std::lock_guard lock(log->mutex);
      ++log->opened;
    }
    return std::make_unique<fake_telemetry_store>(log);
  };
}

constexpr std::int64_t sec = 1'000'000;  // microseconds

infra::key_use use_of(std::string key_id, std::int64_t at_us, std::string code = "VALID",
                      bool log_request = true, std::string ip = "192.0.2.7") {
  return infra::key_use{std::move(key_id), "ws_1",          at_us,
                        std::move(ip),     std::move(code), log_request};
}

usage_recorder::options manual(std::size_t max_buffered = 1000) {
  // An interval no test waits for: flushes in these tests are explicit.
  return usage_recorder::options{std::chrono::hours(1), max_buffered};
}

TEST(usage_recorder, given_uses_and_failures_when_flushed_then_the_store_gets_them_aggregated) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual());

  recorder.record_use(use_of("key_a", 10));
  recorder.record_use(use_of("key_b", 11, "REVOKED", false));
  recorder.record_failure("ws_1", "198.51.100.1", "NOT_FOUND", 30);
  recorder.record_failure("ws_1", "198.51.100.1", "NOT_FOUND", 20);
  recorder.record_failure("ws_1", "198.51.100.1", "NOT_FOUND", 40);
  recorder.record_failure("", "198.51.100.1", "MALFORMED", 50);
  recorder.flush(store);

  ASSERT_EQ(log->use_writes.size(), 1u);
  ASSERT_EQ(log->use_writes[0].size(), 2u);
  EXPECT_EQ(log->use_writes[0][0].key_id, "key_a");
  EXPECT_EQ(log->use_writes[0][0].code, "VALID");
  EXPECT_TRUE(log->use_writes[0][0].log_request);
  EXPECT_EQ(log->use_writes[0][1].key_id, "key_b");
  EXPECT_EQ(log->use_writes[0][1].code, "REVOKED");
  EXPECT_FALSE(log->use_writes[0][1].log_request);
  EXPECT_EQ(log->use_writes[0][1].ip, "192.0.2.7");

  const auto& failures = log->failure_writes[0];
  ASSERT_EQ(failures.size(), 2u);
  auto not_found = std::find_if(failures.begin(), failures.end(),
                                [](const auto& f) { return f.code == "NOT_FOUND"; });
  ASSERT_NE(not_found, failures.end());
  EXPECT_EQ(not_found->workspace_id, "ws_1");
  EXPECT_EQ(not_found->source_ip, "198.51.100.1");
  EXPECT_EQ(not_found->count, 3u);
  EXPECT_EQ(not_found->first_at_us, 20);
  EXPECT_EQ(not_found->last_at_us, 40);
  EXPECT_EQ(recorder.written(), 2u);
  EXPECT_EQ(recorder.dropped(), 0u);

  // Nothing buffered: a flush writes nothing at all.
  recorder.flush(store);
  EXPECT_EQ(log->use_writes.size(), 1u);
}

TEST(usage_recorder, given_a_full_buffer_then_further_records_are_dropped_and_counted) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual(3));

  // One second apart: three buckets.
  recorder.record_use(use_of("key_a", 1 * sec));
  recorder.record_use(use_of("key_a", 2 * sec));
  recorder.record_failure("ws_1", "198.51.100.1", "NOT_FOUND", 3);
  recorder.record_use(use_of("key_a", 4 * sec));                    // new bucket: dropped
  recorder.record_failure("ws_1", "198.51.100.2", "NOT_FOUND", 5);  // new row: dropped
  recorder.record_failure("ws_1", "198.51.100.1", "NOT_FOUND", 6);  // existing row: counted
  EXPECT_EQ(recorder.dropped(), 2u);

  recorder.flush(store);
  EXPECT_EQ(log->use_writes[0].size(), 2u);
  ASSERT_EQ(log->failure_writes[0].size(), 1u);
  EXPECT_EQ(log->failure_writes[0][0].count, 2u);

  // Room again after the flush.
  recorder.record_use(use_of("key_a", 7 * sec));
  EXPECT_EQ(recorder.dropped(), 2u);
}

TEST(usage_recorder, given_a_failed_write_then_the_batch_is_retried_once_with_the_next_flush) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual());
  recorder.record_use(use_of("key_a", 1));
  recorder.record_failure("ws_1", "198.51.100.1", "NOT_FOUND", 2);

  log->fail_next = 1;
  EXPECT_THROW(recorder.flush(store), infra::error);
  EXPECT_EQ(recorder.written(), 0u);
  EXPECT_EQ(recorder.dropped(), 0u);

  recorder.record_use(use_of("key_b", 3));
  recorder.record_failure("ws_1", "198.51.100.1", "NOT_FOUND", 4);
  recorder.flush(store);

  ASSERT_EQ(log->use_writes.size(), 1u);
  ASSERT_EQ(log->use_writes[0].size(), 2u);
  EXPECT_EQ(log->use_writes[0][0].key_id, "key_a");  // the older batch first
  EXPECT_EQ(log->use_writes[0][1].key_id, "key_b");
  // The kept failure row and the new one for the same (workspace, ip, code) are one row.
  ASSERT_EQ(log->failure_writes[0].size(), 1u);
  EXPECT_EQ(log->failure_writes[0][0].count, 2u);
  EXPECT_EQ(log->failure_writes[0][0].first_at_us, 2);
  EXPECT_EQ(log->failure_writes[0][0].last_at_us, 4);
  EXPECT_EQ(recorder.written(), 2u);
  EXPECT_EQ(recorder.dropped(), 0u);
}

TEST(usage_recorder, given_a_batch_that_fails_twice_then_it_is_dropped_and_counted) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual());
  recorder.record_use(use_of("key_a", 1));
  recorder.record_use(use_of("key_a", 5));  // folded: one entry, two uses
  recorder.record_failure("ws_1", "198.51.100.1", "NOT_FOUND", 2);

  log->fail_next = 2;
  EXPECT_THROW(recorder.flush(store), infra::error);
  recorder.record_use(use_of("key_b", 3));
  EXPECT_THROW(recorder.flush(store), infra::error);
  // key_a's two uses and the failure row had their retry: given up. key_b's gets one more try.
  EXPECT_EQ(recorder.dropped(), 3u);

  recorder.flush(store);
  ASSERT_EQ(log->use_writes.size(), 1u);
  ASSERT_EQ(log->use_writes[0].size(), 1u);
  EXPECT_EQ(log->use_writes[0][0].key_id, "key_b");
  EXPECT_TRUE(log->failure_writes[0].empty());
  EXPECT_EQ(recorder.written(), 1u);
}

TEST(usage_recorder, given_uses_by_reference_then_the_strings_are_owned_once_per_bucket) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual());
  for (int i = 0; i < 3; ++i) {
    // The viewed strings die after each call: the buffered entry must own copies.
    std::string key_id = "key_by_ref";
    std::string workspace = "ws_by_ref";
    std::string ip = "203.0.113." + std::to_string(i < 2 ? 1 : 2);
    recorder.record_use(usage_recorder::use_ref{key_id, workspace, ip, "VALID", 10 + i, true});
  }
  recorder.flush(store);
  ASSERT_EQ(log->use_writes.size(), 1u);
  auto uses = log->use_writes[0];
  ASSERT_EQ(uses.size(), 2u);
  std::sort(uses.begin(), uses.end(), [](const auto& a, const auto& b) { return a.ip < b.ip; });
  EXPECT_EQ(uses[0].key_id, "key_by_ref");
  EXPECT_EQ(uses[0].workspace_id, "ws_by_ref");
  EXPECT_EQ(uses[0].ip, "203.0.113.1");
  EXPECT_EQ(uses[0].count, 2u);
  EXPECT_EQ(uses[0].at_us, 11);
  EXPECT_EQ(uses[1].ip, "203.0.113.2");
  EXPECT_EQ(uses[1].count, 1u);
  EXPECT_EQ(recorder.written(), 3u);
}

TEST(usage_recorder, given_a_started_recorder_then_it_flushes_in_the_background) {
  auto log = std::make_shared<telemetry_log>();
  usage_recorder recorder(factory_for(log), {std::chrono::milliseconds(5), 1000});
  recorder.start();
  recorder.record_use(use_of("key_a", 1));

  EXPECT_TRUE(log->wait_for([&] { return !log->use_writes.empty(); }));
  recorder.stop();
  EXPECT_EQ(log->uses_written(), 1u);
  EXPECT_EQ(recorder.written(), 1u);
}

TEST(usage_recorder, given_a_half_full_buffer_then_the_thread_flushes_before_its_interval) {
  auto log = std::make_shared<telemetry_log>();
  usage_recorder recorder(factory_for(log), manual(4));
  recorder.start();
  recorder.record_use(use_of("key_a", 1 * sec));
  recorder.record_use(use_of("key_a", 2 * sec));  // another second: the second bucket

  EXPECT_TRUE(log->wait_for([&] { return !log->use_writes.empty(); }));
  recorder.stop();
}

TEST(usage_recorder, given_buffered_records_when_stopped_then_they_are_flushed_at_once) {
  auto log = std::make_shared<telemetry_log>();
  auto recorder = std::make_unique<usage_recorder>(factory_for(log), manual());
  recorder->start();
  recorder->record_use(use_of("key_a", 1));
  recorder->record_failure("ws_1", "198.51.100.1", "NOT_FOUND", 2);

  const auto started = std::chrono::steady_clock::now();
  recorder->stop();
  // The thread waits an hour between flushes; stop() must wake it, not wait for it.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(log->uses_written(), 1u);
  EXPECT_EQ(log->failure_writes.at(0).size(), 1u);

  recorder->stop();  // idempotent
  recorder.reset();  // and the destructor stops again harmlessly
  EXPECT_EQ(log->use_writes.size(), 1u);
}

TEST(usage_recorder, given_a_failing_store_when_stopped_then_one_retry_then_the_rest_is_dropped) {
  auto log = std::make_shared<telemetry_log>();
  usage_recorder recorder(factory_for(log), manual());
  recorder.start();
  recorder.record_use(use_of("key_a", 1));
  {
    std::lock_guard lock(log->mutex);
    log->fail_next = 5;
  }
  recorder.stop();
  EXPECT_EQ(log->uses_written(), 0u);
  EXPECT_EQ(recorder.dropped(), 1u);
  EXPECT_EQ(log->fail_next, 3);  // two tries, no more
}

TEST(usage_recorder, given_a_store_that_cannot_open_at_first_then_records_wait_for_it) {
  auto log = std::make_shared<telemetry_log>();
  int calls = 0;
  std::mutex calls_mutex;
  usage_recorder recorder(
      [&]() -> std::unique_ptr<infra::telemetry_store> {
        std::lock_guard lock(calls_mutex);
        if (++calls == 1) throw infra::error(infra::errc::unavailable, "connect refused");
        return std::make_unique<fake_telemetry_store>(log);
      },
      {std::chrono::milliseconds(5), 1000});
  recorder.start();
  recorder.record_use(use_of("key_a", 1));

  EXPECT_TRUE(log->wait_for([&] { return !log->use_writes.empty(); }));
  recorder.stop();
  EXPECT_EQ(recorder.written(), 1u);
  EXPECT_EQ(recorder.dropped(), 0u);
}

TEST(usage_recorder, given_a_recorder_never_started_when_stopped_then_it_still_flushes) {
  auto log = std::make_shared<telemetry_log>();
  usage_recorder recorder(factory_for(log), manual());
  recorder.record_use(use_of("key_a", 1));
  recorder.stop();
  EXPECT_EQ(log->uses_written(), 1u);
}

TEST(usage_recorder, given_uses_of_one_bucket_within_a_second_then_they_are_written_as_one) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual());

  // Five uses within second 7, out of order: one entry, the latest instant, count 5.
  for (const std::int64_t at :
       {7 * sec + 300, 7 * sec, 7 * sec + 999'999, 7 * sec + 5, 7 * sec + 42}) {
    recorder.record_use(use_of("key_a", at));
  }
  recorder.flush(store);

  ASSERT_EQ(log->use_writes.size(), 1u);
  ASSERT_EQ(log->use_writes[0].size(), 1u);
  const auto& u = log->use_writes[0][0];
  EXPECT_EQ(u.key_id, "key_a");
  EXPECT_EQ(u.workspace_id, "ws_1");
  EXPECT_EQ(u.ip, "192.0.2.7");
  EXPECT_EQ(u.code, "VALID");
  EXPECT_TRUE(u.log_request);
  EXPECT_EQ(u.at_us, 7 * sec + 999'999);
  EXPECT_EQ(u.count, 5u);
  EXPECT_EQ(recorder.written(), 5u);  // uses, not entries
  EXPECT_EQ(recorder.dropped(), 0u);
}

TEST(usage_recorder, given_uses_differing_in_any_part_of_the_bucket_then_they_stay_apart) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual());

  const std::vector<infra::key_use> distinct{
      use_of("key_a", 3 * sec),
      use_of("key_a", 3 * sec - 1),  // the second before
      use_of("key_a", 4 * sec),      // the second after
      use_of("key_a", 3 * sec, "VALID", true, "192.0.2.8"),
      use_of("key_a", 3 * sec, "VALID", true, ""),
      use_of("key_a", 3 * sec, "REVOKED"),
      use_of("key_a", 3 * sec, "VALID", false),  // off the record: kept apart from the logged
      use_of("key_b", 3 * sec),
      use_of("key_a", -1),  // before the epoch: second -1, not second 0
      use_of("key_a", 0),
  };
  // Twice each, the second round a little later in the same second: every use finds its own.
  for (const auto& u : distinct) recorder.record_use(u);
  for (auto u : distinct) {
    if (u.at_us % sec != sec - 1 && u.at_us != -1) u.at_us += 10;
    recorder.record_use(u);
  }
  recorder.flush(store);

  ASSERT_EQ(log->use_writes.size(), 1u);
  const auto& written = log->use_writes[0];
  ASSERT_EQ(written.size(), distinct.size());
  for (std::size_t i = 0; i < distinct.size(); ++i) {
    const auto& want = distinct[i];
    const auto& got = written[i];  // in order of first use
    EXPECT_EQ(got.key_id, want.key_id) << i;
    EXPECT_EQ(got.ip, want.ip) << i;
    EXPECT_EQ(got.code, want.code) << i;
    EXPECT_EQ(got.log_request, want.log_request) << i;
    EXPECT_EQ(got.count, 2u) << i;
    EXPECT_EQ(got.at_us / sec, want.at_us / sec) << i;
  }
  EXPECT_EQ(recorder.written(), 2 * distinct.size());
}

TEST(usage_recorder, given_a_full_buffer_then_the_bound_counts_buckets_and_uses_still_fold) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual(2));

  for (int i = 0; i < 3; ++i) recorder.record_use(use_of("key_a", sec + i));
  recorder.record_use(use_of("key_b", sec));
  EXPECT_EQ(recorder.dropped(), 0u);  // four uses, two buckets: room for both

  recorder.record_use(use_of("key_c", sec));  // a third bucket: dropped
  infra::key_use three = use_of("key_d", sec);
  three.count = 3;
  recorder.record_use(three);  // dropped: three uses
  EXPECT_EQ(recorder.dropped(), 4u);
  recorder.record_use(use_of("key_a", sec + 9));  // folds: needs no room
  EXPECT_EQ(recorder.dropped(), 4u);

  recorder.flush(store);
  ASSERT_EQ(log->use_writes[0].size(), 2u);
  EXPECT_EQ(log->use_writes[0][0].key_id, "key_a");
  EXPECT_EQ(log->use_writes[0][0].count, 4u);
  EXPECT_EQ(log->use_writes[0][0].at_us, sec + 9);
  EXPECT_EQ(log->use_writes[0][1].key_id, "key_b");
  EXPECT_EQ(log->use_writes[0][1].count, 1u);
  EXPECT_EQ(recorder.written(), 5u);
}

TEST(usage_recorder, given_a_flushed_bucket_then_later_uses_start_a_new_entry) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual());

  recorder.record_use(use_of("key_a", sec + 1));
  recorder.flush(store);
  recorder.record_use(use_of("key_a", sec + 2));
  recorder.record_use(use_of("key_a", sec + 3));
  // A failed write keeps its batch apart: uses after it are not folded into the kept entry.
  log->fail_next = 1;
  EXPECT_THROW(recorder.flush(store), infra::error);
  recorder.record_use(use_of("key_a", sec + 4));
  recorder.flush(store);

  ASSERT_EQ(log->use_writes.size(), 2u);
  ASSERT_EQ(log->use_writes[0].size(), 1u);
  EXPECT_EQ(log->use_writes[0][0].count, 1u);
  ASSERT_EQ(log->use_writes[1].size(), 2u);
  EXPECT_EQ(log->use_writes[1][0].count, 2u);  // the kept entry first
  EXPECT_EQ(log->use_writes[1][0].at_us, sec + 3);
  EXPECT_EQ(log->use_writes[1][1].count, 1u);
  EXPECT_EQ(log->use_writes[1][1].at_us, sec + 4);
  EXPECT_EQ(recorder.written(), 4u);
  EXPECT_EQ(recorder.dropped(), 0u);
}

TEST(usage_recorder, given_many_buckets_then_each_use_folds_into_its_own) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual(10'000));

  // Enough buckets for the index to grow several times between the rounds.
  constexpr int buckets = 3000;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < buckets; ++i) {
      recorder.record_use(use_of("key_" + std::to_string(i % 7), 5 * sec + round, "VALID", true,
                                 "10.0." + std::to_string(i / 256) + "." + std::to_string(i)));
    }
  }
  recorder.flush(store);

  ASSERT_EQ(log->use_writes[0].size(), std::size_t(buckets));
  for (int i = 0; i < buckets; ++i) {
    const auto& u = log->use_writes[0][std::size_t(i)];
    EXPECT_EQ(u.key_id, "key_" + std::to_string(i % 7));
    EXPECT_EQ(u.ip, "10.0." + std::to_string(i / 256) + "." + std::to_string(i));
    ASSERT_EQ(u.count, 3u) << i;
    EXPECT_EQ(u.at_us, 5 * sec + 2);
  }
  EXPECT_EQ(recorder.written(), 3u * buckets);
}

TEST(usage_recorder, given_windows_that_reuse_kept_entries_then_each_writes_only_its_own) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual(10'000));

  // Window 1: many long entries. Window 2 (written into the kept elements of window 1, once
  // window 1's own buffer comes back as the spare): fewer, shorter, other values. Window 3
  // reuses window 1's storage again.
  const auto long_id = [](int i) { return "key_a_rather_long_identifier_" + std::to_string(i); };
  for (int i = 0; i < 500; ++i) {
    recorder.record_use(
        use_of(long_id(i), sec, "FORBIDDEN_IP", false, "2001:db8::" + std::to_string(i)));
  }
  recorder.flush(store);
  for (int window = 2; window <= 4; ++window) {
    for (int i = 0; i < 3; ++i) {
      recorder.record_use(use_of("k" + std::to_string(i), window * sec));
      recorder.record_use(use_of("k" + std::to_string(i), window * sec + 1));  // folds
    }
    recorder.flush(store);
  }

  ASSERT_EQ(log->use_writes.size(), 4u);
  EXPECT_EQ(log->use_writes[0].size(), 500u);
  EXPECT_EQ(log->use_writes[0][499].key_id, long_id(499));
  for (std::size_t w = 1; w < 4; ++w) {
    ASSERT_EQ(log->use_writes[w].size(), 3u) << w;
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& u = log->use_writes[w][i];
      EXPECT_EQ(u.key_id, "k" + std::to_string(i));
      EXPECT_EQ(u.workspace_id, "ws_1");
      EXPECT_EQ(u.ip, "192.0.2.7");
      EXPECT_EQ(u.code, "VALID");
      EXPECT_TRUE(u.log_request);
      EXPECT_EQ(u.count, 2u);
      EXPECT_EQ(u.at_us, std::int64_t(w + 1) * sec + 1);
    }
  }
  EXPECT_EQ(recorder.written(), 500u + 3u * 6u);
}

TEST(usage_recorder, given_a_full_count_then_further_uses_start_another_entry) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual());

  infra::key_use almost = use_of("key_a", sec);
  almost.count = std::numeric_limits<std::uint32_t>::max() - 1;
  recorder.record_use(almost);
  recorder.record_use(use_of("key_a", sec + 1));  // reaches the maximum
  recorder.record_use(use_of("key_a", sec + 2));  // would wrap: a new entry
  recorder.record_use(use_of("key_a", sec + 3));  // folds into the new one
  recorder.flush(store);

  ASSERT_EQ(log->use_writes[0].size(), 2u);
  EXPECT_EQ(log->use_writes[0][0].count, std::numeric_limits<std::uint32_t>::max());
  EXPECT_EQ(log->use_writes[0][1].count, 2u);
  EXPECT_EQ(recorder.written(), std::uint64_t{std::numeric_limits<std::uint32_t>::max()} + 2);
}

TEST(usage_recorder, given_concurrent_uses_of_one_bucket_then_none_is_lost) {
  auto log = std::make_shared<telemetry_log>();
  fake_telemetry_store store(log);
  usage_recorder recorder(nullptr, manual());

  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&recorder, t] {
      for (int i = 0; i < per_thread; ++i) {
        recorder.record_use(
            use_of("key_a", 9 * sec + i, "VALID", true, t % 2 == 0 ? "192.0.2.1" : "192.0.2.2"));
      }
    });
  }
  for (auto& w : workers) w.join();
  recorder.flush(store);

  ASSERT_EQ(log->use_writes[0].size(), 2u);  // one per IP
  for (const auto& u : log->use_writes[0]) {
    EXPECT_EQ(u.count, std::uint64_t{threads / 2 * per_thread}) << u.ip;
  }
  EXPECT_EQ(recorder.written(), std::uint64_t{threads * per_thread});
}

}  // namespace
}  // namespace keyledger::services
