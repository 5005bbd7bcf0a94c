#pragma once

// A workspace's OAuth apps over HTTP (issue 8): /v1/oauth/clients - register, list, read,
// change (settings, enabled), rotate the secret, delete. For owners and admins (oauth_clients.*;
// a key needs workspace:admin); auditors read. docs/api.md, docs/oauth.md.

#include <cstddef>
#include <functional>

#include "infra/core/event_store.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"

namespace keyledger::services {
class client_service;
class oauth_client_view;
}  // namespace keyledger::services

namespace keyledger::services::http {

struct client_routes_dependencies {
  const oauth_client_view& clients;
  const client_service& service;
  std::function<infra::event_store&(std::size_t worker)> store_for;
  const runner& run;
};

/// /v1/oauth/clients, /v1/oauth/clients/{id}, /v1/oauth/clients/{id}/rotate-secret.
void add_client_routes(route_table& table, client_routes_dependencies deps);

}  // namespace keyledger::services::http
