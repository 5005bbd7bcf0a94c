// The webhook_store port's semantics, one suite over both implementations: pg_webhook_store (a
// real PostgreSQL) and test_support::memory_webhook_store (the fake the service and route tests
// use), so that what the fake promises is what the database does. pg_webhook_store's own
// concurrency (SKIP LOCKED, racing enqueues) is webhook_store_test's.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/pg/pg_webhook_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/memory_webhook_store.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

using infra::attempt_outcome;
using infra::errc;

const std::string endpoint = "whe_CCCCCCCCCCCCCCCCCCCCCC";
const std::string other_endpoint = "whe_DDDDDDDDDDDDDDDDDDDDDD";
constexpr std::int64_t t0 = 1'800'000'000'000'000;  // microseconds
constexpr std::int64_t second = 1'000'000;

std::string message_id(int i) {
  std::string id = "msg_" + std::string(22, 'B');
  id[id.size() - 1] = static_cast<char>('a' + i % 26);
  id[id.size() - 2] = static_cast<char>('a' + i / 26);
  return id;
}

infra::new_delivery delivery(int i, std::int64_t due = t0, const std::string& to = endpoint) {
  infra::new_delivery d;
  d.message_id = message_id(i);
  d.event_id[0] = static_cast<std::uint8_t>(i);
  d.event_id[15] = 9;
  d.endpoint_id = to;
  d.workspace_id = "ws_1";
  d.event_seq = static_cast<std::uint64_t>(i + 1);
  d.event_type = "key.revoked";
  d.payload = R"({"type":"key.revoked","n":)" + std::to_string(i) + "}";
  d.due_us = due;
  return d;
}

infra::attempt_result outcome(const infra::claimed_delivery& c, attempt_outcome o,
                              std::optional<std::int64_t> next, std::int64_t at) {
  infra::attempt_result r;
  r.message_id = c.message_id;
  r.claim = c.claim;
  r.endpoint_id = c.endpoint_id;
  r.started_us = at;
  r.latency_ms = 40;
  if (o == attempt_outcome::http_error) r.response_status = 503;
  if (o == attempt_outcome::delivered) r.response_status = 200;
  r.outcome = o;
  r.error = o == attempt_outcome::delivered ? "" : "the receiver answered 503";
  r.next_attempt_us = next;
  return r;
}

struct memory_fixture {
  test_support::memory_webhook_store store;
  std::unique_ptr<infra::webhook_store> another_store() {
    return std::make_unique<test_support::webhook_store_handle>(store);
  }
};

struct pg_fixture {
  test_support::test_database db;
  infra::pg_webhook_store store{db.conninfo()};
  // Its own connection: pg_webhook_store is one per thread.
  std::unique_ptr<infra::webhook_store> another_store() {
    return std::make_unique<infra::pg_webhook_store>(db.conninfo());
  }
};

template <class Fixture>
class webhook_store_contract : public ::testing::Test {
 protected:
  infra::webhook_store& store() { return fixture_->store; }
  std::unique_ptr<infra::webhook_store> another_store() { return fixture_->another_store(); }
  /// Claims the one due delivery at `now`; fails the test otherwise.
  infra::claimed_delivery claim_one(std::int64_t now) {
    auto c = store().claim(10, now, now + 30 * second);
    EXPECT_EQ(c.size(), 1u);
    return c.empty() ? infra::claimed_delivery{} : c[0];
  }
  std::unique_ptr<Fixture> fixture_ = std::make_unique<Fixture>();
};

using implementations = ::testing::Types<memory_fixture, pg_fixture>;
TYPED_TEST_SUITE(webhook_store_contract, implementations);

TYPED_TEST(webhook_store_contract, a_secret_is_written_once_per_owner_and_version) {
  auto& s = this->store();
  const std::string sealed(60, '\x05');
  s.put_secret(endpoint, 1, sealed);
  EXPECT_EQ(error_of([&] { s.put_secret(endpoint, 1, sealed); }), errc::ok) << "a repeat";
  EXPECT_EQ(error_of([&] { s.put_secret(endpoint, 1, std::string(60, '\x06')); }), errc::conflict);
  EXPECT_EQ(error_of([&] { s.put_secret("whe_nope", 1, sealed); }), errc::bad_request);
  EXPECT_EQ(error_of([&] { s.put_secret(endpoint, 0, sealed); }), errc::bad_request);
  s.put_secret(endpoint, 2, std::string(60, '\x07'));
  EXPECT_EQ(s.get_secret(endpoint, 1), sealed);
  EXPECT_EQ(s.get_secret(endpoint, 2), std::string(60, '\x07'));
  EXPECT_EQ(s.get_secret(endpoint, 3), std::nullopt);
  EXPECT_EQ(s.get_secret(other_endpoint, 1), std::nullopt);
}

TYPED_TEST(webhook_store_contract, a_pair_and_a_message_id_are_enqueued_once) {
  auto& s = this->store();
  EXPECT_EQ(s.enqueue(std::vector{delivery(0), delivery(1)}), 2u);
  auto same_pair = delivery(0);
  same_pair.message_id = message_id(20);
  auto same_id = delivery(2);
  same_id.message_id = message_id(1);
  EXPECT_EQ(this->another_store()->enqueue(std::vector{same_pair, same_id, delivery(3)}), 1u);
  EXPECT_EQ(s.deliveries(endpoint, 10, std::nullopt).size(), 3u);
}

TYPED_TEST(webhook_store_contract, a_lease_holds_a_row_until_it_runs_out_and_a_stale_claim_fails) {
  auto& s = this->store();
  s.enqueue(std::vector{delivery(0), delivery(1, t0 + 60 * second)});
  const auto first = this->claim_one(t0);
  EXPECT_EQ(first.message_id, message_id(0));
  EXPECT_EQ(first.payload, delivery(0).payload);
  EXPECT_EQ(first.event_type, "key.revoked");
  const auto other = this->another_store();
  EXPECT_TRUE(other->claim(10, t0 + 29 * second, t0 + 90 * second).empty());
  const auto again = other->claim(10, t0 + 30 * second, t0 + 90 * second);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0].claim, first.claim);
  std::optional<std::int64_t> since;
  EXPECT_FALSE(s.record(outcome(first, attempt_outcome::delivered, {}, t0), since));
  s.drop(first.message_id, first.claim);  // a stale claim drops nothing either
  EXPECT_TRUE(other->record(outcome(again[0], attempt_outcome::delivered, {}, t0), since));
  const auto list = s.deliveries(endpoint, 10, std::nullopt);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].status, "delivered");
  EXPECT_EQ(list[1].attempts, 1u);
  EXPECT_EQ(list[0].status, "pending") << "the later row, never due";
}

TYPED_TEST(webhook_store_contract, failures_move_on_and_the_health_keeps_their_start) {
  auto& s = this->store();
  s.enqueue(std::vector{delivery(0), delivery(1)});
  std::optional<std::int64_t> since;
  auto c = s.claim(10, t0, t0 + 30 * second);
  ASSERT_EQ(c.size(), 2u);
  ASSERT_TRUE(s.record(outcome(c[0], attempt_outcome::http_error, t0 + 5 * second, t0), since));
  EXPECT_EQ(since, t0 + 40'000) << "when the failing attempt ended";
  ASSERT_TRUE(
      s.record(outcome(c[1], attempt_outcome::timeout, std::nullopt, t0 + 2 * second), since));
  EXPECT_EQ(since, t0 + 40'000) << "the failures keep their start";
  auto list = s.deliveries(endpoint, 10, std::nullopt);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].status, "failed");
  EXPECT_EQ(list[1].status, "pending");
  EXPECT_EQ(list[1].next_attempt_us, t0 + 5 * second);
  ASSERT_EQ(list[1].attempt_log.size(), 1u);
  const auto& a = list[1].attempt_log[0];
  EXPECT_EQ(a.attempt, 1u);
  EXPECT_EQ(a.started_us, t0);
  EXPECT_EQ(a.latency_ms, 40u);
  EXPECT_EQ(a.response_status, 503u);
  EXPECT_EQ(a.outcome, "http_error");
  EXPECT_EQ(a.error, "the receiver answered 503");

  // A person enabled it again: the next failure starts a new window.
  s.reset_health(endpoint);
  c = s.claim(10, t0 + 5 * second, t0 + 35 * second);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].attempts, 1u);
  ASSERT_TRUE(
      s.record(outcome(c[0], attempt_outcome::network, t0 + 60 * second, t0 + 5 * second), since));
  EXPECT_EQ(since, t0 + 5 * second + 40'000);
  // A success makes it healthy.
  ASSERT_TRUE(s.retry_now(endpoint, message_id(1), t0 + 6 * second));
  c = s.claim(10, t0 + 6 * second, t0 + 36 * second);
  ASSERT_EQ(c.size(), 1u);
  ASSERT_TRUE(s.record(outcome(c[0], attempt_outcome::delivered, {}, t0 + 6 * second), since));
  EXPECT_EQ(since, std::nullopt);
}

TYPED_TEST(webhook_store_contract, a_manual_retry_is_the_endpoints_own_and_any_status_goes) {
  auto& s = this->store();
  s.enqueue(std::vector{delivery(0), delivery(1, t0, other_endpoint)});
  // Both are due: this endpoint's is delivered, the other's dropped (its endpoint went away).
  std::optional<std::int64_t> since;
  const auto due_now = s.claim(10, t0 + second, t0 + 31 * second);
  ASSERT_EQ(due_now.size(), 2u);
  for (const auto& d : due_now) {
    if (d.endpoint_id == endpoint) {
      ASSERT_TRUE(s.record(outcome(d, attempt_outcome::delivered, {}, t0 + second), since));
    } else {
      s.drop(d.message_id, d.claim);
    }
  }
  EXPECT_FALSE(s.retry_now(endpoint, message_id(1), t0 + 2 * second)) << "another endpoint's";
  EXPECT_FALSE(s.retry_now(endpoint, message_id(9), t0 + 2 * second)) << "none such";
  EXPECT_EQ(s.deliveries(other_endpoint, 10, std::nullopt)[0].status, "dropped");
  EXPECT_TRUE(s.claim(10, t0 + 3600 * second, t0 + 3700 * second).empty());
  EXPECT_TRUE(s.retry_now(endpoint, message_id(0), t0 + 2 * second)) << "even a delivered one";
  const auto list = s.deliveries(endpoint, 10, std::nullopt);
  EXPECT_EQ(list[0].status, "pending");
  EXPECT_EQ(list[0].next_attempt_us, t0 + 2 * second);
  const auto due = s.claim(10, t0 + 2 * second, t0 + 32 * second);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].message_id, message_id(0)) << "the same webhook-id";
  EXPECT_EQ(due[0].attempts, 1u);
}

TYPED_TEST(webhook_store_contract, the_list_is_newest_first_in_pages_by_event_seq) {
  auto& s = this->store();
  std::vector<infra::new_delivery> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(delivery(i, t0 + i * second));
  batch.push_back(delivery(7, t0, other_endpoint));
  s.enqueue(batch);
  const auto page = s.deliveries(endpoint, 3, std::nullopt);
  ASSERT_EQ(page.size(), 3u);
  EXPECT_EQ(page[0].event_seq, 5u);
  EXPECT_EQ(page[0].message_id, message_id(4));
  EXPECT_EQ(page[0].endpoint_id, endpoint);
  EXPECT_EQ(page[0].event_type, "key.revoked");
  EXPECT_EQ(page[0].attempts, 0u);
  EXPECT_TRUE(page[0].attempt_log.empty());
  EXPECT_EQ(page[2].event_seq, 3u);
  const auto next = s.deliveries(endpoint, 3, page[2].event_seq);
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].event_seq, 2u);
  EXPECT_EQ(next[1].event_seq, 1u);
  EXPECT_TRUE(s.deliveries(endpoint, 3, 1).empty());
  EXPECT_EQ(s.deliveries(other_endpoint, 10, std::nullopt).size(), 1u);
}

}  // namespace
}  // namespace keyledger::integration
