#pragma once

// The OAuth 2.0 authorization server over HTTP (issue 8): its route tables and what they need.
//   client_routes     /v1/oauth/clients...          a workspace's apps (client_routes.hpp)
//   token_endpoints   /oauth/token, /oauth/introspect, /oauth/revoke,
//                     /.well-known/oauth-authorization-server
//   authorize_endpoints /oauth/authorize (GET: login or consent page; POST: the consent),
//                     /oauth/login (the login page's form)
//   grant_routes      /v1/oauth/grants...           the apps a person authorized
// The pages (pages.hpp) are plain HTML in one place, for the console to restyle.

#include <cstddef>
#include <functional>

#include "domain/people/policy.hpp"
#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "infra/core/people_store.hpp"
#include "services/app/oauth/token_service.hpp"
#include "services/http/router/router.hpp"
#include "services/http/support/runner.hpp"

namespace keyledger::infra {
class response_sealer;
}

namespace keyledger::services {
class active_key_view;
class authorization_service;
class client_service;
class directory_view;
class introspection_service;
class oauth_client_view;
class oauth_grant_view;
class signing_key_ring;
class usage_recorder;
class user_service;
class verifier;

/// The OAuth parts the composition hands to the HTTP layer. All references outlive the router.
struct oauth_components {
  const oauth_client_view& clients;
  const oauth_grant_view& grants;
  const client_service& client_admin;
  const token_service& tokens;
  const introspection_service& introspection;
  const authorization_service& authorizations;
  /// Seals the authorization request carried from page to page (login, consent).
  const infra::response_sealer& interactions;
  /// The signing keys: GET /oauth/jwks publishes them (the services sign through the
  /// access_token_signer port).
  const signing_key_ring& signing_keys;
  oauth_settings settings;
};

}  // namespace keyledger::services

namespace keyledger::services::http {

struct oauth_routes_dependencies {
  const oauth_components& oauth;
  const verifier& verify;  ///< API keys at introspection
  const user_service& users;
  const directory_view& directory;
  const active_key_view& view;
  std::function<infra::event_store&(std::size_t worker)> store_for;
  std::function<infra::people_store&(std::size_t worker)> people_for;
  usage_recorder& usage;
  const domain::clock& clock;
  bool loopback_listener = false;
  domain::session_policy sessions{};
  const runner& run;
};

/// /oauth/token, /oauth/introspect, /oauth/revoke, /.well-known/oauth-authorization-server.
void add_token_routes(route_table& table, const oauth_routes_dependencies& deps);
/// /oauth/authorize (GET, POST) and /oauth/login (POST).
void add_authorize_routes(route_table& table, const oauth_routes_dependencies& deps);
/// GET /v1/oauth/grants, DELETE /v1/oauth/grants/{id}.
void add_grant_routes(route_table& table, const oauth_routes_dependencies& deps);

}  // namespace keyledger::services::http
