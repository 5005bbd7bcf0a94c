#pragma once

// Probes and the API document: /healthz, /readyz, /openapi.json. No authentication.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "infra/core/event_store.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"

namespace keyledger::services {
class active_key_view;
}

namespace keyledger::services::http {

struct system_routes_dependencies {
  const active_key_view& view;
  std::function<infra::event_store&(std::size_t worker)> store_for;
  const runner& run;
  /// The reason this node found the stored log altered, if it did (audit_monitor): /readyz is
  /// then 503 LOG_MISMATCH. Null: not checked.
  std::function<std::optional<std::string>()> log_mismatch;
};

void add_system_routes(route_table& table, system_routes_dependencies deps);

}  // namespace keyledger::services::http
