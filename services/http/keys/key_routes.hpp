#pragma once

// The keys capability over HTTP: key management (/v1/keys...), request logs and failed
// attempts, and verification (/v1/keys/verify, the gateway check /v1/check).

#include <cstddef>
#include <functional>

#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "infra/core/telemetry_store.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"

namespace keyledger::services {
class active_key_view;
class directory_view;
class key_service;
class verifier;
}  // namespace keyledger::services

namespace keyledger::services::http {

/// What the key endpoints need. All references must outlive the router.
struct key_routes_dependencies {
  const active_key_view& view;
  key_service& keys;
  const directory_view& directory;
  /// The stores owned by a pool worker (one connection per worker thread).
  std::function<infra::event_store&(std::size_t worker)> store_for;
  std::function<infra::telemetry_store&(std::size_t worker)> telemetry_for;
  const domain::clock& clock;
  const runner& run;
};

/// /v1/keys, /v1/keys/{id}, /v1/keys/{id}/rotate, /v1/keys/self, /v1/keys/{id}/requests,
/// /v1/auth-failures.
void add_key_routes(route_table& table, key_routes_dependencies deps);

/// POST /v1/keys/verify and the gateway check /v1/check, /v1/check/{path}: answered on the I/O
/// thread from the in-memory view.
void add_verify_routes(route_table& table, const verifier& verify);

}  // namespace keyledger::services::http
