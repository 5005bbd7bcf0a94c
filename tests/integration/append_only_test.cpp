// The events table is append-only: the application role may only SELECT and INSERT, and a
// trigger refuses UPDATE, DELETE and TRUNCATE even to a superuser.

#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <string>

#include "infra/pg/pg_event_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

class append_only_test : public ::testing::Test {
 protected:
  void SetUp() override {
    infra::pg_event_store store(db_.conninfo());
    store.append("key_1", 0,
                 {make_event("KeyCreated", "{\"n\":1}"), make_event("KeyUpdated", "{}")},
                 sample_metadata(), 1);
  }

  // Runs `sql` in its own transaction on a fresh connection, optionally as keyledger_app, and
  // returns the SQLSTATE it failed with ("" when it succeeded).
  std::string failure_of(const std::string& sql, bool as_app) {
    pqxx::connection conn(db_.conninfo());
    try {
      pqxx::work txn(conn);
      if (as_app) txn.exec("SET LOCAL ROLE keyledger_app");
      txn.exec(sql);
      txn.commit();
      return "";
    } catch (const pqxx::insufficient_privilege& e) {
      // libpqxx 6.4 leaves sqlstate() empty for this class; the class is the code.
      last_message_ = e.what();
      return "42501";
    } catch (const pqxx::sql_error& e) {
      last_message_ = e.what();
      return e.sqlstate().empty() ? "?????" : e.sqlstate();
    }
  }

  std::string rows() {
    return admin_query(db_.conninfo(),
                       "SELECT count(*) || ':' || string_agg(payload, '|' ORDER BY global_seq) "
                       "FROM events")[0][0]
        .c_str();
  }

  test_support::test_database db_;
  std::string last_message_;
};

TEST_F(append_only_test, ApplicationRoleCannotUpdateDeleteOrTruncate) {
  const std::string before = rows();
  EXPECT_EQ(failure_of("UPDATE events SET payload = '{}'", true), "42501");
  EXPECT_EQ(failure_of("DELETE FROM events", true), "42501");
  EXPECT_EQ(failure_of("TRUNCATE events", true), "42501");
  EXPECT_EQ(rows(), before);
  // What it may do:
  EXPECT_EQ(failure_of("SELECT count(*) FROM events", true), "");
}

TEST_F(append_only_test, TriggerRefusesEvenASuperuser) {
  const std::string before = rows();
  EXPECT_EQ(failure_of("UPDATE events SET payload = '{\"n\":2}' WHERE global_seq = 1", false),
            "42501");
  EXPECT_NE(last_message_.find("append-only"), std::string::npos) << last_message_;
  EXPECT_EQ(failure_of("DELETE FROM events WHERE global_seq = 2", false), "42501");
  EXPECT_NE(last_message_.find("append-only"), std::string::npos) << last_message_;
  EXPECT_EQ(failure_of("TRUNCATE events", false), "42501");
  EXPECT_NE(last_message_.find("append-only"), std::string::npos) << last_message_;
  EXPECT_EQ(rows(), before);
}

TEST_F(append_only_test, ApplicationRoleHoldsOnlySelectAndInsert) {
  const auto r = admin_query(db_.conninfo(), R"sql(
    SELECT has_table_privilege('keyledger_app', 'events', 'SELECT'),
           has_table_privilege('keyledger_app', 'events', 'INSERT'),
           has_table_privilege('keyledger_app', 'events', 'UPDATE'),
           has_table_privilege('keyledger_app', 'events', 'DELETE'),
           has_table_privilege('keyledger_app', 'events', 'TRUNCATE'),
           has_table_privilege('keyledger_app', 'events', 'REFERENCES'),
           has_table_privilege('keyledger_app', 'events', 'TRIGGER'),
           has_table_privilege('keyledger_app', 'schema_migrations', 'SELECT'),
           has_schema_privilege('keyledger_app', 'public', 'CREATE'),
           (SELECT rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls
              FROM pg_roles WHERE rolname = 'keyledger_app'),
           -- PUBLIC (grantee 0) holds nothing on events.
           (SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.relname = 'events' AND a.grantee = 0),
           pg_has_role(current_user, 'keyledger_app', 'MEMBER')
  )sql");
  const auto row = r[0];
  EXPECT_TRUE(row[0].as<bool>());
  EXPECT_TRUE(row[1].as<bool>());
  for (int i = 2; i <= 9; ++i) EXPECT_FALSE(row[i].as<bool>()) << "column " << i;
  EXPECT_EQ(row[10].as<int>(), 0);
  EXPECT_TRUE(row[11].as<bool>());
}

TEST_F(append_only_test, EventStoreWorksAsTheApplicationRole) {
  // A plain login role that is a member of keyledger_app: the store must SET ROLE to write.
  const std::string login = db_.name() + "_login";
  admin_query(db_.admin_conninfo(),
              "CREATE ROLE " + login + " LOGIN NOINHERIT IN ROLE keyledger_app");
  struct drop_role {
    std::string admin, role;
    ~drop_role() {
      try {
        admin_query(admin, "DROP ROLE IF EXISTS " + role);
      } catch (...) {
      }
    }
  } cleanup{db_.admin_conninfo(), login};

  // NOINHERIT: without SET ROLE the login role has no privileges on events at all.
  infra::pg_event_store store(db_.conninfo_with("user=" + login));
  const auto r = store.append("key_2", 0, {make_event("KeyCreated", "{}")}, sample_metadata(), 2);
  EXPECT_EQ(r.first_seq, 3u);
  EXPECT_EQ(store.read_stream("key_2").size(), 1u);
}

}  // namespace
}  // namespace keyledger::integration
