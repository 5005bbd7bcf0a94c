// pg_signing_key_store against a real PostgreSQL: sealed bytes kept exactly, a kid written once
// (a repeat is harmless, other bytes a conflict, one winner among racers), bad input refused,
// a broken connection reopened, and the application role unable to change or delete a row.

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/pg/pg_signing_key_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

using infra::errc;

const std::string kid_a = "sig_AAAAAAAAAAAAAAAAAAAAAA";
const std::string kid_b = "sig_BBBBBBBBBBBBBBBBBBBBBB";

std::string every_byte() {
  std::string out;
  for (int i = 0; i < 256; ++i) out += static_cast<char>(i);  // NUL, 0xff, quotes, ...
  return out;
}

class signing_key_store_test : public ::testing::Test {
 protected:
  test_support::test_database db_;
  infra::pg_signing_key_store store_{db_.conninfo()};
};

TEST_F(signing_key_store_test, a_sealed_key_is_kept_byte_for_byte) {
  EXPECT_EQ(store_.get(kid_a), std::nullopt);
  store_.put(kid_a, every_byte());
  EXPECT_EQ(store_.get(kid_a), every_byte());
  EXPECT_EQ(store_.get(kid_b), std::nullopt);
  // Another connection sees it too.
  infra::pg_signing_key_store other(db_.conninfo());
  EXPECT_EQ(other.get(kid_a), every_byte());
}

TEST_F(signing_key_store_test, a_kid_is_written_once) {
  store_.put(kid_a, every_byte());
  // The same bytes again: a retry, done.
  EXPECT_EQ(error_of([&] { store_.put(kid_a, every_byte()); }), errc::ok);
  // Other bytes: refused, nothing changed.
  EXPECT_EQ(error_of([&] { store_.put(kid_a, "other sealed bytes, long enough to be stored"); }),
            errc::conflict);
  EXPECT_EQ(store_.get(kid_a), every_byte());
}

TEST_F(signing_key_store_test, of_racing_writers_of_one_kid_exactly_one_wins) {
  constexpr int writers = 6;
  std::atomic<int> stored{0};
  std::atomic<int> conflicts{0};
  std::latch go(writers);
  std::vector<std::thread> threads;
  for (int i = 0; i < writers; ++i) {
    threads.emplace_back([&, i] {
      infra::pg_signing_key_store mine(db_.conninfo());
      const std::string bytes = "sealed bytes of writer " + std::to_string(i) + every_byte();
      go.arrive_and_wait();
      const auto code = error_of([&] { mine.put(kid_a, bytes); });
      if (code == errc::ok) ++stored;
      if (code == errc::conflict) ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(stored.load(), 1);
  EXPECT_EQ(conflicts.load(), writers - 1);
  const auto kept = store_.get(kid_a);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->rfind("sealed bytes of writer ", 0), 0u);
}

TEST_F(signing_key_store_test, bad_input_is_refused_and_finds_nothing) {
  const std::vector<std::string> bad = {"", "sig_short", "key_AAAAAAAAAAAAAAAAAAAAAA",
                                        "sig_AAAAAAAAAAAAAAAAAAAAA'",
                                        std::string("sig_\0AAAAAAAAAAAAAAAAAAAAA", 26)};
  for (const auto& kid : bad) {
    EXPECT_EQ(error_of([&] { store_.put(kid, every_byte()); }), errc::bad_request) << kid;
    EXPECT_EQ(store_.get(kid), std::nullopt) << kid;
  }
  EXPECT_EQ(error_of([&] { store_.put(kid_a, ""); }), errc::bad_request);
  EXPECT_EQ(store_.get(kid_a), std::nullopt);
}

TEST_F(signing_key_store_test, a_broken_connection_is_reopened) {
  store_.put(kid_a, every_byte());
  admin_query(db_.admin_conninfo(),
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                  db_.name() + "' AND pid <> pg_backend_pid()");
  EXPECT_EQ(store_.get(kid_a), every_byte());
  store_.put(kid_b, every_byte());
  EXPECT_EQ(store_.get(kid_b), every_byte());
}

TEST_F(signing_key_store_test, the_application_role_can_neither_change_nor_delete_a_key) {
  store_.put(kid_a, every_byte());
  for (const char* sql : {"UPDATE signing_key_secrets SET sealed = '\\x00'",
                          "DELETE FROM signing_key_secrets", "TRUNCATE signing_key_secrets"}) {
    pqxx::connection conn(db_.conninfo());
    pqxx::nontransaction txn(conn);
    txn.exec("SET ROLE keyledger_app");
    EXPECT_THROW(txn.exec(sql), pqxx::sql_error) << sql;
  }
  EXPECT_EQ(store_.get(kid_a), every_byte());
  // And the table itself refuses a malformed kid, whoever writes.
  EXPECT_THROW(admin_query(db_.conninfo(),
                           "INSERT INTO signing_key_secrets (kid, sealed) VALUES ('nope', "
                           "decode(repeat('00', 64), 'hex'))"),
               pqxx::sql_error);
}

}  // namespace
}  // namespace keyledger::integration
