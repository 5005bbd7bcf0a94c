// One contract, two implementations: the in-memory fake other tests rely on must behave like
// the PostgreSQL store for positions, conflicts, duplicates and bad input, and store the very
// same rows (metadata text and hashes included).

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/pg/pg_event_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/memory_event_store.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

// Another handle on the shared in-memory store, for threads (the fake locks every member).
class shared_memory_store final : public infra::event_store {
 public:
  explicit shared_memory_store(test_support::memory_event_store& s) : s_(s) {}
  infra::append_result append(std::string_view stream_id, std::uint64_t expected_version,
                              const std::vector<infra::new_event>& events,
                              const infra::event_metadata& metadata,
                              std::int64_t recorded_at_us) override {
    return s_.append(stream_id, expected_version, events, metadata, recorded_at_us);
  }
  std::vector<infra::append_result> append_all(std::span<const infra::stream_append> items,
                                               const infra::event_metadata& metadata,
                                               std::int64_t recorded_at_us) override {
    return s_.append_all(items, metadata, recorded_at_us);
  }
  std::vector<infra::recorded_event> read_stream(std::string_view stream_id) override {
    return s_.read_stream(stream_id);
  }
  std::vector<infra::recorded_event> read_all(std::uint64_t after_seq, std::size_t limit) override {
    return s_.read_all(after_seq, limit);
  }
  std::vector<infra::recorded_event> read_streams_until(std::span<const std::string> ids,
                                                        std::int64_t until_us) override {
    return s_.read_streams_until(ids, until_us);
  }
  std::uint64_t head_seq() override { return s_.head_seq(); }

 private:
  test_support::memory_event_store& s_;
};

struct memory_fixture {
  test_support::memory_event_store store;
  std::unique_ptr<infra::event_store> another_store() {
    return std::make_unique<shared_memory_store>(store);
  }
};

struct pg_fixture {
  test_support::test_database db;
  infra::pg_event_store store{db.conninfo()};
  // Its own connection: pg_event_store is one per thread.
  std::unique_ptr<infra::event_store> another_store() {
    return std::make_unique<infra::pg_event_store>(db.conninfo());
  }
};

template <class Fixture>
class event_store_contract : public ::testing::Test {
 protected:
  infra::event_store& store() { return fixture_->store; }
  std::unique_ptr<infra::event_store> another_store() { return fixture_->another_store(); }
  std::unique_ptr<Fixture> fixture_ = std::make_unique<Fixture>();
  infra::event_metadata metadata_ = sample_metadata();
};

using implementations = ::testing::Types<memory_fixture, pg_fixture>;
TYPED_TEST_SUITE(event_store_contract, implementations);

TYPED_TEST(event_store_contract, PositionsAreGaplessAcrossStreams) {
  auto& s = this->store();
  EXPECT_EQ(s.head_seq(), 0u);
  const auto a =
      s.append("a", 0, {make_event("T", "{}"), make_event("T", "{}")}, this->metadata_, 1);
  const auto b = s.append("b", 0, {make_event("T", "{}")}, this->metadata_, 2);
  const auto c = s.append("a", 2, {make_event("T", "{}")}, this->metadata_, 3);
  EXPECT_EQ(a.first_seq, 1u);
  EXPECT_EQ(a.last_seq, 2u);
  EXPECT_EQ(b.first_seq, 3u);
  EXPECT_EQ(c.first_seq, 4u);
  EXPECT_EQ(c.stream_version, 3u);
  EXPECT_EQ(s.head_seq(), 4u);
  EXPECT_EQ(s.read_all(1, 2).size(), 2u);
  EXPECT_EQ(s.read_all(1, 2).front().global_seq, 2u);
  EXPECT_EQ(s.read_stream("a").size(), 3u);
}

TYPED_TEST(event_store_contract, ConflictWritesNothing) {
  auto& s = this->store();
  s.append("a", 0, {make_event("T", "{}")}, this->metadata_, 1);
  EXPECT_EQ(error_of([&] { s.append("a", 0, {make_event("T", "{}")}, this->metadata_, 2); }),
            infra::errc::conflict);
  EXPECT_EQ(error_of([&] { s.append("a", 2, {make_event("T", "{}")}, this->metadata_, 2); }),
            infra::errc::conflict);
  EXPECT_EQ(s.head_seq(), 1u);
}

TYPED_TEST(event_store_contract, DuplicateEventIdReturnsTheFirstResult) {
  auto& s = this->store();
  const std::vector<infra::new_event> events{make_event("T", "{}"), make_event("U", "{}")};
  const auto first = s.append("a", 0, events, this->metadata_, 1);
  const auto again = s.append("a", 0, events, this->metadata_, 9);
  EXPECT_FALSE(first.duplicate);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.first_seq, first.first_seq);
  EXPECT_EQ(again.last_seq, first.last_seq);
  EXPECT_EQ(again.stream_version, first.stream_version);
  EXPECT_EQ(s.head_seq(), 2u);
  EXPECT_EQ(error_of([&] {
              s.append("b", 0, {make_event("T", "{}"), events[1]}, this->metadata_, 1);
            }),
            infra::errc::conflict);
}

TYPED_TEST(event_store_contract, BadInputIsABadRequest) {
  auto& s = this->store();
  EXPECT_EQ(error_of([&] { s.append("a", 0, {}, this->metadata_, 1); }), infra::errc::bad_request);
  EXPECT_EQ(error_of([&] { s.append("a", 0, {make_event("T", "\xc0\xaf")}, this->metadata_, 1); }),
            infra::errc::bad_request);
  EXPECT_EQ(s.head_seq(), 0u);
}

TYPED_TEST(event_store_contract, ReadStreamsUntilKeepsTheStreamsEventsUpToTheInstant) {
  auto& s = this->store();
  // Global order a1 b1 c1 a2 b2 (a3: another writer's clock was behind), recorded at:
  s.append("a", 0, {make_event("T", R"({"n":"a1"})")}, this->metadata_, 100);
  s.append("b", 0, {make_event("T", R"({"n":"b1"})")}, this->metadata_, 200);
  s.append("c", 0, {make_event("T", R"({"n":"c1"})")}, this->metadata_, 250);
  s.append("a", 1, {make_event("T", R"({"n":"a2"})")}, this->metadata_, 300);
  s.append("b", 1, {make_event("T", R"({"n":"b2"})")}, this->metadata_, 400);
  s.append("a", 2, {make_event("T", R"({"n":"a3"})")}, this->metadata_, 150);
  const auto payloads = [](const std::vector<infra::recorded_event>& events) {
    std::string out;
    for (const auto& e : events) out += e.payload;
    return out;
  };
  const std::vector<std::string> ab{"b", "a", "missing", "a"};
  EXPECT_EQ(payloads(s.read_streams_until(ab, 300)), R"({"n":"a1"}{"n":"b1"}{"n":"a2"}{"n":"a3"})");
  // Exactly at an instant counts; one microsecond before does not.
  EXPECT_EQ(payloads(s.read_streams_until(ab, 199)), R"({"n":"a1"}{"n":"a3"})");
  EXPECT_EQ(payloads(s.read_streams_until(ab, 99)), "");
  const auto all = s.read_streams_until(ab, std::numeric_limits<std::int64_t>::max());
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.front().global_seq, 1u);
  EXPECT_EQ(all.back().global_seq, 6u);
  EXPECT_EQ(all.back().version, 3u);
  EXPECT_EQ(all.back().recorded_at_us, 150);
  EXPECT_EQ(all.back().hash, s.read_stream("a").back().hash) << "the stored row, whole";
  EXPECT_TRUE(s.read_streams_until({}, 1000).empty());
  EXPECT_TRUE(s.read_streams_until(ab, std::numeric_limits<std::int64_t>::min()).empty());
  // An id no stream could have (not valid UTF-8) is no error, just nothing.
  const std::vector<std::string> odd{"\xc0\xaf", "c"};
  EXPECT_EQ(payloads(s.read_streams_until(odd, 1000)), R"({"n":"c1"})");
}

// --- append_all: several streams in one transaction, all or nothing ---

std::vector<infra::stream_append> items_of(
    std::initializer_list<
        std::tuple<std::string_view, std::uint64_t, const std::vector<infra::new_event>*>>
        list) {
  std::vector<infra::stream_append> items;
  for (const auto& [stream, version, events] : list) items.push_back({stream, version, *events});
  return items;
}

TYPED_TEST(event_store_contract, AppendAllWritesEveryStreamInOrder) {
  auto& s = this->store();
  s.append("old", 0, {make_event("KeyCreated", "{}")}, this->metadata_, 1);
  const std::vector<infra::new_event> rotated{make_event("KeyRotated", "{\"to\":\"new\"}"),
                                              make_event("KeyUpdated", "{}")};
  const std::vector<infra::new_event> created{make_event("KeyCreated", "{\"from\":\"old\"}")};
  const auto items = items_of({{"old", 1, &rotated}, {"new", 0, &created}});

  const auto results = s.append_all(items, this->metadata_, 7);

  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].duplicate);
  EXPECT_EQ(results[0].first_seq, 2u);
  EXPECT_EQ(results[0].last_seq, 3u);
  EXPECT_EQ(results[0].stream_version, 3u);
  EXPECT_FALSE(results[1].duplicate);
  EXPECT_EQ(results[1].first_seq, 4u);
  EXPECT_EQ(results[1].last_seq, 4u);
  EXPECT_EQ(results[1].stream_version, 1u);
  const auto all = s.read_all(0, 10);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[1].type, "KeyRotated");
  EXPECT_EQ(all[2].type, "KeyUpdated");
  EXPECT_EQ(all[3].stream_id, "new");
  EXPECT_EQ(all[3].payload, "{\"from\":\"old\"}");
  EXPECT_EQ(all[3].recorded_at_us, 7);
  EXPECT_EQ(all[3].metadata, all[1].metadata);
  const auto check = infra::verify_chain(s);
  EXPECT_TRUE(check.ok) << check.problem;
  EXPECT_EQ(check.events_checked, 4u);
}

TYPED_TEST(event_store_contract, AppendAllSameStreamTwiceChainsItsVersions) {
  auto& s = this->store();
  const std::vector<infra::new_event> first{make_event("T", "{}")};
  const std::vector<infra::new_event> second{make_event("U", "{}")};
  const auto results =
      s.append_all(items_of({{"a", 0, &first}, {"a", 1, &second}}), this->metadata_, 1);
  EXPECT_EQ(results[1].stream_version, 2u);
  EXPECT_EQ(s.read_stream("a").size(), 2u);
  const std::vector<infra::new_event> stale{make_event("V", "{}")};
  const std::vector<infra::new_event> again{make_event("W", "{}")};
  EXPECT_EQ(error_of([&] {
              s.append_all(items_of({{"a", 2, &stale}, {"a", 2, &again}}), this->metadata_, 2);
            }),
            infra::errc::conflict);
  EXPECT_EQ(s.head_seq(), 2u);
}

TYPED_TEST(event_store_contract, AppendAllWrongVersionAnywhereWritesNothing) {
  auto& s = this->store();
  s.append("a", 0, {make_event("T", "{}")}, this->metadata_, 1);
  s.append("b", 0, {make_event("T", "{}")}, this->metadata_, 1);
  const std::vector<infra::new_event> x{make_event("X", "{}")};
  const std::vector<infra::new_event> y{make_event("Y", "{}")};
  const std::vector<infra::new_event> z{make_event("Z", "{}")};

  EXPECT_EQ(error_of([&] {
              s.append_all(items_of({{"a", 1, &x}, {"b", 0, &y}}), this->metadata_, 2);
            }),
            infra::errc::conflict);
  EXPECT_EQ(error_of([&] {
              s.append_all(items_of({{"a", 0, &x}, {"b", 1, &y}}), this->metadata_, 2);
            }),
            infra::errc::conflict);
  EXPECT_EQ(
      error_of([&] {
        s.append_all(items_of({{"c", 0, &z}, {"a", 1, &x}, {"b", 2, &y}}), this->metadata_, 2);
      }),
      infra::errc::conflict);
  EXPECT_EQ(s.head_seq(), 2u);
  EXPECT_TRUE(s.read_stream("c").empty());

  // The same events go in once the versions are right: the failed calls left no trace.
  const auto ok =
      s.append_all(items_of({{"c", 0, &z}, {"a", 1, &x}, {"b", 1, &y}}), this->metadata_, 3);
  EXPECT_EQ(ok[2].last_seq, 5u);
}

TYPED_TEST(event_store_contract, AppendAllEventIdAlreadyStoredIsAConflict) {
  auto& s = this->store();
  const std::vector<infra::new_event> stored{make_event("T", "{}")};
  s.append("a", 0, stored, this->metadata_, 1);
  const std::vector<infra::new_event> fresh{make_event("U", "{}")};
  const std::vector<infra::new_event> second_taken{make_event("U", "{}"), stored[0]};
  // Not items[0]'s first event: a conflict, not a retry.
  EXPECT_EQ(error_of([&] {
              s.append_all(items_of({{"b", 0, &fresh}, {"a", 1, &stored}}), this->metadata_, 2);
            }),
            infra::errc::conflict);
  EXPECT_EQ(error_of([&] {
              s.append_all(items_of({{"b", 0, &second_taken}}), this->metadata_, 2);
            }),
            infra::errc::conflict);
  EXPECT_EQ(s.head_seq(), 1u);
}

TYPED_TEST(event_store_contract, AppendAllRetryReturnsTheFirstPositionsAndWritesNothing) {
  auto& s = this->store();
  s.append("old", 0, {make_event("KeyCreated", "{}")}, this->metadata_, 1);
  const std::vector<infra::new_event> rotated{make_event("KeyRotated", "{}"),
                                              make_event("KeyUpdated", "{}")};
  const std::vector<infra::new_event> created{make_event("KeyCreated", "{}")};
  const auto items = items_of({{"old", 1, &rotated}, {"new", 0, &created}});
  const auto first = s.append_all(items, this->metadata_, 2);

  // The same call again (say, after a lost answer): versions are stale now, yet it is a retry
  const auto again = s.append_all(items, this->metadata_, 3);

  ASSERT_EQ(again.size(), 2u);
  EXPECT_TRUE(again[0].duplicate);
  EXPECT_EQ(again[0].first_seq, first[0].first_seq);
  EXPECT_EQ(again[0].last_seq, first[0].last_seq);
  EXPECT_EQ(again[0].stream_version, first[0].stream_version);
  EXPECT_TRUE(again[1].duplicate);
  EXPECT_EQ(again[1].first_seq, 0u);
  EXPECT_EQ(again[1].last_seq, 0u);
  EXPECT_EQ(again[1].stream_version, 0u);
  EXPECT_EQ(s.head_seq(), 4u);
}

TYPED_TEST(event_store_contract, AppendAllBadInputIsABadRequest) {
  auto& s = this->store();
  const std::vector<infra::new_event> none;
  const std::vector<infra::new_event> one{make_event("T", "{}")};
  const std::vector<infra::new_event> bad_utf8{make_event("T", "\xff")};
  const std::vector<infra::new_event> same_id{infra::new_event{one[0].event_id, "U", "{}"}};
  EXPECT_EQ(error_of([&] { s.append_all({}, this->metadata_, 1); }), infra::errc::bad_request);
  EXPECT_EQ(error_of([&] {
              s.append_all(items_of({{"a", 0, &one}, {"b", 0, &none}}), this->metadata_, 1);
            }),
            infra::errc::bad_request);
  EXPECT_EQ(error_of([&] {
              s.append_all(items_of({{"a", 0, &one}, {"", 0, &one}}), this->metadata_, 1);
            }),
            infra::errc::bad_request);
  EXPECT_EQ(error_of([&] {
              s.append_all(items_of({{"a", 0, &one}, {"b", 0, &bad_utf8}}), this->metadata_, 1);
            }),
            infra::errc::bad_request);
  // One event id in two items.
  EXPECT_EQ(error_of([&] {
              s.append_all(items_of({{"a", 0, &one}, {"b", 0, &same_id}}), this->metadata_, 1);
            }),
            infra::errc::bad_request);
  EXPECT_EQ(s.head_seq(), 0u);
}

TYPED_TEST(event_store_contract, ConcurrentAppendAllToOnePairExactlyOneWinsEachRound) {
  constexpr int threads = 8;
  constexpr int rounds = 4;
  auto& s = this->store();
  s.append("old", 0, {make_event("KeyCreated", "{}")}, this->metadata_, 1);
  s.append("new", 0, {make_event("KeyCreated", "{}")}, this->metadata_, 1);
  std::vector<std::unique_ptr<infra::event_store>> stores;
  for (int t = 0; t < threads; ++t) stores.push_back(this->another_store());

  for (std::uint64_t round = 1; round <= rounds; ++round) {
    std::atomic<int> wins{0}, conflicts{0}, others{0};
    std::latch start(threads);
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
      running.emplace_back([&, t] {
        const std::string mark = "{\"writer\":" + std::to_string(t) + "}";
        const std::vector<infra::new_event> a{make_event("KeyRotated", mark)};
        const std::vector<infra::new_event> b{make_event("KeyUpdated", mark),
                                              make_event("KeyUpdated", mark)};
        const auto items = items_of({{"old", round, &a}, {"new", 2 * round - 1, &b}});
        start.arrive_and_wait();
        try {
          stores[t]->append_all(items, sample_metadata(), 10);
          ++wins;
        } catch (const infra::error& e) {
          ++(e.code() == infra::errc::conflict ? conflicts : others);
        } catch (...) {
          ++others;
        }
      });
    }
    for (auto& t : running) t.join();
    EXPECT_EQ(wins.load(), 1) << "round " << round;
    EXPECT_EQ(conflicts.load(), threads - 1) << "round " << round;
    EXPECT_EQ(others.load(), 0) << "round " << round;
  }

  // Nothing partial: each round added one event to "old" and two to "new", all from its winner.
  const auto old_stream = s.read_stream("old");
  const auto new_stream = s.read_stream("new");
  ASSERT_EQ(old_stream.size(), 1u + rounds);
  ASSERT_EQ(new_stream.size(), 1u + 2 * rounds);
  for (std::size_t r = 1; r <= rounds; ++r) {
    const auto& a = old_stream[r];
    const auto& b1 = new_stream[2 * r - 1];
    const auto& b2 = new_stream[2 * r];
    EXPECT_EQ(a.payload, b1.payload);
    EXPECT_EQ(a.payload, b2.payload);
    EXPECT_EQ(b1.global_seq, a.global_seq + 1);
    EXPECT_EQ(b2.global_seq, a.global_seq + 2);
  }
  EXPECT_EQ(s.head_seq(), 2u + 3 * rounds);
  const auto check = infra::verify_chain(s);
  EXPECT_TRUE(check.ok) << check.problem;
}

TEST(event_store_contract_rows, MemoryAndPgStoreIdenticalRows) {
  memory_fixture memory;
  pg_fixture pg;
  const auto metadata = sample_metadata();
  for (int i = 0; i < 20; ++i) {
    const std::vector<infra::new_event> events{
        make_event("KeyCreated", "{\"n\":\"caf\xc3\xa9 " + std::to_string(i) + "\"}")};
    const std::string stream = std::to_string(i % 4) + "_s";
    const auto version = static_cast<std::uint64_t>(i / 4);
    const auto m = memory.store.append(stream, version, events, metadata, 1000 * i - 5000);
    const auto p = pg.store.append(stream, version, events, metadata, 1000 * i - 5000);
    EXPECT_EQ(m.first_seq, p.first_seq);
    EXPECT_EQ(m.stream_version, p.stream_version);
  }
  // append_all too, a stream twice included.
  for (int i = 0; i < 5; ++i) {
    const std::vector<infra::new_event> a{
        make_event("KeyRotated", "{\"i\":" + std::to_string(i) + "}")};
    const std::vector<infra::new_event> b{make_event("KeyCreated", "{}"),
                                          make_event("KeyUpdated", "{}")};
    const auto version = static_cast<std::uint64_t>(5 + i);
    const std::string fresh = "r_" + std::to_string(i);
    const auto items = items_of({{"0_s", version, &a}, {fresh, 0, &b}});
    const auto m = memory.store.append_all(items, metadata, 77 + i);
    const auto p = pg.store.append_all(items, metadata, 77 + i);
    EXPECT_EQ(m[1].first_seq, p[1].first_seq);
    EXPECT_EQ(m[1].stream_version, p[1].stream_version);
  }
  const auto from_memory = memory.store.read_all(0, 100);
  const auto from_pg = pg.store.read_all(0, 100);
  ASSERT_EQ(from_memory.size(), from_pg.size());
  for (std::size_t i = 0; i < from_pg.size(); ++i) {
    EXPECT_EQ(from_memory[i].global_seq, from_pg[i].global_seq);
    EXPECT_EQ(from_memory[i].stream_id, from_pg[i].stream_id);
    EXPECT_EQ(from_memory[i].version, from_pg[i].version);
    EXPECT_EQ(from_memory[i].event_id, from_pg[i].event_id);
    EXPECT_EQ(from_memory[i].payload, from_pg[i].payload);
    EXPECT_EQ(from_memory[i].metadata, from_pg[i].metadata);
    EXPECT_EQ(from_memory[i].recorded_at_us, from_pg[i].recorded_at_us);
    EXPECT_EQ(from_memory[i].hash, from_pg[i].hash) << "seq " << from_pg[i].global_seq;
  }
}

}  // namespace
}  // namespace keyledger::integration
