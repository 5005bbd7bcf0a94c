#include "infra/pg/migrations.hpp"

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/pg/pg_detail.hpp"

namespace keyledger::infra {

namespace {

// Session-level advisory lock held while migrating ("kl_migra" in ASCII); a concurrent migrator
// of the same database waits, then finds everything applied.
constexpr std::int64_t migrate_lock_key = 0x6b6c5f6d69677261;

}  // namespace

std::vector<std::string> migrate(const std::string& conninfo) {
  std::vector<std::string> applied;
  std::string current = "connect";
  try {
    pqxx::connection conn(conninfo);
    conn.set_client_encoding("UTF8");
    {
      pqxx::nontransaction txn(conn);
      current = "lock";
      txn.exec("SELECT pg_advisory_lock(" + std::to_string(migrate_lock_key) + ")");
      current = "schema_migrations";
      txn.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " name text PRIMARY KEY,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
    }
    conn.prepare("kl_migration_applied", "SELECT 1 FROM schema_migrations WHERE name = $1");
    conn.prepare("kl_migration_record", "INSERT INTO schema_migrations (name) VALUES ($1)");

    // Each migration and its record commit together, so a failed one leaves no trace and is
    // retried by the next run.
    for (const migration& m : embedded_migrations()) {
      current = m.name;
      pqxx::work txn(conn);
      if (!txn.exec_prepared("kl_migration_applied", m.name).empty()) continue;
      txn.exec(m.sql);
      txn.exec_prepared("kl_migration_record", m.name);
      txn.commit();
      applied.push_back(m.name);
      log(log_level::info, "migration_applied", {{"name", m.name}});
    }
    // The lock is released when the connection closes.
  } catch (...) {
    // A database that cannot be reached is "unavailable"; a migration that fails is "storage".
    pg_detail::rethrow_translated("migrate " + current);
  }
  return applied;
}

}  // namespace keyledger::infra
