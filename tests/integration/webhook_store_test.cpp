// pg_webhook_store against a real PostgreSQL: secrets written once, each (event, endpoint)
// enqueued exactly once however often and by however many writers, claims that never hand one
// row to two senders, a lease that runs out, attempts recorded against the claim only, the
// retry schedule's states, the endpoint's health, the delivery list and a manual retry.

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/pg/pg_webhook_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

using infra::errc;

const std::string endpoint = "whe_AAAAAAAAAAAAAAAAAAAAAA";
constexpr std::int64_t t0 = 1'800'000'000'000'000;  // microseconds
constexpr std::int64_t second = 1'000'000;

std::string message_id(int i) {
  std::string id = "msg_" + std::string(22, 'A');
  id[id.size() - 1] = static_cast<char>('a' + i % 26);
  id[id.size() - 2] = static_cast<char>('a' + i / 26);
  return id;
}

infra::new_delivery delivery(int i, std::int64_t due = t0) {
  infra::new_delivery d;
  d.message_id = message_id(i);
  d.event_id[0] = static_cast<std::uint8_t>(i);
  d.event_id[15] = 7;
  d.endpoint_id = endpoint;
  d.workspace_id = "ws_1";
  d.event_seq = static_cast<std::uint64_t>(i + 1);
  d.event_type = "key.created";
  d.payload = R"({"type":"key.created","n":)" + std::to_string(i) + "}";
  d.due_us = due;
  return d;
}

infra::attempt_result outcome(const infra::claimed_delivery& c, infra::attempt_outcome o,
                              std::optional<std::int64_t> next, std::int64_t at = t0) {
  infra::attempt_result r;
  r.message_id = c.message_id;
  r.claim = c.claim;
  r.endpoint_id = c.endpoint_id;
  r.started_us = at;
  r.latency_ms = 12;
  if (o == infra::attempt_outcome::delivered) r.response_status = 204;
  if (o == infra::attempt_outcome::http_error) r.response_status = 500;
  r.outcome = o;
  r.error = o == infra::attempt_outcome::delivered ? "" : "the receiver answered 500";
  r.next_attempt_us = next;
  return r;
}

class webhook_store_test : public ::testing::Test {
 protected:
  test_support::test_database db_;
  infra::pg_webhook_store store_{db_.conninfo()};
};

TEST_F(webhook_store_test, a_secret_is_kept_and_written_once) {
  const std::string sealed(60, '\x01');
  EXPECT_EQ(store_.get_secret(endpoint, 1), std::nullopt);
  store_.put_secret(endpoint, 1, sealed);
  EXPECT_EQ(store_.get_secret(endpoint, 1), sealed);
  EXPECT_EQ(store_.get_secret(endpoint, 2), std::nullopt);
  EXPECT_EQ(error_of([&] { store_.put_secret(endpoint, 1, sealed); }), errc::ok);
  EXPECT_EQ(error_of([&] { store_.put_secret(endpoint, 1, std::string(60, '\x02')); }),
            errc::conflict);
  EXPECT_EQ(error_of([&] { store_.put_secret("whe_short", 1, sealed); }), errc::bad_request);
  EXPECT_EQ(store_.get_secret(endpoint, 1), sealed);
}

TEST_F(webhook_store_test, each_event_and_endpoint_is_enqueued_once) {
  std::vector<infra::new_delivery> batch = {delivery(0), delivery(1)};
  EXPECT_EQ(store_.enqueue(batch), 2u);
  // The same pairs under other message ids (another node derived them): nothing new.
  auto again = batch;
  again[0].message_id = message_id(30);
  again[1].message_id = message_id(31);
  EXPECT_EQ(store_.enqueue(again), 0u);
  EXPECT_EQ(store_.deliveries(endpoint, 10, std::nullopt).size(), 2u);
}

TEST_F(webhook_store_test, racing_nodes_enqueue_each_pair_once) {
  constexpr int writers = 4;
  std::latch start(writers);
  std::atomic<std::size_t> added{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      infra::pg_webhook_store mine(db_.conninfo());
      std::vector<infra::new_delivery> batch;
      for (int i = 0; i < 20; ++i) {
        auto d = delivery(i);
        d.message_id = message_id(100 + w * 20 + i);  // each node its own ids
        batch.push_back(d);
      }
      start.arrive_and_wait();
      added += mine.enqueue(batch);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(added.load(), 20u);
  EXPECT_EQ(store_.deliveries(endpoint, 100, std::nullopt).size(), 20u);
}

TEST_F(webhook_store_test, a_due_row_goes_to_one_sender_until_its_lease_runs_out) {
  std::vector<infra::new_delivery> batch = {delivery(0), delivery(1, t0 + 60 * second)};
  store_.enqueue(batch);
  const auto first = store_.claim(10, t0, t0 + 30 * second);
  ASSERT_EQ(first.size(), 1u) << "only the due row";
  EXPECT_EQ(first[0].message_id, message_id(0));
  EXPECT_EQ(first[0].payload, delivery(0).payload);
  EXPECT_EQ(first[0].attempts, 0u);
  infra::pg_webhook_store other(db_.conninfo());
  EXPECT_TRUE(other.claim(10, t0 + 29 * second, t0 + 60 * second).empty()) << "leased";
  // The first sender died: once the lease ran out the row is claimed again, same message id.
  const auto second_claim = other.claim(10, t0 + 30 * second, t0 + 60 * second);
  ASSERT_EQ(second_claim.size(), 1u);
  EXPECT_EQ(second_claim[0].message_id, message_id(0));
  EXPECT_NE(second_claim[0].claim, first[0].claim);
  // The late first sender's result is refused; the current holder's counts.
  std::optional<std::int64_t> since;
  EXPECT_FALSE(store_.record(outcome(first[0], infra::attempt_outcome::delivered, {}), since));
  EXPECT_TRUE(other.record(outcome(second_claim[0], infra::attempt_outcome::delivered, {}), since));
  EXPECT_EQ(since, std::nullopt);
  const auto list = store_.deliveries(endpoint, 10, std::nullopt);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].message_id, message_id(0));
  EXPECT_EQ(list[1].status, "delivered");
  EXPECT_EQ(list[1].attempts, 1u);
  ASSERT_EQ(list[1].attempt_log.size(), 1u);
  EXPECT_EQ(list[1].attempt_log[0].response_status, 204u);
}

TEST_F(webhook_store_test, concurrent_claims_never_share_a_row) {
  std::vector<infra::new_delivery> batch;
  for (int i = 0; i < 40; ++i) batch.push_back(delivery(i));
  store_.enqueue(batch);
  constexpr int senders = 4;
  std::latch start(senders);
  std::vector<std::vector<std::string>> got(senders);
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      infra::pg_webhook_store mine(db_.conninfo());
      start.arrive_and_wait();
      for (;;) {
        const auto c = mine.claim(3, t0, t0 + 60 * second);
        if (c.empty()) break;
        for (const auto& d : c) got[s].push_back(d.message_id);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  std::size_t total = 0;
  for (const auto& g : got) {
    total += g.size();
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(total, 40u);
  EXPECT_EQ(all.size(), 40u);
}

TEST_F(webhook_store_test, failures_reschedule_then_give_up_and_track_health) {
  store_.enqueue(std::vector{delivery(0)});
  auto c = store_.claim(1, t0, t0 + 30 * second);
  ASSERT_EQ(c.size(), 1u);
  std::optional<std::int64_t> since;
  ASSERT_TRUE(
      store_.record(outcome(c[0], infra::attempt_outcome::http_error, t0 + 5 * second), since));
  ASSERT_TRUE(since.has_value());
  const auto failing_since = *since;
  EXPECT_EQ(failing_since, t0 + 12'000);  // started + latency
  EXPECT_TRUE(store_.claim(1, t0 + 4 * second, t0 + 30 * second).empty()) << "not due yet";
  c = store_.claim(1, t0 + 5 * second, t0 + 35 * second);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].attempts, 1u);
  // The last attempt of the schedule fails: given up, and the failures keep their start.
  ASSERT_TRUE(store_.record(
      outcome(c[0], infra::attempt_outcome::timeout, std::nullopt, t0 + 5 * second), since));
  EXPECT_EQ(since, failing_since);
  EXPECT_TRUE(store_.claim(1, t0 + 3600 * second, t0 + 3700 * second).empty());
  auto list = store_.deliveries(endpoint, 10, std::nullopt);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].status, "failed");
  EXPECT_EQ(list[0].attempts, 2u);
  ASSERT_EQ(list[0].attempt_log.size(), 2u);
  EXPECT_EQ(list[0].attempt_log[1].outcome, "timeout");
  EXPECT_EQ(list[0].attempt_log[1].response_status, std::nullopt);

  // A person retries it: due now, and a success makes the endpoint healthy again.
  EXPECT_FALSE(store_.retry_now(endpoint, message_id(5), t0 + 3600 * second));
  EXPECT_FALSE(store_.retry_now("whe_BBBBBBBBBBBBBBBBBBBBBB", message_id(0), t0));
  EXPECT_TRUE(store_.retry_now(endpoint, message_id(0), t0 + 3600 * second));
  c = store_.claim(1, t0 + 3600 * second, t0 + 3700 * second);
  ASSERT_EQ(c.size(), 1u);
  ASSERT_TRUE(store_.record(
      outcome(c[0], infra::attempt_outcome::delivered, {}, t0 + 3600 * second), since));
  EXPECT_EQ(since, std::nullopt);
  list = store_.deliveries(endpoint, 10, std::nullopt);
  EXPECT_EQ(list[0].status, "delivered");
  EXPECT_EQ(list[0].attempts, 3u);
}

TEST_F(webhook_store_test, a_dropped_delivery_is_never_claimed_again) {
  store_.enqueue(std::vector{delivery(0)});
  const auto c = store_.claim(1, t0, t0 + 30 * second);
  ASSERT_EQ(c.size(), 1u);
  store_.drop(c[0].message_id, c[0].claim);
  EXPECT_TRUE(store_.claim(1, t0 + 3600 * second, t0 + 3700 * second).empty());
  EXPECT_EQ(store_.deliveries(endpoint, 10, std::nullopt)[0].status, "dropped");
}

TEST_F(webhook_store_test, the_list_pages_newest_first) {
  std::vector<infra::new_delivery> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(delivery(i));
  store_.enqueue(batch);
  const auto page = store_.deliveries(endpoint, 2, std::nullopt);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].event_seq, 5u);
  EXPECT_EQ(page[1].event_seq, 4u);
  const auto next = store_.deliveries(endpoint, 2, page[1].event_seq);
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].event_seq, 3u);
  EXPECT_TRUE(store_.deliveries("whe_BBBBBBBBBBBBBBBBBBBBBB", 10, std::nullopt).empty());
}

TEST_F(webhook_store_test, deliveries_and_the_dispatch_checkpoint_move_together) {
  EXPECT_EQ(store_.checkpoint("webhook_dispatcher"), 0u);
  EXPECT_EQ(store_.enqueue_through(std::vector{delivery(0), delivery(1)}, "webhook_dispatcher", 9),
            2u);
  EXPECT_EQ(store_.checkpoint("webhook_dispatcher"), 9u);
  // Nothing new, the checkpoint alone moves; never backwards (a slower node saves an older one).
  EXPECT_EQ(store_.enqueue_through({}, "webhook_dispatcher", 12), 0u);
  EXPECT_EQ(store_.enqueue_through(std::vector{delivery(1)}, "webhook_dispatcher", 4), 0u);
  EXPECT_EQ(store_.checkpoint("webhook_dispatcher"), 12u);
  EXPECT_EQ(store_.checkpoint("another"), 0u);
  const auto c = store_.claim(5, t0, t0 + 30 * second);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].event_seq + c[1].event_seq, 3u) << "claims carry the event's position";
}

TEST_F(webhook_store_test, a_bad_delivery_leaves_the_checkpoint_where_it_was) {
  store_.enqueue_through({}, "webhook_dispatcher", 3);
  auto bad = delivery(0);
  bad.event_type = "Not A Type";
  EXPECT_NE(error_of([&] {
              store_.enqueue_through(std::vector{delivery(1), bad}, "webhook_dispatcher", 8);
            }),
            errc::ok);
  EXPECT_EQ(store_.checkpoint("webhook_dispatcher"), 3u);
  EXPECT_TRUE(store_.deliveries(endpoint, 10, std::nullopt).empty()) << "one transaction";
}

TEST_F(webhook_store_test, secret_versions_are_listed_newest_first) {
  const std::string key = "key_AAAAAAAAAAAAAAAAAAAAAA";
  EXPECT_TRUE(store_.secret_versions(key).empty());
  store_.put_secret(key, 1, std::string(60, '\x01'));
  store_.put_secret(key, 2, std::string(60, '\x02'));
  const auto versions = store_.secret_versions(key);
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].version, 2u);
  EXPECT_EQ(versions[1].version, 1u);
  EXPECT_GE(versions[0].created_us, versions[1].created_us);
  EXPECT_GT(versions[0].created_us, t0 / 2);
  EXPECT_TRUE(store_.secret_versions("bogus").empty());
}

}  // namespace
}  // namespace keyledger::integration
