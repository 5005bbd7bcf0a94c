// `keyledger serve`: the composition root of the server - the stores, the views and the
// subscription that feeds them, the jobs, the services, the HTTP API - and its orderly stop.
#include "services/serve.hpp"

#include <chrono>
#include <cstdint>
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
#include "infra/core/fd_limit.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/crypto/rfc6962_hasher.hpp"
#include "infra/http/server.hpp"
#include "infra/json/json.hpp"
#include "infra/pg/group_commit.hpp"
#include "infra/pg/migrations.hpp"
#include "infra/pg/pg_audit_store.hpp"
#include "infra/pg/pg_event_store.hpp"
#include "infra/pg/pg_idempotency_store.hpp"
#include "infra/pg/pg_people_store.hpp"
#include "infra/pg/pg_signing_key_store.hpp"
#include "infra/pg/pg_subscription.hpp"
#include "infra/pg/pg_telemetry_store.hpp"
#include "infra/pg/pg_webhook_store.hpp"
#include "services/app/audit/audit_jobs.hpp"
#include "services/app/audit/audit_log_writer.hpp"
#include "services/app/audit/audit_monitor.hpp"
#include "services/app/audit/audit_proofs.hpp"
#include "services/app/audit/checkpoint_key.hpp"
#include "services/app/expiry_job.hpp"
#include "services/app/housekeeping.hpp"
#include "services/app/key_service.hpp"
#include "services/app/leaks/leak_reporters.hpp"
#include "services/app/leaks/leak_service.hpp"
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
#include "services/app/webhooks/endpoint_service.hpp"
#include "services/app/webhooks/postback_sender.hpp"
#include "services/app/webhooks/webhook_dispatcher.hpp"
#include "services/app/workspace_service.hpp"
#include "services/cli/keys_cli.hpp"
#include "services/cli/signing_keys_cli.hpp"
#include "services/http/api_handler.hpp"
#include "services/http/audit/audit_routes.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/oauth/oauth_routes.hpp"
#include "services/http/webhooks/postback_transport.hpp"
#include "services/http/webhooks/webhook_routes.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/directory_view.hpp"
#include "services/projections/oauth_client_view.hpp"
#include "services/projections/oauth_grant_view.hpp"
#include "services/projections/webhook_endpoint_view.hpp"

namespace kl = keyledger;
using kl::infra::log;
using kl::infra::log_level;

namespace keyledger::services {
namespace {

/// The session cookie goes without `Secure` only when nothing but this machine can reach us.
bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  auto ip = kl::domain::parse_ip(host);
  return ip && kl::domain::is_loopback(*ip);
}

/// The postback transport's settings (KEYLEDGER_POSTBACK_*); a bad CIDR stops the start.
kl::services::http::postback_transport_options postback_transport_of(const kl::infra::config& cfg) {
  kl::services::http::postback_transport_options o;
  o.timeout = std::chrono::milliseconds(cfg.postback_timeout_ms);
  o.ca_file = cfg.postback_ca_file;
  for (const auto& text : cfg.postback_allow_private) {
    const auto range = kl::domain::parse_cidr(text);
    if (!range) {
      throw kl::infra::error(kl::infra::errc::config,
                             "KEYLEDGER_POSTBACK_ALLOW_PRIVATE: not a CIDR: " + text);
    }
    o.allow_private.push_back(*range);
  }
  return o;
}

/// The postback senders' settings.
kl::services::sender_options postback_options_of(const kl::infra::config& cfg) {
  kl::services::sender_options o;
  o.threads = cfg.postback_threads;
  o.poll_interval = std::chrono::milliseconds(cfg.postback_poll_ms);
  o.failure_window = std::chrono::seconds(cfg.postback_failure_window_seconds);
  // Longer than any attempt: a claim is lost only by a sender that died.
  o.lease = 2 * std::chrono::milliseconds(cfg.postback_timeout_ms) + std::chrono::seconds(5);
  return o;
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

}  // namespace

int serve(const kl::infra::config& cfg) {
  const auto& url = infra::require_database_url(cfg);
  // Every connection is a descriptor: Debian's default soft limit (1024) would refuse clients
  // with EMFILE long before the connection limit, so take what the hard limit allows first.
  const std::uint64_t open_file_limit = kl::infra::raise_open_file_limit();
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
  const kl::infra::response_sealer audit_sealer(
      kl::infra::derive_key(server_secret.reveal(), kl::services::checkpoint_key_seal_info));
  // Seals webhook endpoints' signing secrets (they must be recoverable to sign).
  const kl::infra::response_sealer webhook_sealer(
      kl::infra::derive_key(server_secret.reveal(), kl::services::webhook_secret_sealing_info));
  kl::infra::hmac_key_hasher hasher(std::move(server_secret));
  auto trusted_proxies = kl::services::parse_trusted_proxies(cfg.trusted_proxies);
  // Who may report leaked keys (POST /v1/leaks); a bad key stops the start, naming its id.
  const auto leak_reporter_keys = kl::services::leak_reporters::load(cfg.leak_reporter_keys);

  // Build the views from the whole log before accepting a request, then follow it. The
  // directory first: once the key view has applied an event, the directory has it too.
  kl::services::directory_view directory;
  kl::services::oauth_client_view oauth_clients;
  kl::services::oauth_grant_view oauth_grants;
  kl::services::webhook_endpoint_view webhook_endpoints;
  kl::services::active_key_view view;
  const auto open_signing_secrets = [url] {
    return std::make_unique<kl::infra::pg_signing_key_store>(url);
  };
  kl::services::signing_key_ring signing_keys(signing_sealer, open_signing_secrets, clock);
  // The verifiable log: the checkpoint key (made by the first server to start), and the monitor
  // that checks every event's chain link and every signed checkpoint against the events.
  const auto checkpoints = [&] {
    kl::infra::pg_audit_store once(url);  // closed once the key is loaded
    return kl::services::checkpoint_key::load_or_create(
        once, audit_sealer,
        cfg.audit_origin.empty() ? kl::services::new_log_origin(random) : cfg.audit_origin);
  }();
  const kl::infra::rfc6962_hasher tree_hasher;
  kl::services::audit_monitor audit_monitor(
      tree_hasher, *kl::services::checkpoint_verifier::parse(checkpoints.verifier_key()));
  kl::infra::consumer_fan_out projections("projections");
  projections.add(directory);
  projections.add(oauth_clients);
  projections.add(oauth_grants);
  // Before the key view: once a command's event is applied there, the endpoint view has it.
  projections.add(webhook_endpoints);
  projections.add(view);
  projections.add(signing_keys);
  projections.add(audit_monitor);

  // Postbacks: the dispatcher after the views (it reads the state right after each event), the
  // senders on their own threads; the API's pool never waits on a receiver.
  const auto open_webhook_store = [url] {
    return std::make_unique<kl::infra::pg_webhook_store>(url);
  };
  const kl::services::endpoint_service webhook_service(webhook_sealer, random, clock);
  kl::services::postback_sender postback_senders(
      {webhook_endpoints, view, webhook_service, clock, random,
       kl::services::http::make_postback_transport(postback_transport_of(cfg)), open_webhook_store,
       [url] { return std::make_unique<kl::infra::pg_event_store>(url); }},
      postback_options_of(cfg));
  kl::services::webhook_dispatcher postback_dispatcher(
      {view, webhook_endpoints, oauth_clients, oauth_grants}, open_webhook_store(), {},
      [&postback_senders] { postback_senders.wake(); });
  projections.add(postback_dispatcher);
  postback_dispatcher.start(kl::infra::pg_event_store(url).head_seq());

  kl::infra::pg_subscription subscription(url, projections, {});
  // The rebuild: every event of the log through every view, before the first request. Its rate
  // is what a restart costs (docs/performance.md, "A million keys").
  const auto rebuild_started = std::chrono::steady_clock::now();
  subscription.catch_up();
  const auto rebuild_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - rebuild_started)
                              .count();
  const auto rebuilt_events = subscription.checkpoint();
  log(log_level::info, "projection_ready",
      {{"applied_seq", std::to_string(view.applied_seq())},
       {"keys", std::to_string(view.key_count())},
       {"events", std::to_string(rebuilt_events)},
       {"rebuild_ms", std::to_string(rebuild_ms)},
       {"events_per_second",
        std::to_string(rebuild_ms > 0 ? rebuilt_events * 1000 / std::uint64_t(rebuild_ms) : 0)}});
  subscription.start();
  postback_senders.start();

  // One connection per pool thread and store kind, opened lazily by its thread.
  kl::infra::blocking_pool pool(cfg.db_threads, cfg.db_queue);
  std::vector<std::unique_ptr<kl::infra::pg_event_store>> stores;
  // Group commit: the appends of concurrent commands share one transaction.
  kl::infra::append_group appends(cfg.append_batch);
  std::vector<std::unique_ptr<kl::infra::grouped_event_store>> grouped_stores;
  std::vector<std::unique_ptr<kl::infra::pg_telemetry_store>> telemetry;
  std::vector<std::unique_ptr<kl::infra::pg_idempotency_store>> idempotency;
  std::vector<std::unique_ptr<kl::infra::pg_people_store>> people;
  std::vector<std::unique_ptr<kl::infra::pg_audit_store>> audit_stores;
  std::vector<std::unique_ptr<kl::infra::pg_webhook_store>> webhook_stores;
  for (std::size_t i = 0; i < cfg.db_threads; ++i) {
    webhook_stores.push_back(open_webhook_store());
    audit_stores.push_back(std::make_unique<kl::infra::pg_audit_store>(url));
    stores.push_back(std::make_unique<kl::infra::pg_event_store>(url));
    grouped_stores.push_back(
        std::make_unique<kl::infra::grouped_event_store>(appends, *stores.back()));
    telemetry.push_back(std::make_unique<kl::infra::pg_telemetry_store>(url));
    idempotency.push_back(std::make_unique<kl::infra::pg_idempotency_store>(url));
    people.push_back(std::make_unique<kl::infra::pg_people_store>(url));
  }
  kl::services::key_service keys(hasher, random, clock);
  kl::services::workspace_service workspaces(keys, random, clock);
  kl::services::client_service oauth_client_service(hasher, random, clock);

  // Webhook endpoints (issue 10): their commands, and the webhook store of each pool thread.
  const kl::services::webhook_components webhooks{
      webhook_endpoints, webhook_service,
      [&webhook_stores](std::size_t worker) -> kl::infra::webhook_store& {
        return *webhook_stores[worker];
      }};

  // Verification telemetry is buffered and written by its own thread and connection.
  kl::services::usage_recorder usage(
      [url] { return std::make_unique<kl::infra::pg_telemetry_store>(url); },
      {std::chrono::milliseconds(cfg.usage_flush_ms)});
  kl::services::rate_limiter limiter;
  kl::services::verifier verifier(view, hasher, limiter, usage, clock);
  usage.start();
  const kl::services::leak_service leaks(view, keys, workspaces, hasher, usage, clock);
  log(log_level::info, "leak_reports",
      {{"reporter_keys", std::to_string(leak_reporter_keys.size())}});

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

  // Every node extends the tree and signs what is due (one at a time), and checks new checkpoints.
  const kl::services::audit_proofs audit_proofs(tree_hasher);
  kl::services::audit_log_writer::options writer_options;
  writer_options.checkpoint_every_events = cfg.audit_checkpoint_events;
  writer_options.checkpoint_every = std::chrono::seconds(cfg.audit_checkpoint_seconds);
  kl::services::audit_log_writer audit_writer(tree_hasher, checkpoints, clock, writer_options);
  kl::services::audit_jobs audit_work(
      audit_writer, audit_monitor, audit_proofs,
      [url] { return std::make_unique<kl::infra::pg_audit_store>(url); },
      std::chrono::milliseconds(std::min<std::size_t>(500, cfg.audit_checkpoint_seconds * 250)));
  audit_work.start();
  const auto& public_key = checkpoints.public_key().bytes();
  const kl::services::audit_components audit{
      audit_proofs,
      [&audit_stores](std::size_t worker) -> kl::infra::audit_store& {
        return *audit_stores[worker];
      },
      checkpoints.origin(), checkpoints.verifier_key(),
      std::string(reinterpret_cast<const char*>(public_key.data()), public_key.size())};

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
  options.max_connections = kl::infra::connection_limit(open_file_limit, options.max_connections);
  log(log_level::info, "connection_limit",
      {{"max_connections", std::to_string(options.max_connections)},
       {"open_file_limit", std::to_string(open_file_limit)}});
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
  kl::infra::identifier_random_source identifiers;
  kl::services::token_service tokens(
      {hasher, random, clock, token_signer, directory, view, oauth_grants, settings, &identifiers});
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
      .store_for = [&grouped_stores](std::size_t worker) -> kl::infra::event_store& {
        return *grouped_stores[worker];
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
      .audit = &audit,
      .log_mismatch = [&audit_monitor] { return audit_monitor.failure(); },
      .leak_reporter_keys = &leak_reporter_keys,
      .leaks = &leaks,
      .webhooks = &webhooks,
  });
  server.run();

  // In-flight requests are answered; finish queued database work, stop the jobs, write the
  // buffered telemetry, then stop following the log.
  pool.stop();
  postback_senders.stop();
  chores.stop();
  expiry.stop();
  rotation.stop();
  audit_work.stop();
  usage.stop();
  subscription.stop();
  postback_dispatcher.stop();  // what it derived is written before the process ends
  log(log_level::info, "stopped");
  return 0;
}

}  // namespace keyledger::services
