#pragma once

// A key's own postback URL needs a signing secret before anything is sent to it (issue 10):
// POST /v1/keys/{id}/postback-secret mints one ("whsec_...", shown once) for whoever may edit
// the key; the previous one keeps signing for 24 hours. docs/webhooks.md.

#include <cstddef>
#include <functional>

#include "infra/core/event_store.hpp"
#include "infra/core/webhook_store.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"
#include "services/http/webhooks/webhook_routes.hpp"

namespace keyledger::services {
class key_service;
}  // namespace keyledger::services

namespace keyledger::services::http {

struct key_postback_secret_dependencies {
  const key_service& keys;
  const webhook_components& webhooks;
  std::function<infra::event_store&(std::size_t worker)> store_for;
  const runner& run;
};

/// POST /v1/keys/{id}/postback-secret.
void add_key_postback_secret_route(route_table& table, key_postback_secret_dependencies deps);

}  // namespace keyledger::services::http
