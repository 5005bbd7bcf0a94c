#pragma once

// Leaked-key reports over HTTP: POST /v1/leaks in GitHub secret scanning's partner format,
// authenticated by the reporter's ECDSA signature over the exact body (no API key, no session).

#include <cstddef>
#include <functional>

#include "infra/core/event_store.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"

namespace keyledger::services {
class leak_reporters;
class leak_service;
}  // namespace keyledger::services

namespace keyledger::services::http {

struct leak_routes_dependencies {
  /// The configured reporter keys and the service that acts on reports. Either null, or no
  /// key: every report is answered 403 LEAK_REPORTS_NOT_CONFIGURED.
  const leak_reporters* reporters = nullptr;
  const leak_service* leaks = nullptr;
  std::function<infra::event_store&(std::size_t worker)> store_for;
  const runner& run;
};

/// POST /v1/leaks.
void add_leak_routes(route_table& table, leak_routes_dependencies deps);

}  // namespace keyledger::services::http
