#pragma once

#include <string>

namespace keyledger::test_support {

/// The server-level superuser URL of the test cluster, from KEYLEDGER_TEST_DATABASE_URL (e.g.
/// postgresql://postgres@127.0.0.1:5432/postgres). Throws std::runtime_error with a clear
/// message when it is unset: integration tests fail rather than silently skip.
std::string test_database_url();

/// A fresh database for one test: created on construction with a random name
/// (kl_test_xxxxxxxx, UTF8, template0) on the cluster of test_database_url(), migrated with
/// infra::migrate() unless `migrated` is false, and dropped WITH (FORCE) on destruction, so
/// connections a test leaves open do not keep it alive. Throws std::runtime_error (with what
/// failed, never a password) when the cluster cannot be reached.
class test_database {
 public:
  explicit test_database(bool migrated = true);
  ~test_database();
  test_database(const test_database&) = delete;
  test_database& operator=(const test_database&) = delete;

  /// libpq keyword/value connection string for this database, as the cluster's superuser.
  const std::string& conninfo() const noexcept { return conninfo_; }

  /// conninfo() with extra keyword=value settings appended (e.g. "application_name=sub").
  std::string conninfo_with(const std::string& settings) const;

  /// The database's name, kl_test_ followed by 8 random lowercase letters and digits.
  const std::string& name() const noexcept { return name_; }

  /// The superuser URL of the cluster (the maintenance database, not this one).
  const std::string& admin_conninfo() const noexcept { return admin_; }

 private:
  std::string admin_;
  std::string name_;
  std::string conninfo_;
};

}  // namespace keyledger::test_support
