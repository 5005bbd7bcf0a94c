// The hash chain: a known-answer vector for the documented byte layout, verification over a
// long log, and tampering (by a superuser who disables the trigger) reported at its seq.

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "infra/crypto/crypto.hpp"
#include "infra/pg/pg_event_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/memory_event_store.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

infra::uuid uuid_from_hex(std::string_view hex) {
  infra::uuid id{};
  EXPECT_TRUE(infra::from_hex(hex, id));
  return id;
}

// The vectors of docs/event-store.md, computed independently (Python hashlib over the layout).
TEST(chain_hash, MatchesTheDocumentedKnownAnswers) {
  infra::recorded_event first;
  first.global_seq = 1;
  first.stream_id = "key_abc";
  first.version = 1;
  first.event_id = uuid_from_hex("00112233445566778899aabbccddeeff");
  first.type = "KeyCreated";
  first.payload = R"({"name":"ci-deploy","scopes":["leads:read"]})";
  first.metadata = R"({"actor":"key_admin","request_id":"req_1"})";
  first.recorded_at_us = 1700000000123456;
  const auto h1 = infra::chain_hash(infra::sha256_digest{}, first);
  EXPECT_EQ(infra::to_hex(h1), "f7a550f9b86c223372a7c89f8509ea8fddb4104f04b1f8d8ede0d77fee9ebfdf");

  infra::recorded_event second;
  second.global_seq = 2;
  second.stream_id = "key_abc";
  second.version = 2;
  second.event_id = uuid_from_hex("ffeeddccbbaa99887766554433221100");
  second.type = "KeyRevoked";
  second.payload =
      "{\"reason\":\"Gr\xc3\xbc\xc3\x9f"
      "e \xf0\x9f\x94\x91\"}";
  second.metadata = "{}";
  second.recorded_at_us = -1;
  EXPECT_EQ(infra::to_hex(infra::chain_hash(h1, second)),
            "334f4835c77ff15220da802e521552d848925df8800588a8cd9d45f925e451a2");
}

// chain_hash lays a usual event out in one buffer and streams a bigger one: the same bytes
// either way, checked here against the layout streamed piece by piece (as docs/event-store.md
// states it) on both sides of the buffer's size.
infra::sha256_digest streamed_chain_hash(const infra::sha256_digest& prev,
                                         const infra::recorded_event& e) {
  infra::sha256_hasher h;
  const auto be = [&h](std::uint64_t value, int bytes) {
    std::vector<std::uint8_t> out;
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    h.update(std::span<const std::uint8_t>(out));
  };
  const auto text = [&](std::string_view t) {
    be(t.size(), 4);
    h.update(t);
  };
  h.update(std::span<const std::uint8_t>(prev));
  be(e.global_seq, 8);
  text(e.stream_id);
  be(e.version, 8);
  h.update(std::span<const std::uint8_t>(e.event_id));
  text(e.type);
  text(e.payload);
  text(e.metadata);
  be(static_cast<std::uint64_t>(e.recorded_at_us), 8);
  return h.finish();
}

TEST(chain_hash, SmallAndBigEventsHashTheSameLayout) {
  infra::recorded_event e;
  e.global_seq = 77;
  e.stream_id = "api_key-key_abc";
  e.version = 3;
  e.event_id = uuid_from_hex("00112233445566778899aabbccddeeff");
  e.type = "KeyCreated";
  e.metadata = R"({"actor":"key_admin"})";
  e.recorded_at_us = 1700000000123456;
  infra::sha256_digest prev{};
  prev.fill(0x5a);
  for (const std::size_t n : {0, 1, 500, 1800, 1900, 1920, 1950, 2000, 2048, 5000, 100000}) {
    e.payload = std::string(n, 'p');
    EXPECT_EQ(infra::chain_hash(prev, e), streamed_chain_hash(prev, e)) << n;
  }
}

class hash_chain_test : public ::testing::Test {
 protected:
  // 1200 events (past verify_chain's 1000-event page) over 40 streams, in one batch.
  void append_many() {
    std::vector<std::vector<infra::new_event>> events(1200);
    std::vector<std::string> streams(events.size());  // the items' views point into these
    std::vector<infra::pg_event_store::batch_item> items;
    const auto metadata = sample_metadata();
    for (std::size_t i = 0; i < events.size(); ++i) {
      events[i].push_back(make_event("Tick", "{\"i\":" + std::to_string(i) + "}"));
      streams[i] = "stream_" + std::to_string(i % 40);
      items.push_back({streams[i], i / 40, events[i], &metadata,
                       1700000000000000 + static_cast<std::int64_t>(i)});
    }
    for (const auto& o : store_.append_batch(items))
      ASSERT_EQ(o.error, infra::errc::ok) << o.detail;
  }

  // As a superuser with the user triggers off: what an attacker with full access could do.
  void tamper(const std::string& sql) {
    admin_query(db_.conninfo(), "ALTER TABLE events DISABLE TRIGGER USER; " + sql +
                                    "; ALTER TABLE events ENABLE TRIGGER USER");
  }

  test_support::test_database db_;
  infra::pg_event_store store_{db_.conninfo()};
};

TEST_F(hash_chain_test, VerifiesALongLog) {
  append_many();
  const auto v = infra::verify_chain(store_);
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.events_checked, 1200u);
  EXPECT_EQ(v.first_bad_seq, 0u);
}

TEST_F(hash_chain_test, ReportsATamperedPayloadAtItsSeq) {
  append_many();
  tamper("UPDATE events SET payload = '{\"i\":999999}' WHERE global_seq = 1107");
  const auto v = infra::verify_chain(store_);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 1107u);
  EXPECT_EQ(v.problem, "hash mismatch");
  EXPECT_EQ(v.events_checked, 1106u);
}

TEST_F(hash_chain_test, ReportsATamperedTimestampAndARemovedEvent) {
  append_many();
  tamper(
      "UPDATE events SET recorded_at = recorded_at + interval '1 microsecond' "
      "WHERE global_seq = 3");
  auto v = infra::verify_chain(store_);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 3u);

  test_support::test_database other;
  infra::pg_event_store store(other.conninfo());
  store.append("s", 0, {make_event("A", "{}"), make_event("B", "{}"), make_event("C", "{}")},
               sample_metadata(), 1);
  admin_query(other.conninfo(),
              "SET session_replication_role = replica; "
              "DELETE FROM events WHERE global_seq = 2");
  v = infra::verify_chain(store);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 2u);
  EXPECT_EQ(v.problem, "gap before seq 3");
}

TEST(memory_store_chain, VerifiesAndMatchesTheSameLayout) {
  test_support::memory_event_store store;
  for (int i = 0; i < 30; ++i) {
    const std::string stream = std::to_string(i % 3) + "_s";
    store.append(stream, static_cast<std::uint64_t>(i / 3), {make_event("Tick", "{}")},
                 sample_metadata(), i);
  }
  const auto v = infra::verify_chain(store);
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.events_checked, 30u);
}

}  // namespace
}  // namespace keyledger::integration
