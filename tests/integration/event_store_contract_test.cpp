// One contract, two implementations: the in-memory fake other tests rely on must behave like
// the PostgreSQL store for positions, conflicts, duplicates and bad input, and store the very
// same rows (metadata text and hashes included).

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/pg/pg_event_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/memory_event_store.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

struct memory_fixture {
  test_support::memory_event_store store;
};

struct pg_fixture {
  test_support::test_database db;
  infra::pg_event_store store{db.conninfo()};
};

template <class Fixture>
class event_store_contract : public ::testing::Test {
 protected:
  infra::event_store& store() { return fixture_->store; }
  std::unique_ptr<Fixture> fixture_ = std::make_unique<Fixture>();
  infra::event_metadata metadata_ = sample_metadata();
};

using implementations = ::testing::Types<memory_fixture, pg_fixture>;
TYPED_TEST_SUITE(event_store_contract, implementations);

template <class Fn>
infra::errc error_of(Fn&& fn) {
  try {
    fn();
  } catch (const infra::error& e) {
    return e.code();
  }
  return infra::errc::ok;
}

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
