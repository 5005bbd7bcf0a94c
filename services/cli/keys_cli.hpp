#pragma once

#include <iosfwd>
#include <memory>
#include <string>

namespace CLI {
class App;
class ParseError;
}  // namespace CLI

namespace keyledger::services {

/// Exit statuses of the client commands.
constexpr int cli_exit_ok = 0;
constexpr int cli_exit_error = 1;  ///< the API refused, or the server could not be reached
constexpr int cli_exit_usage = 2;  ///< bad arguments or settings (nothing was sent)

/// What the client commands read from the environment.
struct cli_environment {
  std::string url;      ///< KEYLEDGER_URL; "" means http://127.0.0.1:8080
  std::string api_key;  ///< KEYLEDGER_API_KEY; required
  std::string ca_file;  ///< KEYLEDGER_CA_FILE; "" means the system's CA store (https only)
};

/// KEYLEDGER_URL, KEYLEDGER_API_KEY and KEYLEDGER_CA_FILE from the process environment.
cli_environment cli_environment_from_env();

/// `keyledger keys list|create|rotate|revoke`: an HTTP client of a running server's key API
/// (docs/cli.md). The key travels only in the environment, never on the command line, and is
/// never printed. Output: readable tables and summaries on stdout, or the API's JSON with
/// --json; warnings and errors on stderr.
///
/// Wiring in main(), around the existing parse:
///
///     keyledger::services::keys_command keys(app);   // adds the "keys" subcommand
///     try {
///       app.parse(argc, argv);
///     } catch (const CLI::ParseError& e) {
///       return keyledger::services::usage_exit_code(app, e);  // --help 0, usage error 2
///     }
///     if (keys.chosen()) return keys.run();  // before the server configuration is loaded
///
/// The object holds the option values CLI11 writes into, so it must outlive the parse (a
/// local in main() does). Not copyable or movable.
class keys_command {
 public:
  explicit keys_command(CLI::App& app);
  ~keys_command();
  keys_command(const keys_command&) = delete;
  keys_command& operator=(const keys_command&) = delete;

  /// True when the parsed command line chose `keys ...`.
  bool chosen() const;

  /// Runs the chosen subcommand with the process environment, stdout and stderr; returns the
  /// exit status (cli_exit_*).
  int run();
  int run(const cli_environment& env, std::ostream& out, std::ostream& err);

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// The exit status for a CLI11 parse error of `app`, after printing it the way CLI11 does
/// (--help text on stdout, a usage error on stderr): 0 for --help, cli_exit_usage otherwise.
/// (CLI11's own codes are 100-127.)
int usage_exit_code(CLI::App& app, const CLI::ParseError& error);

}  // namespace keyledger::services
