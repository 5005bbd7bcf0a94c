#pragma once

// The composition of the HTTP API: what it needs, and the request handler that serves it.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "domain/net.hpp"
#include "domain/people/policy.hpp"
#include "domain/types.hpp"
#include "infra/core/blocking_pool.hpp"
#include "infra/core/event_store.hpp"
#include "infra/core/idempotency_store.hpp"
#include "infra/core/people_store.hpp"
#include "infra/core/telemetry_store.hpp"
#include "infra/core/webhook_store.hpp"
#include "infra/http/server.hpp"
#include "services/http/router/client_address.hpp"

namespace keyledger::infra {
class response_sealer;
}

namespace keyledger::services {

class active_key_view;
class directory_view;
struct oauth_components;
struct audit_components;
struct webhook_components;
class key_service;
class leak_reporters;
class leak_service;
class endpoint_service;
class workspace_service;
class usage_recorder;
class user_service;
class verifier;

/// What the HTTP API needs. All references must outlive the handler (and the pool's jobs).
struct api_dependencies {
  active_key_view& view;
  key_service& keys;
  const workspace_service& workspaces;
  /// Checks every presented key: POST /v1/keys/verify, GET /v1/check and the authentication
  /// of each management request.
  const verifier& verify;
  infra::blocking_pool& pool;
  /// The stores owned by a pool worker (one connection per worker thread).
  std::function<infra::event_store&(std::size_t worker)> store_for;
  std::function<infra::telemetry_store&(std::size_t worker)> telemetry_for;
  std::function<infra::idempotency_store&(std::size_t worker)> idempotency_for;
  /// Seals the responses kept for Idempotency-Key replays (a create response holds a secret).
  const infra::response_sealer& sealer;
  const domain::clock& clock;
  /// Peers whose X-Forwarded-For is believed (KEYLEDGER_TRUSTED_PROXIES, parsed with
  /// parse_trusted_proxies). Empty: the connection's address is always the client's.
  std::vector<domain::cidr> trusted_proxies;
  /// How long a command waits for its own node to apply its event before answering.
  std::chrono::milliseconds apply_wait{3000};

  // ---- users, roles and sessions (issue 4) ----
  /// Users and roles (fed by the same subscription as `view`, applied before it).
  const directory_view& directory;
  /// Invitations, roles, removal, passwords, sessions.
  const user_service& users;
  /// The people store owned by a pool worker (one connection per worker thread).
  std::function<infra::people_store&(std::size_t worker)> people_for;
  /// Counts failed logins (code LOGIN_FAILED) beside failed key attempts.
  usage_recorder& usage;
  /// The server listens on a loopback address only: the session cookie is sent without
  /// `Secure` (plain http://127.0.0.1 in development). Otherwise it always carries `Secure`.
  bool loopback_listener = false;
  /// The session timeouts user_service was configured with (for expires_at and the cookie's
  /// Max-Age).
  domain::session_policy sessions{};

  // ---- OAuth 2.0 (issue 8) ----
  /// The clients and grants views (fed by the same subscription as `view`, applied before it),
  /// the OAuth services and the issuer (services/http/oauth/oauth_routes.hpp).
  const oauth_components& oauth;

  // ---- the verifiable log (issue 9) ----
  /// Checkpoints, proofs and a workspace's provable events (services/http/audit); null: the
  /// /v1/audit routes are not served (route tests that do not need them).
  const audit_components* audit = nullptr;
  /// Whether this node found the stored log to differ from a signed checkpoint (then /readyz
  /// answers 503 with the reason); null: not checked.
  std::function<std::optional<std::string>()> log_mismatch;

  // ---- leaked-key reports (issue 10) ----
  /// The reporter keys of KEYLEDGER_LEAK_REPORTER_KEYS and the service that acts on reports;
  /// either null or no key: POST /v1/leaks answers 403 LEAK_REPORTS_NOT_CONFIGURED.
  const leak_reporters* leak_reporter_keys = nullptr;
  const leak_service* leaks = nullptr;

  // ---- webhook endpoints (issue 10) ----
  /// The endpoints view, their service and the per-worker webhook stores
  /// (services/http/webhooks); null: the /v1/webhooks routes are not served.
  const webhook_components* webhooks = nullptr;
};

/// The keyledger HTTP API (docs/api.md, docs/openapi.json): a router over the route tables of
/// every capability (services/http/keys, people, workspace, system, oauth, audit, leaks,
/// webhooks) with the API-key and session authenticators. Verification (POST /v1/keys/verify,
/// GET /v1/check) answers on the I/O thread from the in-memory view; everything that touches
/// Postgres goes through the blocking pool (503 OVERLOADED + Retry-After when it is full).
/// Every response carries Keyledger-Version.
infra::request_handler make_api_handler(api_dependencies deps);

}  // namespace keyledger::services
