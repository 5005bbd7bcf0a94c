#pragma once

#include <string>
#include <vector>

namespace keyledger::infra {

/// The SQL files of schema/, embedded at build time, in order.
struct migration {
  std::string name;  ///< file name, e.g. "001_events.sql"
  std::string sql;
};
const std::vector<migration>& embedded_migrations();

/// Applies every migration not yet recorded in schema_migrations, each in its own
/// transaction, under an advisory lock (concurrent migrators wait). Idempotent. Returns the
/// names applied now. Must run as a role that may create objects and roles (the owner).
/// Throws infra::error.
std::vector<std::string> migrate(const std::string& conninfo);

}  // namespace keyledger::infra
