#pragma once

// `keyledger audit replay`: the key view at an instant from an export file, offline (no
// database, no server, no secret). docs/cli.md, "audit replay". It joins the `audit` group of
// services/cli/audit_cli.hpp (audit_group).

#include <iosfwd>
#include <memory>

#include "domain/types.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace keyledger::services {

/// `keyledger audit replay --as-of T [--workspace W] [--json] FILE`: reads an export (NDJSON,
/// as `keyledger audit export` writes it, infra/json/export_codec.hpp; lines of other kinds
/// are skipped), folds the events recorded at
/// or before T with the live view's own code (services/app/key_replay.hpp) and prints every
/// key of every workspace (or of W, an id or a name) as it was then: a table, or with --json
/// the API's list answer ({"data":[key objects],"next_cursor":null}). Exit status: 0 done; 1 the
/// file cannot be read, a line is malformed or out of order, or a stream is incomplete (the
/// view is printed, the problem named on stderr); 2 usage (a bad --as-of, one after now).
/// Wiring in main(), like keys_command: construct before the parse, then
/// `if (replay.chosen()) return replay.run(clock, std::cout, std::cerr);` before the server's
/// configuration is loaded. Holds CLI11's option values: must outlive the parse.
class audit_replay_command {
 public:
  explicit audit_replay_command(CLI::App& app);
  ~audit_replay_command();
  audit_replay_command(const audit_replay_command&) = delete;
  audit_replay_command& operator=(const audit_replay_command&) = delete;

  /// True when the parsed command line chose `audit replay`.
  bool chosen() const;

  /// Runs it; `clock` says what "after now" is. Returns the exit status (cli_exit_*).
  int run(const domain::clock& clock, std::ostream& out, std::ostream& err);

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace keyledger::services
