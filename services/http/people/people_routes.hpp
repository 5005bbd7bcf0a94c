#pragma once

// People over HTTP: the users and roles of a workspace (/v1/users...), setting a password
// from an invitation, and sessions (/v1/sessions...).

#include <cstddef>
#include <functional>

#include "domain/people/policy.hpp"
#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "infra/core/people_store.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"

namespace keyledger::services {
class active_key_view;
class directory_view;
class usage_recorder;
class user_service;
}  // namespace keyledger::services

namespace keyledger::services::http {

/// What the people endpoints need. All references must outlive the router.
struct people_routes_dependencies {
  const active_key_view& view;
  const directory_view& directory;
  const user_service& users;
  std::function<infra::event_store&(std::size_t worker)> store_for;
  std::function<infra::people_store&(std::size_t worker)> people_for;
  /// Counts failed logins (code LOGIN_FAILED) beside failed key attempts.
  usage_recorder& usage;
  const domain::clock& clock;
  /// The server listens on a loopback address only: the session cookie is sent without
  /// `Secure` (plain http://127.0.0.1 in development). Otherwise it always carries `Secure`.
  bool loopback_listener = false;
  /// The session timeouts user_service was configured with (for expires_at and Max-Age).
  domain::session_policy sessions{};
  const runner& run;
};

void add_people_routes(route_table& table, people_routes_dependencies deps);

}  // namespace keyledger::services::http
