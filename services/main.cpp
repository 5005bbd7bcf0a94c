// The keyledger executable: serve | migrate | bootstrap | verify-log | keys | signing-keys.
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
#include "services/cli/keys_cli.hpp"
#include "services/cli/signing_keys_cli.hpp"
#include "services/http/api_handler.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/oauth/oauth_routes.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/directory_view.hpp"
#include "services/projections/oauth_client_view.hpp"
#include "services/projections/oauth_grant_view.hpp"

namespace kl = keyledger;
using kl::infra::log;
using kl::infra::log_level;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_error = 1;
constexpr int exit_exists = 3;

const std::string& require_database_url(const kl::infra::config& cfg) {
  if (cfg.database_url.empty()) {
    throw kl::infra::error(kl::infra::errc::config,
                           "DATABASE_URL is not set (a libpq connection string or URI)");
  }
  return cfg.database_url;
}

/// The session cookie goes without `Secure` only when nothing but this machine can reach us.
bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  auto ip = kl::domain::parse_ip(host);
  return ip && kl::domain::is_loopback(*ip);
}

/// The OAuth issuer (KEYLEDGER_ISSUER, else http://<the bound address>) and the default
/// audience of access tokens (KEYLEDGER_OAUTH_AUDIENCE, else the issuer).
kl::services::oauth_settings oauth_settings_of(const kl::infra::config& cfg, std::uint16_t port) {
  std::string issuer = cfg.issuer;
  if (issuer.empty()) {
    const bool v6 = cfg.listen_host.find(':') != std::string::npos;
    issuer = "http://" + (v6 ? "[" + cfg.listen_host + "]" : cfg.listen_host) + ":" +
             std::to_string(port);
    if (!is_loopback_host(cfg.listen_host)) {
      // Clients must reach the issuer by the name in its tokens: set it in production.
      log(log_level::warn, "oauth_issuer_not_configured", {{"issuer", issuer}});
    }
  }
  return {issuer, cfg.oauth_audience.empty() ? issuer : cfg.oauth_audience};
}

int serve(const kl::infra::config& cfg) {
  const auto& url = require_database_url(cfg);
  kl::infra::system_clock clock;
  kl::infra::openssl_random_source random;
  auto server_secret = kl::infra::load_or_create_server_secret(cfg);
  // Each use of the server secret gets its own derived key.
  kl::infra::response_sealer sealer(
      kl::infra::derive_key(server_secret.reveal(), "keyledger/idempotency/v1"));
  const kl::infra::response_sealer signing_sealer(
      kl::infra::derive_key(server_secret.reveal(), kl::services::signing_key_sealing_info));
  kl::services::user_service::options user_options;
  kl::services::user_service users(
      kl::infra::derive_key(server_secret.reveal(), "keyledger/invitation/v1"),
      kl::infra::derive_key(server_secret.reveal(), "keyledger/csrf/v1"), random, clock,
      user_options);
  // Seals the OAuth authorization request between the login and consent pages.
  kl::infra::response_sealer interactions(
      kl::infra::derive_key(server_secret.reveal(), "keyledger/oauth/interaction/v1"));
  kl::infra::hmac_key_hasher hasher(std::move(server_secret));
  auto trusted_proxies = kl::services::parse_trusted_proxies(cfg.trusted_proxies);

  // Build the views from the whole log before accepting a request, then follow it. The
  // directory first: once the key view has applied an event, the directory has it too.
  kl::services::directory_view directory;
  kl::services::oauth_client_view oauth_clients;
  kl::services::oauth_grant_view oauth_grants;
  kl::services::active_key_view view;
  const auto open_signing_secrets = [url] {
    return std::make_unique<kl::infra::pg_signing_key_store>(url);
  };
  kl::services::signing_key_ring signing_keys(signing_sealer, open_signing_secrets, clock);
  kl::infra::consumer_fan_out projections("projections");
  projections.add(directory);
  projections.add(oauth_clients);
  projections.add(oauth_grants);
  projections.add(view);
  projections.add(signing_keys);
  kl::infra::pg_subscription subscription(url, projections, {});
  subscription.catch_up();
  log(log_level::info, "projection_ready",
      {{"applied_seq", std::to_string(view.applied_seq())},
       {"keys", std::to_string(view.key_count())}});
  subscription.start();

  // One connection per pool thread and store kind, opened lazily by its thread.
  kl::infra::blocking_pool pool(cfg.db_threads, cfg.db_queue);
  std::vector<std::unique_ptr<kl::infra::pg_event_store>> stores;
  std::vector<std::unique_ptr<kl::infra::pg_telemetry_store>> telemetry;
  std::vector<std::unique_ptr<kl::infra::pg_idempotency_store>> idempotency;
  std::vector<std::unique_ptr<kl::infra::pg_people_store>> people;
  for (std::size_t i = 0; i < cfg.db_threads; ++i) {
    stores.push_back(std::make_unique<kl::infra::pg_event_store>(url));
    telemetry.push_back(std::make_unique<kl::infra::pg_telemetry_store>(url));
    idempotency.push_back(std::make_unique<kl::infra::pg_idempotency_store>(url));
    people.push_back(std::make_unique<kl::infra::pg_people_store>(url));
  }
  kl::services::key_service keys(hasher, random, clock);
  kl::services::workspace_service workspaces(keys, random, clock);
  kl::services::client_service oauth_client_service(hasher, random, clock);

  // Verification telemetry is buffered and written by its own thread and connection.
  kl::services::usage_recorder usage(
      [url] { return std::make_unique<kl::infra::pg_telemetry_store>(url); },
      {std::chrono::milliseconds(cfg.usage_flush_ms)});
  kl::services::rate_limiter limiter;
  kl::services::verifier verifier(view, hasher, limiter, usage, clock);
  usage.start();

  kl::services::expiry_job::options expiry_options;
  expiry_options.interval = std::chrono::milliseconds(cfg.expiry_interval_ms);
  expiry_options.clock = &clock;
  kl::services::expiry_job expiry(
      view, keys, [url] { return std::make_unique<kl::infra::pg_event_store>(url); },
      expiry_options);
  expiry.start();

  // Every node runs the signing key schedule; a fresh server makes its first key before it
  // answers (or, if another node was quicker, sees that node's key arrive).
  kl::services::signing_key_service signing_key_commands(signing_sealer, random, clock);
  kl::services::signing_key_rotation rotation(
      signing_key_commands, [url] { return std::make_unique<kl::infra::pg_event_store>(url); },
      open_signing_secrets, {});
  try {
    rotation.run_once();
  } catch (const std::exception& e) {
    log(log_level::error, "signing_key_rotation_failed", {{"detail", e.what()}});
  }
  if (!signing_keys.wait_for_active_key(std::chrono::steady_clock::now() +
                                        std::chrono::seconds(5))) {
    log(log_level::warn, "no_active_signing_key");  // the schedule tries again every minute
  }
  rotation.start();

  kl::services::housekeeping::options housekeeping_options;
  housekeeping_options.request_log_retention = std::chrono::days(cfg.request_log_days);
  housekeeping_options.sessions = user_options.sessions;
  kl::services::housekeeping chores(
      [url] { return std::make_unique<kl::infra::pg_telemetry_store>(url); },
      [url] { return std::make_unique<kl::infra::pg_idempotency_store>(url); },
      [url] { return std::make_unique<kl::infra::pg_people_store>(url); }, limiter, clock,
      housekeeping_options);
  chores.start();

  kl::infra::server_options options;
  options.host = cfg.listen_host;
  options.port = cfg.listen_port;
  options.io_threads = cfg.io_threads;
  // The issuer names the bound address unless configured, so the handler is made once the
  // server listens (no request is read before run()).
  kl::infra::request_handler api;
  kl::infra::http_server server(
      options,
      [&api](kl::infra::http_request&& req, kl::infra::responder respond) {
        api(std::move(req), std::move(respond));
      },
      kl::services::make_error_renderer());
  server.listen();
  const auto settings = oauth_settings_of(cfg, server.port());
  kl::services::ring_token_signer token_signer(signing_keys);
  kl::services::token_service tokens(
      {hasher, random, clock, token_signer, directory, view, oauth_grants, settings});
  kl::services::introspection_service introspection(
      {hasher, clock, token_signer, view, oauth_clients, oauth_grants, directory, settings.issuer});
  kl::services::authorization_service authorizations(
      {hasher, random, clock, directory, view, oauth_grants});
  const kl::services::oauth_components oauth{oauth_clients, oauth_grants,  oauth_client_service,
                                             tokens,        introspection, authorizations,
                                             interactions,  signing_keys,  settings};
  api = kl::services::make_api_handler({
      .view = view,
      .keys = keys,
      .workspaces = workspaces,
      .verify = verifier,
      .pool = pool,
      .store_for = [&stores](std::size_t worker) -> kl::infra::event_store& {
        return *stores[worker];
      },
      .telemetry_for = [&telemetry](std::size_t worker) -> kl::infra::telemetry_store& {
        return *telemetry[worker];
      },
      .idempotency_for = [&idempotency](std::size_t worker) -> kl::infra::idempotency_store& {
        return *idempotency[worker];
      },
      .sealer = sealer,
      .clock = clock,
      .trusted_proxies = std::move(trusted_proxies),
      .directory = directory,
      .users = users,
      .people_for = [&people](std::size_t worker) -> kl::infra::people_store& {
        return *people[worker];
      },
      .usage = usage,
      .loopback_listener = is_loopback_host(cfg.listen_host),
      .sessions = user_options.sessions,
      .oauth = oauth,
  });
  server.run();

  // In-flight requests are answered; finish queued database work, stop the jobs, write the
  // buffered telemetry, then stop following the log.
  pool.stop();
  chores.stop();
  expiry.stop();
  rotation.stop();
  usage.stop();
  subscription.stop();
  log(log_level::info, "stopped");
  return exit_ok;
}

int migrate(const kl::infra::config& cfg) {
  auto applied = kl::infra::migrate(require_database_url(cfg));
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
  const auto& url = require_database_url(cfg);
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
  const auto& url = require_database_url(cfg);
  kl::infra::system_clock clock;
  kl::infra::openssl_random_source random;
  kl::infra::pg_event_store events(url);
  kl::infra::pg_signing_key_store secrets(url);
  return command.run(
      {events, secrets, [&cfg] { return kl::infra::load_server_secret(cfg); }, random, clock},
      std::cout, std::cerr);
}

int verify_log(const kl::infra::config& cfg) {
  kl::infra::pg_event_store store(require_database_url(cfg));
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
      "KEYLEDGER_REQUEST_LOG_DAYS (docs/operations.md)."};
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return kl::services::usage_exit_code(app, e);
  }
  // The client commands need no server configuration (no DATABASE_URL, no secret).
  if (keys_client.chosen()) return keys_client.run();

  try {
    const auto cfg = kl::infra::load_config_from_env();
    if (*serve_cmd) return serve(cfg);
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
