// The keyledger executable: serve | migrate | bootstrap | verify-log | keys | signing-keys |
// audit.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "domain/keys/key_format.hpp"
#include "domain/net.hpp"
#include "domain/people/policy.hpp"
#include "domain/people/user.hpp"
#include "domain/workspace/workspace.hpp"
#include "infra/core/blocking_pool.hpp"
#include "infra/core/config.hpp"
#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/http/server.hpp"
#include "infra/json/json.hpp"
#include "infra/pg/migrations.hpp"
#include "infra/pg/pg_audit_store.hpp"
#include "infra/pg/pg_event_store.hpp"
#include "infra/pg/pg_idempotency_store.hpp"
#include "infra/pg/pg_people_store.hpp"
#include "infra/pg/pg_signing_key_store.hpp"
#include "infra/pg/pg_subscription.hpp"
#include "infra/pg/pg_telemetry_store.hpp"
#include "services/app/expiry_job.hpp"
#include "services/app/housekeeping.hpp"
#include "services/app/key_service.hpp"
#include "services/app/oauth/authorization_service.hpp"
#include "services/app/oauth/client_service.hpp"
#include "services/app/oauth/introspection.hpp"
#include "services/app/oauth/signing_key_ring.hpp"
#include "services/app/oauth/signing_key_service.hpp"
#include "services/app/oauth/token_service.hpp"
#include "services/app/rate_limiter.hpp"
#include "services/app/usage_recorder.hpp"
#include "services/app/user_service.hpp"
#include "services/app/verifier.hpp"
#include "services/app/workspace_service.hpp"
#include "services/cli/audit_cli.hpp"
#include "services/cli/audit_replay_cli.hpp"
#include "services/cli/keys_cli.hpp"
#include "services/cli/scan_cli.hpp"
#include "services/cli/signing_keys_cli.hpp"
#include "services/http/api_handler.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/oauth/oauth_routes.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/directory_view.hpp"
#include "services/projections/oauth_client_view.hpp"
#include "services/projections/oauth_grant_view.hpp"
#include "services/serve.hpp"

namespace kl = keyledger;
using kl::infra::log;
using kl::infra::log_level;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_error = 1;
constexpr int exit_exists = 3;

int migrate(const kl::infra::config& cfg) {
  auto applied = kl::infra::migrate(kl::infra::require_database_url(cfg));
  log(log_level::info, "migrations_done", {{"applied", std::to_string(applied.size())}});
  return exit_ok;
}

struct bootstrap_options {
  std::string workspace;
  std::string prefix{kl::domain::default_key_prefix};
  kl::domain::key_policy policy;
  std::vector<std::string> scope_catalog;
  std::string owner_email{"admin@localhost"};
};

int bootstrap(const kl::infra::config& cfg, const bootstrap_options& o) {
  if (!kl::domain::valid_workspace_name(o.workspace)) {
    std::cerr << "keyledger: invalid workspace name (1-63 characters of a-z 0-9 -)\n";
    return exit_error;
  }
  if (!kl::domain::valid_key_prefix(o.prefix)) {
    std::cerr << "keyledger: invalid prefix (a lowercase letter then 1-9 of a-z 0-9)\n";
    return exit_error;
  }
  if (!kl::domain::valid_key_policy(o.policy)) {
    std::cerr << "keyledger: invalid key lifespans (1 <= default <= maximum <= 3650 days)\n";
    return exit_error;
  }
  if (!kl::domain::valid_catalog(o.scope_catalog)) {
    std::cerr << "keyledger: invalid scope catalog (resource:action scopes, no management "
                 "scopes, no duplicates, at most 64)\n";
    return exit_error;
  }
  const auto email = kl::domain::normalize_email(o.owner_email);
  if (!kl::domain::valid_email(email)) {
    std::cerr << "keyledger: invalid owner email\n";
    return exit_error;
  }
  const auto& url = kl::infra::require_database_url(cfg);
  kl::infra::system_clock clock;
  kl::infra::openssl_random_source random;
  auto server_secret = kl::infra::load_or_create_server_secret(cfg);
  kl::services::user_service users(
      kl::infra::derive_key(server_secret.reveal(), "keyledger/invitation/v1"),
      kl::infra::derive_key(server_secret.reveal(), "keyledger/csrf/v1"), random, clock, {});
  // Seals the OAuth authorization request between the login and consent pages.
  kl::infra::response_sealer interactions(
      kl::infra::derive_key(server_secret.reveal(), "keyledger/oauth/interaction/v1"));
  kl::infra::hmac_key_hasher hasher(std::move(server_secret));
  kl::infra::pg_event_store store(url);
  kl::infra::pg_people_store people(url);
  kl::services::key_service keys(hasher, random, clock);
  kl::services::workspace_service workspaces(keys, random, clock);
  const kl::services::request_context ctx{"bootstrap", kl::domain::new_id("req", random), "", ""};

  // The owner is made once the workspace exists; the admin key is theirs.
  std::optional<kl::services::bootstrapped_owner> owner;
  auto result = workspaces.bootstrap(
      store, o.workspace, o.prefix, ctx, o.policy, o.scope_catalog,
      [&](const kl::domain::workspace_state& w) -> std::string {
        auto made = users.bootstrap_owner(store, people, w.workspace_id, email, ctx);
        if (!made) {
          throw kl::infra::error(kl::infra::errc::internal,
                                 std::string("creating the owner failed: ") +
                                     std::string(kl::services::to_string(made.error())));
        }
        owner.emplace(std::move(made.value()));
        return owner->user_id;
      });
  if (!result) {
    if (result.error() == kl::domain::rejection::workspace_already_exists) {
      std::cerr << "keyledger: workspace '" << o.workspace << "' already exists\n";
      return exit_exists;
    }
    std::cerr << "keyledger: bootstrap refused: " << kl::domain::to_string(result.error()) << "\n";
    return exit_error;
  }
  const auto& w = result->workspace;
  const auto& admin = result->admin_key;
  kl::infra::json_writer out;
  out.begin_object()
      .field("workspace_id", w.workspace_id)
      .field("name", w.name)
      .field("prefix", w.key_prefix)
      .field("owner_user_id", owner->user_id)
      .field("owner_email", email)
      .field("owner_password", owner->password.reveal())
      .field("key_id", admin.state.key_id)
      .field("key", admin.key.reveal())
      .end_object();
  // The admin key and the owner's password go to stdout only, once; never to the log.
  std::cout << out.str() << std::endl;
  log(log_level::info, "workspace_bootstrapped",
      {{"workspace_id", w.workspace_id},
       {"owner_user_id", owner->user_id},
       {"key_id", admin.state.key_id}});
  return exit_ok;
}

int run_signing_keys(const kl::infra::config& cfg, kl::services::signing_keys_command& command) {
  const auto& url = kl::infra::require_database_url(cfg);
  kl::infra::system_clock clock;
  kl::infra::openssl_random_source random;
  kl::infra::pg_event_store events(url);
  kl::infra::pg_signing_key_store secrets(url);
  return command.run(
      {events, secrets, [&cfg] { return kl::infra::load_server_secret(cfg); }, random, clock},
      std::cout, std::cerr);
}

/// `keyledger audit ...`: the database is opened only by the commands that read it.
int run_audit(kl::services::audit_command& command) {
  kl::infra::system_clock clock;
  std::unique_ptr<kl::infra::pg_event_store> events;
  std::unique_ptr<kl::infra::pg_audit_store> audit;
  std::optional<kl::infra::config> cfg;
  const auto url = [&cfg]() -> const std::string& {
    if (!cfg) cfg = kl::infra::load_config_from_env();
    return kl::infra::require_database_url(*cfg);
  };
  return command.run(
      {[&]() -> kl::infra::event_store& {
         if (!events) events = std::make_unique<kl::infra::pg_event_store>(url());
         return *events;
       },
       [&]() -> kl::infra::audit_store& {
         if (!audit) audit = std::make_unique<kl::infra::pg_audit_store>(url());
         return *audit;
       },
       clock, ::isatty(2) == 1},
      std::cout, std::cerr);
}

int verify_log(const kl::infra::config& cfg) {
  kl::infra::pg_event_store store(kl::infra::require_database_url(cfg));
  auto v = kl::infra::verify_chain(store);
  kl::infra::json_writer out;
  out.begin_object()
      .field("ok", v.ok)
      .field("events_checked", static_cast<std::uint64_t>(v.events_checked));
  if (!v.ok) {
    out.field("first_bad_seq", static_cast<std::uint64_t>(v.first_bad_seq))
        .field("problem", v.problem);
  }
  out.end_object();
  std::cout << out.str() << std::endl;
  return v.ok ? exit_ok : exit_error;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "keyledger: event-sourced API key lifecycle service.\n"
      "Configuration comes from the environment: DATABASE_URL, KEYLEDGER_LISTEN "
      "(default 127.0.0.1:8080), KEYLEDGER_DATA_DIR (default .local/), KEYLEDGER_SECRET_FILE, "
      "KEYLEDGER_IO_THREADS, KEYLEDGER_DB_THREADS, KEYLEDGER_DB_QUEUE, KEYLEDGER_LOG_LEVEL, "
      "KEYLEDGER_TRUSTED_PROXIES, KEYLEDGER_EXPIRY_INTERVAL_MS, KEYLEDGER_USAGE_FLUSH_MS, "
      "KEYLEDGER_REQUEST_LOG_DAYS, KEYLEDGER_LEAK_REPORTER_KEYS, "
      "KEYLEDGER_POSTBACK_ALLOW_PRIVATE, KEYLEDGER_POSTBACK_THREADS, KEYLEDGER_POSTBACK_TIMEOUT_MS, "
      "KEYLEDGER_POSTBACK_POLL_MS, KEYLEDGER_POSTBACK_FAILURE_WINDOW_SECONDS, "
      "KEYLEDGER_POSTBACK_CA_FILE (docs/operations.md)."};
  app.require_subcommand(1);

  auto* serve_cmd = app.add_subcommand(
      "serve", "Serve the HTTP API until SIGINT/SIGTERM (needs a migrated database)");
  auto* migrate_cmd =
      app.add_subcommand("migrate", "Apply the schema migrations that are not applied yet");
  auto* bootstrap_cmd = app.add_subcommand(
      "bootstrap",
      "Create a workspace, its owner (with a one-time password) and the owner's admin key (every "
      "management scope); prints one JSON line with workspace_id, owner_email, owner_password, "
      "key_id and key. Exit 3 if the workspace exists.");
  bootstrap_options boot;
  bootstrap_cmd->add_option("--workspace", boot.workspace, "Workspace name ([a-z0-9-], 1-63)")
      ->required();
  bootstrap_cmd->add_option("--prefix", boot.prefix, "Key prefix ([a-z][a-z0-9]{1,9})")
      ->capture_default_str();
  bootstrap_cmd
      ->add_option("--owner-email", boot.owner_email,
                   "Email of the workspace's first owner (gets a one-time password)")
      ->capture_default_str();
  std::string catalog_text;
  bootstrap_cmd->add_option(
      "--scope-catalog", catalog_text,
      "The platform's own scopes keys may carry, space-separated resource:action "
      "(e.g. \"leads:read leads:write\")");
  int default_days = static_cast<int>(boot.policy.default_lifespan.count());
  int max_days = static_cast<int>(boot.policy.max_lifespan.count());
  bool forbid_spaces = false;
  bootstrap_cmd
      ->add_option("--default-key-lifespan-days", default_days,
                   "Lifespan of a key created without an expiry")
      ->capture_default_str();
  bootstrap_cmd
      ->add_option("--max-key-lifespan-days", max_days, "Longest lifespan a key may be given")
      ->capture_default_str();
  bootstrap_cmd->add_flag("--allow-no-expiry", boot.policy.allow_no_expiry,
                          "Allow keys that never expire (\"expires_at\": null)");
  bootstrap_cmd->add_flag("--forbid-spaces-in-key-names", forbid_spaces,
                          "Refuse key names that contain spaces");
  auto* verify_cmd = app.add_subcommand(
      "verify-log", "Check that the event log is gapless and its hash chain intact");

  kl::services::keys_command keys_client(app);  // `keyledger keys ...`: a client of a server
  kl::services::signing_keys_command signing_keys_cli(app);  // operator: DATABASE_URL
  kl::services::audit_command audit_cli(app);  // auditors: verify offline; export: DATABASE_URL
  kl::services::audit_replay_command audit_replay(app);  // offline: an export file
  kl::services::scan_command scan(app);                  // offline: files, for hooks and CI
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return kl::services::usage_exit_code(app, e);
  }
  // The client commands need no server configuration (no DATABASE_URL, no secret).
  if (keys_client.chosen()) return keys_client.run();
  if (scan.chosen()) return scan.run(std::cout, std::cerr);
  if (audit_replay.chosen()) {
    const kl::infra::system_clock clock;
    return audit_replay.run(clock, std::cout, std::cerr);
  }

  try {
    // The audit commands load the configuration only if they read the database.
    if (audit_cli.chosen()) return run_audit(audit_cli);
    const auto cfg = kl::infra::load_config_from_env();
    if (*serve_cmd) return kl::services::serve(cfg);
    if (*migrate_cmd) return migrate(cfg);
    if (*bootstrap_cmd) {
      boot.policy.default_lifespan = std::chrono::days(default_days);
      boot.policy.max_lifespan = std::chrono::days(max_days);
      boot.policy.names_allow_spaces = !forbid_spaces;
      std::istringstream words(catalog_text);
      for (std::string scope; words >> scope;) boot.scope_catalog.push_back(scope);
      return bootstrap(cfg, boot);
    }
    if (*verify_cmd) return verify_log(cfg);
    if (signing_keys_cli.chosen()) return run_signing_keys(cfg, signing_keys_cli);
  } catch (const kl::infra::error& e) {
    log(log_level::error, "fatal",
        {{"code", kl::infra::make_error_code(e.code()).message()}, {"detail", e.what()}});
    return exit_error;
  } catch (const std::exception& e) {
    log(log_level::error, "fatal", {{"detail", e.what()}});
    return exit_error;
  }
  return exit_error;
}
