#pragma once

// A workspace's webhook endpoints over HTTP (issue 10): /v1/webhooks - create, list, read,
// change (url, event types, enabled), rotate the signing secret, delete, and each endpoint's
// deliveries with a manual retry. Owners and admins manage (workspace.update; a key needs
// workspace:admin); auditors read. docs/webhooks.md, docs/api.md.

#include <cstddef>
#include <functional>

#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "infra/core/webhook_store.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"

namespace keyledger::services {

class endpoint_service;
class webhook_endpoint_view;

/// What the webhook routes need beside the API's own stores. All references must outlive the
/// handler.
struct webhook_components {
  /// The endpoints in memory (fed by the node's subscription before the key view).
  const webhook_endpoint_view& endpoints;
  const endpoint_service& service;
  /// The webhook store owned by a pool worker (one connection per worker thread).
  std::function<infra::webhook_store&(std::size_t worker)> store_for;
};

}  // namespace keyledger::services

namespace keyledger::services::http {

struct webhook_routes_dependencies {
  const webhook_components& webhooks;
  std::function<infra::event_store&(std::size_t worker)> store_for;
  const domain::clock& clock;
  const runner& run;
};

/// /v1/webhooks, /v1/webhooks/{id}, /v1/webhooks/{id}/rotate-secret,
/// /v1/webhooks/{id}/deliveries, /v1/webhooks/{id}/deliveries/{delivery_id}/retry.
void add_webhook_routes(route_table& table, webhook_routes_dependencies deps);

}  // namespace keyledger::services::http
