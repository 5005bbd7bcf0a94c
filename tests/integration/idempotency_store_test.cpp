// pg_idempotency_store against a real PostgreSQL: claim / complete / release / purge, expired
// records replaced, stored bytes exact, bad input refused, and exactly one winner among
// concurrent claimers (of a new key and of an expired one).

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/pg/pg_idempotency_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

using infra::errc;

constexpr std::int64_t t0 = 1'790'000'000'000'000;  // microseconds
constexpr std::int64_t day = 86'400'000'000;

const infra::sha256_digest fp_a = infra::sha256("POST /v1/keys {\"name\":\"a\"}");
const infra::sha256_digest fp_b = infra::sha256("POST /v1/keys {\"name\":\"b\"}");

class idempotency_store_test : public ::testing::Test {
 protected:
  // A claim at `now` that keeps records for a day.
  std::optional<infra::idempotency_record> claim(std::string_view key,
                                                 const infra::sha256_digest& fp,
                                                 std::int64_t now = t0,
                                                 std::string_view scope = "key_admin") {
    return store_.claim(scope, key, fp, now, now - day);
  }

  void terminate_sessions() {
    admin_query(db_.admin_conninfo(),
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                    db_.name() + "' AND pid <> pg_backend_pid()");
  }

  test_support::test_database db_;
  infra::pg_idempotency_store store_{db_.conninfo()};
};

TEST_F(idempotency_store_test, FirstClaimWinsThenTheRecordIsReturnedAsIs) {
  EXPECT_EQ(claim("idem-1", fp_a), std::nullopt);

  // A retry while the first is running: the pending record, unchanged
  const auto pending = claim("idem-1", fp_a, t0 + 5);
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->scope, "key_admin");
  EXPECT_EQ(pending->key, "idem-1");
  EXPECT_EQ(pending->fingerprint, fp_a);
  EXPECT_FALSE(pending->complete);
  EXPECT_EQ(pending->response, "");
  EXPECT_EQ(pending->created_at_us, t0);

  // Another body under the same key: the caller sees the other fingerprint (422)
  const auto other = claim("idem-1", fp_b, t0 + 6);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->fingerprint, fp_a);
}

TEST_F(idempotency_store_test, CompleteKeepsTheResponseByteForByteAndOnlyOnce) {
  ASSERT_EQ(claim("idem-1", fp_a), std::nullopt);
  std::string sealed;
  for (int i = 0; i < 256; ++i) sealed += static_cast<char>(i);  // NUL, 0xff, quotes, ...
  store_.complete("key_admin", "idem-1", sealed);

  const auto done = claim("idem-1", fp_a, t0 + 1);
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->complete);
  EXPECT_EQ(done->response, sealed);
  EXPECT_EQ(done->created_at_us, t0);

  // A stored response is never overwritten nor released.
  store_.complete("key_admin", "idem-1", "other");
  store_.release("key_admin", "idem-1");
  EXPECT_EQ(claim("idem-1", fp_a, t0 + 2)->response, sealed);

  // An empty response is a complete one too.
  ASSERT_EQ(claim("idem-2", fp_a), std::nullopt);
  store_.complete("key_admin", "idem-2", "");
  const auto empty = claim("idem-2", fp_a);
  EXPECT_TRUE(empty->complete);
  EXPECT_EQ(empty->response, "");
}

TEST_F(idempotency_store_test, ReleaseLetsTheNextClaimRunAgain) {
  ASSERT_EQ(claim("idem-1", fp_a), std::nullopt);
  store_.release("key_admin", "idem-1");
  EXPECT_EQ(claim("idem-1", fp_b, t0 + 1), std::nullopt);
  EXPECT_EQ(claim("idem-1", fp_a, t0 + 2)->fingerprint, fp_b);
  // Releasing what does not exist is harmless.
  store_.release("key_admin", "idem-unknown");
  store_.release("", "");
  store_.complete("key_other", "idem-1", "x");
  EXPECT_FALSE(claim("idem-1", fp_a)->complete);
}

TEST_F(idempotency_store_test, ScopesAreSeparate) {
  EXPECT_EQ(claim("idem-1", fp_a, t0, "key_1"), std::nullopt);
  EXPECT_EQ(claim("idem-1", fp_b, t0, "key_2"), std::nullopt);
  EXPECT_EQ(claim("idem-1", fp_a, t0, "key_2")->fingerprint, fp_b);
}

TEST_F(idempotency_store_test, AnExpiredRecordIsReplaced) {
  ASSERT_EQ(claim("pending", fp_a, t0), std::nullopt);
  ASSERT_EQ(claim("done", fp_a, t0), std::nullopt);
  store_.complete("key_admin", "done", "old response");

  // Still within the window (created_at == expired_before is not older): kept
  EXPECT_TRUE(store_.claim("key_admin", "done", fp_b, t0 + day, t0));
  // A day and a microsecond later: both are replaced by a fresh pending claim
  EXPECT_EQ(store_.claim("key_admin", "done", fp_b, t0 + day + 1, t0 + 1), std::nullopt);
  EXPECT_EQ(store_.claim("key_admin", "pending", fp_b, t0 + day + 1, t0 + 1), std::nullopt);
  const auto fresh = store_.claim("key_admin", "done", fp_a, t0 + day + 2, t0 + 1);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->fingerprint, fp_b);
  EXPECT_FALSE(fresh->complete);
  EXPECT_EQ(fresh->response, "");
  EXPECT_EQ(fresh->created_at_us, t0 + day + 1);
}

TEST_F(idempotency_store_test, PurgeDeletesRecordsCreatedBeforeTheCutoff) {
  ASSERT_EQ(claim("a", fp_a, t0 - 2), std::nullopt);
  ASSERT_EQ(claim("b", fp_a, t0 - 1), std::nullopt);
  store_.complete("key_admin", "b", "response");
  ASSERT_EQ(claim("c", fp_a, t0), std::nullopt);
  EXPECT_EQ(store_.purge(t0), 2u);
  EXPECT_EQ(store_.purge(t0), 0u);
  EXPECT_EQ(claim("a", fp_b, t0 + 1), std::nullopt);  // gone: claimable again
  EXPECT_TRUE(claim("c", fp_b, t0 + 1));
  EXPECT_EQ(store_.purge(std::numeric_limits<std::int64_t>::min()), 0u);
  EXPECT_EQ(store_.purge(std::numeric_limits<std::int64_t>::max()), 2u);
}

TEST_F(idempotency_store_test, BadInputIsABadRequest) {
  const std::string too_long(infra::pg_idempotency_store::max_text_bytes + 1, 'k');
  EXPECT_EQ(error_of([&] { claim("", fp_a); }), errc::bad_request);
  EXPECT_EQ(error_of([&] { claim("idem", fp_a, t0, ""); }), errc::bad_request);
  EXPECT_EQ(error_of([&] { claim(std::string_view("a\0b", 3), fp_a); }), errc::bad_request);
  EXPECT_EQ(error_of([&] { claim("\xff\xfe", fp_a); }), errc::bad_request);
  EXPECT_EQ(error_of([&] { claim(too_long, fp_a); }), errc::bad_request);
  EXPECT_EQ(
      error_of([&] { store_.claim("s", "k", fp_a, std::numeric_limits<std::int64_t>::max(), 0); }),
      errc::bad_request);
  // The longest key that is accepted, and an expiry bound from far outside the range.
  EXPECT_EQ(claim(std::string(infra::pg_idempotency_store::max_text_bytes, 'k'), fp_a),
            std::nullopt);
  EXPECT_EQ(store_.claim("s", "k", fp_a, t0, std::numeric_limits<std::int64_t>::min()),
            std::nullopt);
  EXPECT_TRUE(store_.claim("s", "k", fp_a, t0, std::numeric_limits<std::int64_t>::min()));
}

TEST_F(idempotency_store_test, ConcurrentClaimsHaveExactlyOneWinner) {
  constexpr int threads = 8;
  constexpr int rounds = 10;
  std::vector<std::unique_ptr<infra::pg_idempotency_store>> stores;
  for (int t = 0; t < threads; ++t) {
    stores.push_back(std::make_unique<infra::pg_idempotency_store>(db_.conninfo()));
  }
  // Rounds 0..4 race for a new key; rounds 5..9 for a key whose record has expired.
  for (int round = 0; round < rounds; ++round) {
    const std::string key = "idem-" + std::to_string(round);
    const bool expired = round >= rounds / 2;
    if (expired) {
      ASSERT_EQ(claim(key, fp_a, t0 - 2 * day), std::nullopt);
      if (round % 2 == 0) store_.complete("key_admin", key, "old");
    }
    std::atomic<int> winners{0}, saw_winner{0}, other{0};
    std::vector<infra::sha256_digest> fingerprints(threads);
    for (int t = 0; t < threads; ++t) fingerprints[t] = infra::sha256(key + std::to_string(t));
    std::atomic<int> winner{-1};
    std::latch start(threads);
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
      running.emplace_back([&, t] {
        start.arrive_and_wait();
        try {
          const auto r = stores[t]->claim("key_admin", key, fingerprints[t], t0, t0 - day);
          if (!r) {
            ++winners;
            winner = t;
          } else if (!r->complete && r->created_at_us == t0) {
            ++saw_winner;
          } else {
            ++other;
          }
        } catch (...) {
          ++other;
        }
      });
    }
    for (auto& t : running) t.join();
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    EXPECT_EQ(saw_winner.load(), threads - 1) << "round " << round;
    EXPECT_EQ(other.load(), 0) << "round " << round;
    // The stored record is the winner's.
    ASSERT_GE(winner.load(), 0);
    const auto stored = claim(key, fp_b, t0 + 1);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->fingerprint, fingerprints[winner.load()]) << "round " << round;
  }
}

TEST_F(idempotency_store_test, AfterABrokenConnection) {
  ASSERT_EQ(claim("idem-1", fp_a), std::nullopt);
  terminate_sessions();
  // complete() is repeated on a new connection (repeating it changes nothing)
  store_.complete("key_admin", "idem-1", "response");
  EXPECT_EQ(claim("idem-1", fp_a)->response, "response");

  // claim() is not: its outcome would be unknown. The caller answers 503; the next call
  // reconnects.
  terminate_sessions();
  EXPECT_EQ(error_of([&] { claim("idem-2", fp_a); }), errc::unavailable);
  EXPECT_EQ(claim("idem-2", fp_a), std::nullopt);
  terminate_sessions();
  store_.release("key_admin", "idem-2");
  terminate_sessions();
  EXPECT_EQ(store_.purge(t0 + 1), 1u);
}

TEST(idempotency_store_unreachable, IsUnavailable) {
  infra::pg_idempotency_store store(
      "host=127.0.0.1 port=1 dbname=none user=none connect_timeout=2");
  EXPECT_EQ(error_of([&] { store.claim("s", "k", fp_a, t0, t0 - day); }), errc::unavailable);
  EXPECT_EQ(error_of([&] { store.complete("s", "k", "r"); }), errc::unavailable);
  EXPECT_EQ(error_of([&] { store.purge(t0); }), errc::unavailable);
}

}  // namespace
}  // namespace keyledger::integration
