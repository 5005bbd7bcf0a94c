// The composition of the HTTP API: one router, the authenticators, and each capability's
// route table in matching order.
#include "services/http/api_handler.hpp"

#include <memory>

#include "services/http/audit/audit_routes.hpp"
#include "services/http/auth/authenticators.hpp"
#include "services/http/console/console_routes.hpp"
#include "services/http/keys/key_routes.hpp"
#include "services/http/leaks/leak_routes.hpp"
#include "services/http/oauth/client_routes.hpp"
#include "services/http/oauth/jwks_routes.hpp"
#include "services/http/oauth/oauth_routes.hpp"
#include "services/http/people/people_routes.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"
#include "services/http/system/system_routes.hpp"
#include "services/http/webhooks/key_postback_secret_routes.hpp"
#include "services/http/webhooks/webhook_routes.hpp"
#include "services/http/workspace/workspace_routes.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services {
namespace {

/// What the handler owns: the runner the groups and authenticators refer to, then the router.
struct api_state {
  explicit api_state(api_dependencies d)
      : deps(std::move(d)),
        run({deps.pool, deps.idempotency_for, deps.sealer, deps.clock,
             [&view = deps.view](std::uint64_t seq, std::chrono::steady_clock::time_point until) {
               return view.wait_applied(seq, until);
             },
             [&view = deps.view](std::uint64_t seq, std::chrono::steady_clock::time_point until,
                                 std::function<void(bool)> done) {
               view.when_applied(seq, until, std::move(done));
             },
             deps.apply_wait}) {
    http::route_table t;
    // Literal paths before the templates that would also match them (/v1/keys/verify and
    // /v1/keys/self before /v1/keys/{id}).
    http::add_verify_routes(t, deps.verify);
    http::add_key_routes(t, {deps.view, deps.keys, deps.directory, deps.store_for,
                             deps.telemetry_for, deps.clock, run});
    http::add_people_routes(
        t, {deps.view, deps.directory, deps.users, deps.store_for, deps.people_for, deps.usage,
            deps.clock, deps.loopback_listener, deps.sessions, run});
    http::add_workspace_routes(t, {deps.view, deps.workspaces, deps.store_for, run});
    http::add_client_routes(t, {deps.oauth.clients, deps.oauth.client_admin, deps.store_for, run});
    if (deps.webhooks != nullptr) {
      http::add_webhook_routes(t, {*deps.webhooks, deps.store_for, deps.clock, run});
    }
    const http::oauth_routes_dependencies oauth{deps.oauth,      deps.verify,
                                                deps.users,      deps.directory,
                                                deps.view,       deps.store_for,
                                                deps.people_for, deps.usage,
                                                deps.clock,      deps.loopback_listener,
                                                deps.sessions,   run};
    http::add_grant_routes(t, oauth);
    http::add_token_routes(t, oauth);
    http::add_authorize_routes(t, oauth);
    if (deps.audit != nullptr) http::add_audit_routes(t, *deps.audit, run);
    http::add_leak_routes(t, {deps.leak_reporter_keys, deps.leaks, deps.store_for, run});
    if (deps.webhooks != nullptr) {
      http::add_key_postback_secret_route(t, {deps.keys, *deps.webhooks, deps.store_for, run});
    }
    http::add_system_routes(t, {deps.view, deps.store_for, run, deps.log_mismatch});
    http::add_console_routes(t);
    http::add_jwks_routes(t, {deps.oauth.signing_keys, deps.clock});

    std::vector<std::unique_ptr<http::authenticator>> authenticators;
    authenticators.push_back(http::make_api_key_authenticator(deps.verify, deps.directory));
    authenticators.push_back(
        http::make_session_authenticator(deps.users, deps.directory, deps.people_for, run));
    router = std::make_unique<http::router>(std::move(t), std::move(authenticators),
                                            deps.trusted_proxies);
  }

  api_dependencies deps;
  http::runner run;
  std::unique_ptr<http::router> router;
};

}  // namespace

infra::request_handler make_api_handler(api_dependencies deps) {
  auto state = std::make_shared<api_state>(std::move(deps));
  return [state](infra::http_request&& req, infra::responder respond) {
    state->router->handle(std::move(req), std::move(respond));
  };
}

}  // namespace keyledger::services
