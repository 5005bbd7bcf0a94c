#include "tests/support/test_database.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <stdexcept>
#include <string>

#include "infra/pg/migrations.hpp"

namespace keyledger::test_support {

namespace {

constexpr const char* url_variable = "KEYLEDGER_TEST_DATABASE_URL";

std::string random_name() {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::uniform_int_distribution<int> pick(0, sizeof alphabet - 2);
  std::string name = "kl_test_";
  for (int i = 0; i < 8; ++i) name += alphabet[pick(device)];
  return name;
}

// Single-quotes a conninfo value, escaping ' and \ as libpq requires.
std::string quote_value(const char* value) {
  std::string out = "'";
  for (const char* p = value; *p != '\0'; ++p) {
    if (*p == '\'' || *p == '\\') out += '\\';
    out += *p;
  }
  return out + "'";
}

// The same connection settings (URI or keyword/value) with dbname replaced, as keyword/value.
std::string with_dbname(const std::string& conninfo, const std::string& dbname) {
  char* message = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(conninfo.c_str(), &message), &PQconninfoFree);
  if (!options) {
    std::string why = message != nullptr ? message : "out of memory";
    PQfreemem(message);
    throw std::runtime_error(std::string(url_variable) +
                             " is not a valid connection string: " + why);
  }
  std::string out;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr || std::string(o->keyword) == "dbname") continue;
    out += std::string(o->keyword) + '=' + quote_value(o->val) + ' ';
  }
  return out + "dbname=" + quote_value(dbname.c_str());
}

void admin_exec(const std::string& admin, const std::string& sql) {
  pqxx::connection conn(admin);
  pqxx::nontransaction txn(conn);
  txn.exec(sql);
}

}  // namespace

std::string test_database_url() {
  const char* url = std::getenv(url_variable);
  if (url == nullptr || *url == '\0') {
    throw std::runtime_error(
        std::string(url_variable) +
        " is not set: integration tests need a PostgreSQL superuser URL, e.g. "
        "postgresql://postgres@127.0.0.1:5432/postgres (scripts start a private server)");
  }
  return url;
}

test_database::test_database(bool migrated) : admin_(test_database_url()), name_(random_name()) {
  conninfo_ = with_dbname(admin_, name_);
  try {
    // template0 with explicit UTF8: the event store refuses other encodings.
    admin_exec(admin_, "CREATE DATABASE " + name_ +
                           " TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'");
  } catch (const std::exception& e) {
    throw std::runtime_error("test_database: cannot create " + name_ + " via " +
                             std::string(url_variable) + ": " + e.what());
  }
  if (migrated) {
    try {
      keyledger::infra::migrate(conninfo_);
    } catch (const std::exception& e) {
      const std::string why = e.what();
      try {
        admin_exec(admin_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
      } catch (...) {
      }
      throw std::runtime_error("test_database: migrating " + name_ + " failed: " + why);
    }
  }
}

test_database::~test_database() {
  try {
    admin_exec(admin_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
    // A destructor must not throw; a leftover kl_test_ database is harmless and visible.
  }
}

std::string test_database::conninfo_with(const std::string& settings) const {
  return conninfo_ + ' ' + settings;
}

}  // namespace keyledger::test_support
