#include "services/app/expiry_job.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "services/app/key_service.hpp"
#include "services/projections/active_key_view.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/memory_event_store.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;

const domain::timestamp t0 = domain::timestamp(std::chrono::seconds(1'800'000'000));
/// Stands in for one node's connection to the shared log: forwards to the shared fake and lets
/// a test wait (with a deadline) for appends instead of sleeping.
class watched_store final : public infra::event_store {
 public:
  struct shared {
    test_support::memory_event_store log;
    std::mutex mutex;
    std::condition_variable appended;
    std::size_t calls = 0;

    template <class F>
    bool wait_for(F done, std::chrono::milliseconds timeout = 10s) {
      std::unique_lock lock(mutex);
      return appended.wait_for(lock, timeout, [&] { return done(); });
    }
  };
  explicit watched_store(shared& s) : s_(s) {}

  infra::append_result append(std::string_view stream_id, std::uint64_t expected_version,
                              const std::vector<infra::new_event>& events,
                              const infra::event_metadata& metadata,
                              std::int64_t recorded_at_us) override {
    struct notify_on_exit {
      shared& s;
      ~notify_on_exit() {
        {
          std::lock_guard lock(s.mutex);
          ++s.calls;
        }
        s.appended.notify_all();
      }
    } notify{s_};
    return s_.log.append(stream_id, expected_version, events, metadata, recorded_at_us);
  }
  std::vector<infra::append_result> append_all(std::span<const infra::stream_append> items,
                                               const infra::event_metadata& metadata,
                                               std::int64_t recorded_at_us) override {
    return s_.log.append_all(items, metadata, recorded_at_us);
  }
  std::vector<infra::recorded_event> read_stream(std::string_view stream_id) override {
    return s_.log.read_stream(stream_id);
  }
  std::vector<infra::recorded_event> read_all(std::uint64_t after_seq, std::size_t limit) override {
    return s_.log.read_all(after_seq, limit);
  }
  std::vector<infra::recorded_event> read_streams_until(std::span<const std::string> ids,
                                                        std::int64_t until_us) override {
    return s_.log.read_streams_until(ids, until_us);
  }
  std::uint64_t head_seq() override { return s_.log.head_seq(); }

 private:
  shared& s_;
};

class expiry_job_test : public ::testing::Test {
 protected:
  expiry_job_test() { clock_.set(t0); }

  /// Creates a key expiring at t0 + `days` (through key_service, as the API does) and returns
  /// its id.
  std::string create_key(std::int64_t days) {
    create_key_input in;
    in.workspace_id = "ws_1";
    in.key_prefix = "qg";
    in.settings.name = "key" + std::to_string(++made_);
    in.env = domain::environment::live;
    in.expiry.expires_in_days = days;
    auto created = keys_.create(shared_.log, in, request_context{"test", "req_1", "", ""});
    EXPECT_TRUE(created.ok());
    return created.ok() ? created->state.key_id : std::string();
  }

  /// Brings a view up to the log, as the subscription does.
  void feed(active_key_view& view) {
    for (const auto& e : shared_.log.read_all(view.applied_seq(), 10'000)) view.apply(e);
  }

  std::size_t count(std::string_view type, std::string_view key_id = {}) {
    const auto all = shared_.log.events();
    return std::count_if(all.begin(), all.end(), [&](const auto& e) {
      return e.type == type && (key_id.empty() || e.stream_id == domain::key_stream_id(key_id));
    });
  }

  expiry_job::options opts(std::chrono::milliseconds interval = std::chrono::hours(1)) {
    expiry_job::options o;
    o.interval = interval;
    o.clock = &clock_;
    return o;
  }
  std::function<std::unique_ptr<infra::event_store>()> factory() {
    return [this] { return std::make_unique<watched_store>(shared_); };
  }

  test_support::manual_clock clock_;
  infra::hmac_key_hasher hasher_{infra::secret(std::string(32, 's'))};
  infra::openssl_random_source random_;
  key_service keys_{hasher_, random_, clock_};
  watched_store::shared shared_;
  active_key_view view_;
  int made_ = 0;
};

TEST_F(expiry_job_test, given_an_expired_key_then_key_expired_is_appended_once) {
  const auto id = create_key(30);
  const auto other = create_key(300);
  feed(view_);
  expiry_job job(view_, keys_, factory(), opts());

  clock_.set(t0 + std::chrono::days(30));
  EXPECT_EQ(job.run_once(shared_.log), 1u);
  EXPECT_EQ(count("KeyExpired", id), 1u);
  EXPECT_EQ(count("KeyExpired", other), 0u);

  // The view has not seen the event yet: the job asks again, and nothing more is appended.
  EXPECT_EQ(job.run_once(shared_.log), 0u);
  feed(view_);
  EXPECT_TRUE(view_.find_by_id(id)->expiry_recorded());
  EXPECT_EQ(job.run_once(shared_.log), 0u);
  EXPECT_EQ(count("KeyExpired"), 1u);
}

TEST_F(expiry_job_test, given_a_key_expiring_within_14_days_then_a_warning_is_appended_once) {
  const auto id = create_key(20);
  feed(view_);
  expiry_job job(view_, keys_, factory(), opts());

  clock_.set(t0 + std::chrono::days(5));  // 15 days left
  EXPECT_EQ(job.run_once(shared_.log), 0u);
  clock_.set(t0 + std::chrono::days(6));  // exactly 14 days left
  EXPECT_EQ(job.run_once(shared_.log), 1u);
  EXPECT_EQ(job.run_once(shared_.log), 0u);
  feed(view_);
  EXPECT_EQ(job.run_once(shared_.log), 0u);
  EXPECT_EQ(count("KeyExpiryApproaching", id), 1u);
  EXPECT_EQ(count("KeyExpired", id), 0u);

  clock_.set(t0 + std::chrono::days(20));
  EXPECT_EQ(job.run_once(shared_.log), 1u);
  EXPECT_EQ(count("KeyExpired", id), 1u);
}

TEST_F(expiry_job_test, given_a_warned_key_then_the_last_warning_comes_one_day_before_once) {
  const auto id = create_key(20);
  feed(view_);
  expiry_job job(view_, keys_, factory(), opts());
  active_key_view other_view;
  feed(other_view);
  expiry_job other(other_view, keys_, factory(), opts());

  clock_.set(t0 + std::chrono::days(10));  // 10 days left: the 14-day warning
  EXPECT_EQ(job.run_once(shared_.log), 1u);
  feed(view_);
  feed(other_view);
  clock_.set(t0 + std::chrono::days(18));  // 2 days left: nothing new
  EXPECT_EQ(job.run_once(shared_.log), 0u);
  clock_.set(t0 + std::chrono::days(19));  // exactly 1 day left: the last warning
  // Two nodes racing on it: the derived event id keeps one.
  EXPECT_EQ(job.run_once(shared_.log) + other.run_once(shared_.log), 1u);
  feed(view_);
  EXPECT_EQ(job.run_once(shared_.log), 0u);
  EXPECT_EQ(count("KeyExpiryApproaching", id), 2u);

  std::vector<std::string> payloads;
  for (const auto& e : shared_.log.read_stream(domain::key_stream_id(id))) {
    if (e.type == "KeyExpiryApproaching") payloads.push_back(e.payload);
  }
  ASSERT_EQ(payloads.size(), 2u);
  EXPECT_NE(payloads[0].find(R"("days_before":14)"), std::string::npos) << payloads[0];
  EXPECT_NE(payloads[1].find(R"("days_before":1})"), std::string::npos) << payloads[1];
}

TEST_F(expiry_job_test, given_two_nodes_racing_then_each_event_is_appended_once) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(create_key(1 + i % 3));
  active_key_view other_view;
  feed(view_);
  feed(other_view);
  expiry_job a(view_, keys_, factory(), opts());
  expiry_job b(other_view, keys_, factory(), opts());
  clock_.set(t0 + std::chrono::days(3));

  std::atomic<std::size_t> appended{0};
  std::thread ta([&] {
    watched_store store(shared_);
    appended += a.run_once(store);
  });
  std::thread tb([&] {
    watched_store store(shared_);
    appended += b.run_once(store);
  });
  ta.join();
  tb.join();

  EXPECT_EQ(appended.load(), ids.size());
  for (const auto& id : ids) EXPECT_EQ(count("KeyExpired", id), 1u) << id;
  EXPECT_EQ(count("KeyExpired"), ids.size());
}

TEST_F(expiry_job_test, given_a_storage_error_on_one_key_then_the_pass_goes_on) {
  const auto first = create_key(1);
  const auto second = create_key(2);
  feed(view_);
  expiry_job job(view_, keys_, factory(), opts());
  clock_.set(t0 + std::chrono::days(2));

  shared_.log.fail_next_append(infra::errc::unavailable);
  EXPECT_EQ(job.run_once(shared_.log), 1u);  // soonest first: `first` failed, `second` went on
  EXPECT_EQ(count("KeyExpired", first), 0u);
  EXPECT_EQ(count("KeyExpired", second), 1u);

  EXPECT_EQ(job.run_once(shared_.log), 1u);  // the next pass picks up the one that failed
  EXPECT_EQ(count("KeyExpired", first), 1u);
}

TEST_F(expiry_job_test, given_a_started_job_then_it_runs_every_interval_and_stops_at_once) {
  const auto first = create_key(1);
  const auto second = create_key(5);
  feed(view_);
  clock_.set(t0 + std::chrono::days(1));
  expiry_job job(view_, keys_, factory(), opts(std::chrono::milliseconds(5)));
  job.start();
  EXPECT_TRUE(shared_.wait_for([&] { return count("KeyExpired", first) == 1; }));

  clock_.set(t0 + std::chrono::days(5));
  EXPECT_TRUE(shared_.wait_for([&] { return count("KeyExpired", second) == 1; }));
  job.stop();
  job.stop();  // idempotent
  EXPECT_EQ(count("KeyExpired"), 2u);
}

TEST_F(expiry_job_test, given_a_long_interval_then_stop_wakes_the_thread_without_waiting) {
  const auto id = create_key(1);
  feed(view_);
  clock_.set(t0 + std::chrono::days(1));
  auto job = std::make_unique<expiry_job>(view_, keys_, factory(), opts(std::chrono::hours(1)));
  job->start();
  // The first pass runs at start.
  EXPECT_TRUE(shared_.wait_for([&] { return count("KeyExpired", id) == 1; }));

  const auto started = std::chrono::steady_clock::now();
  job->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  job.reset();  // the destructor after stop() is harmless
}

TEST_F(expiry_job_test, given_a_store_that_cannot_be_opened_then_the_job_retries_next_interval) {
  const auto id = create_key(1);
  feed(view_);
  clock_.set(t0 + std::chrono::days(1));
  std::atomic<int> opened{0};
  expiry_job job(
      view_, keys_,
      [&]() -> std::unique_ptr<infra::event_store> {
        if (++opened == 1) throw infra::error(infra::errc::unavailable, "connect refused");
        return std::make_unique<watched_store>(shared_);
      },
      opts(std::chrono::milliseconds(5)));
  job.start();
  EXPECT_TRUE(shared_.wait_for([&] { return count("KeyExpired", id) == 1; }));
  job.stop();
  EXPECT_GE(opened.load(), 2);
}

}  // namespace
}  // namespace keyledger::services
