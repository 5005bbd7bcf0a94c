#pragma once

// The caller's workspace over HTTP: its settings (key policy, scope catalog), read and changed.

#include <cstddef>
#include <functional>

#include "infra/core/event_store.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"

namespace keyledger::services {
class active_key_view;
class workspace_service;
}  // namespace keyledger::services

namespace keyledger::services::http {

struct workspace_routes_dependencies {
  const active_key_view& view;
  const workspace_service& workspaces;
  std::function<infra::event_store&(std::size_t worker)> store_for;
  const runner& run;
};

/// GET and PATCH /v1/workspace.
void add_workspace_routes(route_table& table, workspace_routes_dependencies deps);

}  // namespace keyledger::services::http
