// pg_detail::lazy_connection: a failure that leaves the connection closed counts as a lost
// connection whatever the exception (libpq reports a connection it finds closed mid-statement
// without SQLSTATE): the call is repeated once on a new connection, or answered unavailable -
// never a storage error (500).

#include <gtest/gtest.h>

#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>

#include "infra/core/error.hpp"
#include "infra/pg/pg_detail.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

std::unique_ptr<pqxx::connection> open_plain(const std::string& conninfo) {
  return std::make_unique<pqxx::connection>(conninfo);
}

TEST(lazy_connection, AFailureThatClosedTheConnectionIsRetriedOnANewOne) {
  test_support::test_database db;
  infra::pg_detail::lazy_connection lazy(db.conninfo(), &open_plain);
  int calls = 0;
  // Given a call that fails with a plain exception after its connection went away.
  const int got = lazy.run("probe", [&](pqxx::connection& c) {
    if (++calls == 1) {
      c.disconnect();
      throw std::runtime_error("no SQLSTATE here");
    }
    pqxx::nontransaction txn(c);
    return txn.exec("SELECT 42")[0][0].as<int>();
  });
  // Then it ran again on a new connection.
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(got, 42);
}

TEST(lazy_connection, AFailureThatClosedTheConnectionIsUnavailableWhenNotRetried) {
  test_support::test_database db;
  infra::pg_detail::lazy_connection lazy(db.conninfo(), &open_plain);
  try {
    lazy.run(
        "probe",
        [](pqxx::connection& c) -> int {
          c.disconnect();
          throw std::runtime_error("no SQLSTATE here");
        },
        infra::pg_detail::on_broken::fail);
    FAIL() << "no exception";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::unavailable) << e.what();
  }
}

TEST(lazy_connection, AFailureOnAnOpenConnectionIsStillAStorageError) {
  test_support::test_database db;
  infra::pg_detail::lazy_connection lazy(db.conninfo(), &open_plain);
  int calls = 0;
  try {
    lazy.run("probe", [&](pqxx::connection&) -> int {
      ++calls;
      throw std::runtime_error("a bug, not the database");
    });
    FAIL() << "no exception";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::storage) << e.what();
  }
  EXPECT_EQ(calls, 1) << "not repeated";
}

}  // namespace
}  // namespace keyledger::integration
