#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

#include "infra/core/blocking_pool.hpp"
#include "infra/core/event_store.hpp"
#include "infra/http/server.hpp"

namespace keyledger::infra {
class hmac_key_hasher;
}

namespace keyledger::services {

class active_key_view;
class key_service;

/// What the HTTP API needs. All references must outlive the handler.
struct api_dependencies {
  active_key_view& view;
  key_service& keys;
  const infra::hmac_key_hasher& hasher;
  infra::blocking_pool& pool;
  /// The event store owned by a pool worker (one connection per worker thread).
  std::function<infra::event_store&(std::size_t worker)> store_for;
  /// How long a command waits for its own node to apply its event before answering.
  std::chrono::milliseconds apply_wait{3000};
};

/// The keyledger HTTP API (docs/api.md):
///   POST /v1/keys, GET|DELETE /v1/keys/{id}, POST /v1/keys/verify, GET /healthz, GET /readyz.
/// Verification answers on the I/O thread from the in-memory view; everything that touches
/// Postgres goes through the blocking pool (503 OVERLOADED + Retry-After when it is full).
infra::request_handler make_api_handler(api_dependencies deps);

}  // namespace keyledger::services
