#pragma once

// `keyledger signing-keys list|rotate`: operator commands on the OAuth signing keys, talking to
// the database (DATABASE_URL) like `keyledger bootstrap` and `verify-log`, not to a server.
// docs/cli.md.

#include <functional>
#include <iosfwd>
#include <memory>

#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "infra/core/signing_key_store.hpp"
#include "infra/crypto/secret.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace keyledger::services {

/// What the commands work with. main() opens the Postgres stores; tests hand in fakes.
struct signing_keys_cli_dependencies {
  infra::event_store& events;
  infra::signing_key_store& secrets;
  /// The servers' secret, read (never created) only by rotate: a new key is sealed under it.
  std::function<infra::secret()> server_secret;
  domain::random_source& random;
  const domain::clock& clock;
};

/// Adds `signing-keys` with `list [--json]` and `rotate [--immediately] [--json]` to `app`.
/// Wiring in main(), like keys_command: construct before the parse, and after it
/// `if (signing_keys.chosen()) return signing_keys.run(deps, std::cout, std::cerr);`. Exit
/// status: 0 done, 1 refused (a rotation already under way, the wrong server secret, a
/// concurrent change) or failed, 2 usage. Never prints a private key (only kids, times and the
/// public JWK's kid). Holds CLI11's option values: must outlive the parse; not copyable.
class signing_keys_command {
 public:
  explicit signing_keys_command(CLI::App& app);
  ~signing_keys_command();
  signing_keys_command(const signing_keys_command&) = delete;
  signing_keys_command& operator=(const signing_keys_command&) = delete;

  /// True when the parsed command line chose `signing-keys ...`.
  bool chosen() const;

  /// Runs the chosen subcommand; returns the exit status (cli_exit_*). Storage errors
  /// propagate as infra::error (main logs them, exit 1).
  int run(const signing_keys_cli_dependencies& deps, std::ostream& out, std::ostream& err);

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace keyledger::services
