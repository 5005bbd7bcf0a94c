#pragma once

// `keyledger audit public-key | export | verify`: the auditors' commands (and the group that
// `audit replay`, services/cli/audit_replay_cli.hpp, joins) (docs/audit.md,
// docs/cli.md). public-key and export read the servers' database (DATABASE_URL); verify needs
// nothing but a file and the log's verifier key.

#include <functional>
#include <iosfwd>
#include <memory>

#include "domain/types.hpp"
#include "infra/core/audit_store.hpp"
#include "infra/core/event_store.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace keyledger::services {

/// The `audit` subcommand group of `app`: the one already added, or a new one. Every audit
/// command (public-key, export, verify here; replay in audit_replay_cli.hpp) joins it through
/// here, so that they may be registered in any order.
CLI::App& audit_group(CLI::App& app);

/// What the commands work with: the stores are opened only by the commands that read the
/// database (main opens Postgres; tests hand in fakes).
struct audit_cli_dependencies {
  std::function<infra::event_store&()> events;
  std::function<infra::audit_store&()> audit;
  const domain::clock& clock;
  /// Whether stderr is a terminal (export prints a progress line there).
  bool progress_on_terminal = false;
};

/// Adds `audit` with `public-key`, `export --out FILE [--since SEQ]` and
/// `verify FILE --public-key KEY [--checkpoint FILE]`. Exit status: 0 done (verify: all holds),
/// 1 failed (verify: something does not hold, named on stdout), 2 usage.
class audit_command {
 public:
  explicit audit_command(CLI::App& app);
  ~audit_command();
  audit_command(const audit_command&) = delete;
  audit_command& operator=(const audit_command&) = delete;

  /// True when the parsed command line chose public-key, export or verify (not replay).
  bool chosen() const;
  int run(const audit_cli_dependencies& deps, std::ostream& out, std::ostream& err);

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace keyledger::services
