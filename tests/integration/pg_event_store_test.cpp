// pg_event_store against a real PostgreSQL: positions, exact round trips, conflicts,
// idempotency, argument checks, batches, multi-stream appends (one NOTIFY) and reconnection.

#include "infra/pg/pg_event_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/json/event_codec.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

using infra::errc;

// Runs `fn`, expecting infra::error with `code`; returns its what() for further checks.
template <class Fn>
std::string expect_error(errc code, Fn&& fn) {
  try {
    fn();
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no infra::error thrown";
  return {};
}

// Waits (up to 5 s) until `payloads` holds at least `count` notifications.
bool wait_for_notifications(pqxx::connection& listener, const std::vector<std::string>& payloads,
                            std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (payloads.size() < count) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    listener.await_notification(0, 100000);
  }
  return true;
}

class pg_event_store_test : public ::testing::Test {
 protected:
  test_support::test_database db_;
  infra::pg_event_store store_{db_.conninfo()};
  infra::event_metadata metadata_ = sample_metadata();
};

TEST_F(pg_event_store_test, AppendAssignsPositionsAndReadsBackExactBytes) {
  // Given two events with awkward payload bytes: multi-byte UTF-8, quotes, backslashes, braces
  // and commas (array-literal syntax), a newline and a JSON escape.
  const std::string tricky = "{\"name\":\"Grüße 🔑 \\\"x\\\" \\\\ {a,b}\",\"n\":\"line\\nnext\"}\n";
  const std::vector<infra::new_event> events{make_event("KeyCreated", tricky),
                                             make_event("KeyUpdated", "{\"enabled\":false}")};

  // When they are appended to a new stream and one more to another stream
  const auto first = store_.append("key_1", 0, events, metadata_, 1700000000123456);
  const auto second =
      store_.append("key_2", 0, {make_event("KeyCreated", "{}")}, metadata_, 1700000000123457);

  // Then the positions are gapless from 1
  EXPECT_EQ(first.first_seq, 1u);
  EXPECT_EQ(first.last_seq, 2u);
  EXPECT_EQ(first.stream_version, 2u);
  EXPECT_FALSE(first.duplicate);
  EXPECT_EQ(second.first_seq, 3u);
  EXPECT_EQ(second.last_seq, 3u);
  EXPECT_EQ(second.stream_version, 1u);
  EXPECT_EQ(store_.head_seq(), 3u);

  // And every stored byte reads back exactly
  const auto stream = store_.read_stream("key_1");
  ASSERT_EQ(stream.size(), 2u);
  for (std::size_t i = 0; i < stream.size(); ++i) {
    EXPECT_EQ(stream[i].global_seq, i + 1);
    EXPECT_EQ(stream[i].stream_id, "key_1");
    EXPECT_EQ(stream[i].version, i + 1);
    EXPECT_EQ(stream[i].event_id, events[i].event_id);
    EXPECT_EQ(stream[i].type, events[i].type);
    EXPECT_EQ(stream[i].payload, events[i].payload);
    EXPECT_EQ(stream[i].metadata, infra::encode_metadata(metadata_));
    EXPECT_EQ(stream[i].recorded_at_us, 1700000000123456);
  }
  EXPECT_EQ(stream[0].hash, infra::chain_hash(infra::sha256_digest{}, stream[0]));
  EXPECT_EQ(stream[1].hash, infra::chain_hash(stream[0].hash, stream[1]));

  // And read_all pages in global order
  const auto all = store_.read_all(0, 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].stream_id, "key_2");
  EXPECT_EQ(all[2].hash, infra::chain_hash(all[1].hash, all[2]));
  const auto page = store_.read_all(1, 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].global_seq, 2u);
  EXPECT_TRUE(store_.read_all(3, 10).empty());
  EXPECT_TRUE(store_.read_stream("no_such_stream").empty());
}

TEST_F(pg_event_store_test, RecordedAtRoundTripsToTheMicrosecond) {
  const std::vector<std::int64_t> instants{
      0,
      -1,
      1,
      1700000000123456,
      -62135596800000000,           // 0001-01-01T00:00:00Z
      (std::int64_t{1} << 53) + 1,  // past float8's exact range
      -210866803200000000,          // 4714-11-24 BC: the first
      9223372036854775806};         // the last one accepted
  for (std::size_t i = 0; i < instants.size(); ++i) {
    store_.append("t_" + std::to_string(i), 0, {make_event("Tick", "{}")}, metadata_, instants[i]);
  }
  const auto all = store_.read_all(0, 100);
  ASSERT_EQ(all.size(), instants.size());
  for (std::size_t i = 0; i < instants.size(); ++i) EXPECT_EQ(all[i].recorded_at_us, instants[i]);
}

TEST_F(pg_event_store_test, WrongExpectedVersionConflictsAndWritesNothing) {
  store_.append("key_1", 0, {make_event("KeyCreated", "{}")}, metadata_, 1);

  expect_error(errc::conflict,
               [&] { store_.append("key_1", 0, {make_event("KeyCreated", "{}")}, metadata_, 2); });
  expect_error(errc::conflict,
               [&] { store_.append("key_1", 5, {make_event("KeyUpdated", "{}")}, metadata_, 3); });
  expect_error(errc::conflict, [&] {
    store_.append("new_stream", 1, {make_event("KeyUpdated", "{}")}, metadata_, 4);
  });
  EXPECT_EQ(store_.head_seq(), 1u);
  EXPECT_EQ(store_.read_stream("key_1").size(), 1u);
  EXPECT_TRUE(store_.read_stream("new_stream").empty());

  // The right version still appends, right after the last committed event.
  const auto r = store_.append("key_1", 1, {make_event("KeyUpdated", "{}")}, metadata_, 5);
  EXPECT_EQ(r.first_seq, 2u);
  EXPECT_EQ(r.stream_version, 2u);
}

TEST_F(pg_event_store_test, SameEventIdAppendsNothingAndReturnsTheFirstResult) {
  store_.append("other", 0, {make_event("KeyCreated", "{}")}, metadata_, 1);
  const std::vector<infra::new_event> events{make_event("KeyCreated", "{\"a\":1}"),
                                             make_event("KeyUpdated", "{\"a\":2}")};
  const auto first = store_.append("key_1", 0, events, metadata_, 2);

  // A retry with the same expected version, with a now-stale one, or naming another stream
  // all find the stored events.
  for (const auto& [stream, expected] : std::vector<std::pair<std::string, std::uint64_t>>{
           {"key_1", 0}, {"key_1", 2}, {"key_1", 7}, {"elsewhere", 0}}) {
    const auto again = store_.append(stream, expected, events, metadata_, 3);
    EXPECT_TRUE(again.duplicate) << stream << " " << expected;
    EXPECT_EQ(again.first_seq, first.first_seq);
    EXPECT_EQ(again.last_seq, first.last_seq);
    EXPECT_EQ(again.stream_version, first.stream_version);
  }
  EXPECT_EQ(first.first_seq, 2u);
  EXPECT_EQ(first.last_seq, 3u);
  EXPECT_EQ(store_.head_seq(), 3u);
  EXPECT_TRUE(store_.read_stream("elsewhere").empty());
}

TEST_F(pg_event_store_test, ReusedEventIdThatIsNotFirstConflicts) {
  const auto stored = make_event("KeyCreated", "{}");
  store_.append("key_1", 0, {stored}, metadata_, 1);
  expect_error(errc::conflict, [&] {
    store_.append("key_2", 0, {make_event("KeyCreated", "{}"), stored}, metadata_, 2);
  });
  EXPECT_EQ(store_.head_seq(), 1u);
}

TEST_F(pg_event_store_test, InvalidArgumentsAreBadRequestsThatNeverQuoteThePayload) {
  const std::string secretish = "kl_live_s3cr3tDoNotLog";
  const std::vector<std::vector<infra::new_event>> bad_events{
      {},  // nothing to append
      {make_event("KeyCreated", std::string("{\"k\":\"") + secretish + '\0' + "\"}")},  // NUL
      {make_event("KeyCreated", "{\"k\":\"" + secretish + "\xff\"}")},                  // not UTF-8
      {make_event("KeyCreated", "{\"k\":\"" + secretish + "\xed\xa0\x80\"}")},  // a surrogate
      {make_event("", "{}")},                                                   // no type
  };
  for (const auto& events : bad_events) {
    const std::string what =
        expect_error(errc::bad_request, [&] { store_.append("key_1", 0, events, metadata_, 1); });
    EXPECT_EQ(what.find(secretish), std::string::npos) << what;
  }
  const auto e = make_event("KeyCreated", "{}");
  expect_error(errc::bad_request, [&] { store_.append("key_1", 0, {e, e}, metadata_, 1); });
  expect_error(errc::bad_request,
               [&] { store_.append("", 0, {make_event("T", "{}")}, metadata_, 1); });
  expect_error(errc::bad_request, [&] {
    store_.append("key_1", 0, {make_event("T", "{}")}, metadata_, -210866803200000001);
  });
  expect_error(errc::bad_request, [&] {
    store_.append("key_1", 0, {make_event("T", "{}")}, metadata_,
                  std::numeric_limits<std::int64_t>::max());
  });
  EXPECT_EQ(store_.head_seq(), 0u);
}

TEST_F(pg_event_store_test, AppendBatchDecidesItemsInOrderInOneTransaction) {
  const std::vector<infra::new_event> a{make_event("KeyCreated", "{\"i\":\"a\"}")};
  const std::vector<infra::new_event> b{make_event("KeyCreated", "{\"i\":\"b\"}")};
  const std::vector<infra::new_event> c{make_event("KeyUpdated", "{\"i\":\"c\"}"),
                                        make_event("KeyUpdated", "{\"i\":\"d\"}")};
  const std::vector<infra::new_event> none;
  const std::vector<infra::pg_event_store::batch_item> items{
      {"key_1", 0, a, &metadata_, 10},     // appended: seq 1
      {"key_1", 0, b, &metadata_, 11},     // conflict: key_1 is at 1 after the item before
      {"key_1", 1, c, &metadata_, 12},     // appended: seq 2..3, version 3
      {"key_9", 0, a, &metadata_, 13},     // a retry of the first item: duplicate
      {"key_2", 0, none, &metadata_, 14},  // invalid
      {"key_2", 0, b, &metadata_, 15},     // appended: seq 4
  };
  const auto outcomes = store_.append_batch(items);
  ASSERT_EQ(outcomes.size(), items.size());
  EXPECT_EQ(outcomes[0].error, errc::ok);
  EXPECT_EQ(outcomes[0].result.first_seq, 1u);
  EXPECT_EQ(outcomes[1].error, errc::conflict);
  EXPECT_EQ(outcomes[2].error, errc::ok);
  EXPECT_EQ(outcomes[2].result.first_seq, 2u);
  EXPECT_EQ(outcomes[2].result.last_seq, 3u);
  EXPECT_EQ(outcomes[2].result.stream_version, 3u);
  EXPECT_EQ(outcomes[3].error, errc::ok);
  EXPECT_TRUE(outcomes[3].result.duplicate);
  EXPECT_EQ(outcomes[3].result.first_seq, 1u);
  EXPECT_EQ(outcomes[3].result.stream_version, 1u);
  EXPECT_EQ(outcomes[4].error, errc::bad_request);
  EXPECT_EQ(outcomes[5].error, errc::ok);
  EXPECT_EQ(outcomes[5].result.first_seq, 4u);

  EXPECT_EQ(store_.head_seq(), 4u);
  const auto check = infra::verify_chain(store_);
  EXPECT_TRUE(check.ok) << check.problem;
  EXPECT_EQ(check.events_checked, 4u);
}

TEST_F(pg_event_store_test, ReconnectsOnceAfterTheConnectionBreaks) {
  store_.append("key_1", 0, {make_event("KeyCreated", "{}")}, metadata_, 1);

  // When the server ends every session of this database (as on a failover or restart)
  const auto killed = admin_query(
      db_.admin_conninfo(),
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" +
          db_.name() + "' AND pid <> pg_backend_pid()");
  ASSERT_GE(killed[0][0].as<int>(), 1);

  // Then the next calls reconnect transparently
  const auto r = store_.append("key_1", 1, {make_event("KeyUpdated", "{}")}, metadata_, 2);
  EXPECT_EQ(r.first_seq, 2u);
  EXPECT_EQ(store_.head_seq(), 2u);
  store_.ping();
}

TEST_F(pg_event_store_test, AppendAllIsOneInsertAndOneNotification) {
  pqxx::connection listener(db_.conninfo());
  struct collector : pqxx::notification_receiver {
    using pqxx::notification_receiver::notification_receiver;
    void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
    std::vector<std::string> payloads;
  } heard(listener, "keyledger_events");
  store_.append("old", 0, {make_event("KeyCreated", "{}")}, metadata_, 1);
  ASSERT_TRUE(wait_for_notifications(listener, heard.payloads, 1));

  const std::vector<infra::new_event> rotated{make_event("KeyRotated", "{}")};
  const std::vector<infra::new_event> created{make_event("KeyCreated", "{}"),
                                              make_event("KeyUpdated", "{}")};
  const std::vector<infra::stream_append> items{{"old", 1, rotated}, {"new", 0, created}};
  const auto results = store_.append_all(items, metadata_, 2);
  EXPECT_EQ(results[1].last_seq, 4u);

  // One statement inserted every row: its one notification already names the last of them.
  ASSERT_TRUE(wait_for_notifications(listener, heard.payloads, 2));
  EXPECT_EQ(heard.payloads[1], "4");
  // A retry and a conflicting call notify nothing; the next append's notification comes next.
  EXPECT_TRUE(store_.append_all(items, metadata_, 3)[0].duplicate);
  const std::vector<infra::new_event> late{make_event("KeyRevoked", "{}")};
  const std::vector<infra::stream_append> stale{{"old", 1, late}};
  EXPECT_THROW(store_.append_all(stale, metadata_, 3), infra::error);
  store_.append("other", 0, {make_event("KeyCreated", "{}")}, metadata_, 4);
  ASSERT_TRUE(wait_for_notifications(listener, heard.payloads, 3));
  EXPECT_EQ(heard.payloads, (std::vector<std::string>{"1", "4", "5"}));
}

TEST_F(pg_event_store_test, AppendAllAfterABrokenConnectionReconnects) {
  store_.append("old", 0, {make_event("KeyCreated", "{}")}, metadata_, 1);
  admin_query(db_.admin_conninfo(),
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                  db_.name() + "' AND pid <> pg_backend_pid()");
  const std::vector<infra::new_event> rotated{make_event("KeyRotated", "{}")};
  const std::vector<infra::new_event> created{make_event("KeyCreated", "{}")};
  const std::vector<infra::stream_append> items{{"old", 1, rotated}, {"new", 0, created}};
  const auto results = store_.append_all(items, metadata_, 2);
  EXPECT_FALSE(results[0].duplicate);
  EXPECT_EQ(results[1].first_seq, 3u);
  EXPECT_EQ(store_.head_seq(), 3u);
}

TEST(pg_event_store_unreachable, IsUnavailable) {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  infra::pg_event_store store("host=127.0.0.1 port=1 dbname=none user=none connect_timeout=2");
  expect_error(errc::unavailable, [&] { store.head_seq(); });
  expect_error(errc::unavailable, [&] { store.ping(); });
  expect_error(errc::unavailable, [&] {
    store.append("key_1", 0, {make_event("KeyCreated", "{}")}, sample_metadata(), 1);
  });
}

}  // namespace
}  // namespace keyledger::integration
