// Migrations: embedded byte for byte, applied once, safe to run concurrently, a later migration
// applied on top of an existing log, refused on a database that is not UTF8.

#include "infra/pg/migrations.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/pg/pg_event_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

std::vector<std::string> names_of_embedded() {
  std::vector<std::string> names;
  for (const auto& m : infra::embedded_migrations()) names.push_back(m.name);
  return names;
}

TEST(embedded_migrations, AreTheSchemaFilesInOrderByteForByte) {
  const auto& all = infra::embedded_migrations();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().name, "001_events.sql");
  const auto names = names_of_embedded();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const auto& m : all) {
    std::ifstream file(std::string(KEYLEDGER_SCHEMA_DIR) + "/" + m.name, std::ios::binary);
    ASSERT_TRUE(file) << m.name;
    const std::string text{std::istreambuf_iterator<char>(file), {}};
    EXPECT_EQ(m.sql, text) << m.name;
  }
}

TEST(migrate, AppliesEverythingOnceThenNothing) {
  test_support::test_database db(false);
  EXPECT_EQ(infra::migrate(db.conninfo()), names_of_embedded());
  EXPECT_TRUE(infra::migrate(db.conninfo()).empty());
  const auto r = admin_query(db.conninfo(), "SELECT count(*) FROM schema_migrations");
  EXPECT_EQ(r[0][0].as<std::size_t>(), infra::embedded_migrations().size());
}

TEST(migrate, ConcurrentMigratorsApplyEachMigrationOnce) {
  test_support::test_database db(false);
  std::vector<std::vector<std::string>> applied(3);
  std::vector<std::string> failures(applied.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < applied.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        applied[i] = infra::migrate(db.conninfo());
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> all;
  for (std::size_t i = 0; i < applied.size(); ++i) {
    EXPECT_EQ(failures[i], "");
    all.insert(all.end(), applied[i].begin(), applied[i].end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, names_of_embedded());
}

TEST(migrate, TelemetryMigrationAppliesOnTopOfAnExistingEventLog) {
  // Given a database migrated before 002 existed, with events in it
  test_support::test_database db(false);
  const auto& all = infra::embedded_migrations();
  ASSERT_GE(all.size(), 2u);
  ASSERT_EQ(all[1].name, "002_telemetry_idempotency.sql");
  {
    pqxx::connection conn(db.conninfo());
    pqxx::work txn(conn);
    txn.exec(
        "CREATE TABLE schema_migrations (name text PRIMARY KEY, "
        "applied_at timestamptz NOT NULL DEFAULT now())");
    txn.exec(all[0].sql);
    txn.exec("INSERT INTO schema_migrations (name) VALUES ('" + all[0].name + "')");
    txn.commit();
  }
  infra::pg_event_store store(db.conninfo());
  store.append("key_1", 0, {make_event("KeyCreated", "{}")}, sample_metadata(), 1);

  // When the runner migrates it: everything after 001 is applied, once
  std::vector<std::string> later;
  for (std::size_t i = 1; i < all.size(); ++i) later.push_back(all[i].name);
  EXPECT_EQ(infra::migrate(db.conninfo()), later);
  EXPECT_TRUE(infra::migrate(db.conninfo()).empty());

  // Then the log is untouched and the new tables are there, for keyledger_app
  EXPECT_EQ(store.head_seq(), 1u);
  EXPECT_TRUE(infra::verify_chain(store).ok);
  const auto r = admin_query(
      db.conninfo(),
      "SELECT to_regclass('key_last_use') IS NOT NULL AND to_regclass('key_requests') IS NOT NULL "
      "AND to_regclass('auth_failures') IS NOT NULL AND to_regclass('idempotency_keys') IS NOT "
      "NULL, has_table_privilege('keyledger_app', 'idempotency_keys', 'DELETE'), "
      "(SELECT count(*) FROM schema_migrations)");
  EXPECT_TRUE(r[0][0].as<bool>());
  EXPECT_TRUE(r[0][1].as<bool>());
  EXPECT_EQ(r[0][2].as<std::size_t>(), all.size());
}

TEST(migrate, RefusesADatabaseThatIsNotUtf8) {
  test_support::test_database cluster(false);  // for the URL and a unique name
  const std::string name = cluster.name() + "_ascii";
  admin_query(cluster.admin_conninfo(), "SELECT 1");  // the cluster answers
  {
    pqxx::connection admin(cluster.admin_conninfo());
    pqxx::nontransaction txn(admin);
    txn.exec("CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'SQL_ASCII'");
  }
  struct drop_db {
    std::string admin, name;
    ~drop_db() {
      try {
        pqxx::connection c(admin);
        pqxx::nontransaction txn(c);
        txn.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      } catch (...) {
      }
    }
  } cleanup{cluster.admin_conninfo(), name};

  const std::string conninfo = cluster.conninfo_with("dbname=" + name);
  try {
    infra::migrate(conninfo);
    FAIL() << "migrated a SQL_ASCII database";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::storage);
    EXPECT_NE(std::string(e.what()).find("UTF8"), std::string::npos) << e.what();
  }
  const auto r = admin_query(conninfo, "SELECT count(*) FROM schema_migrations");
  EXPECT_EQ(r[0][0].as<int>(), 0);
  EXPECT_TRUE(admin_query(conninfo, "SELECT to_regclass('events') IS NULL")[0][0].as<bool>());
}

TEST(migrate, UnreachableDatabaseIsUnavailable) {
  try {
    infra::migrate("host=127.0.0.1 port=1 dbname=none connect_timeout=2");
    FAIL() << "migrated without a database";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::unavailable);
  }
}

}  // namespace
}  // namespace keyledger::integration
