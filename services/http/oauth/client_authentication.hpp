#pragma once

// OAuth client authentication at the token, introspection and revocation endpoints (RFC 6749
// 2.3): client_secret_basic (Authorization: Basic, id and secret form-urlencoded, 2.3.1) or
// client_secret_post for confidential clients, `none` (client_id alone) for public ones.
// Exactly one method per request (2.3: "MUST NOT use more than one"); the secret is compared
// in constant time as a keyed hash (client_service::authenticate).

#include <memory>
#include <string>

#include "domain/oauth/client.hpp"
#include "domain/problem.hpp"
#include "domain/result.hpp"
#include "infra/http/server.hpp"
#include "services/http/oauth/oauth_form.hpp"

namespace keyledger::services {
class client_service;
class oauth_client_view;
}  // namespace keyledger::services

namespace keyledger::services::http {

enum class client_auth_method { basic, post, none };

struct authenticated_client {
  /// Never null; shared with the client view (immutable).
  std::shared_ptr<const domain::oauth::client_state> client;
  client_auth_method method = client_auth_method::none;
};

/// Whether the request carries client credentials of any kind (Basic, client_id or
/// client_secret in the form).
bool presents_client(const infra::http_request& req, const oauth_form& form);

/// The client the request authenticates as. invalid_client (401) for an unknown, disabled or
/// deleted client, a wrong secret, a confidential client without a secret, a public client with
/// one; invalid_request for two methods at once or a malformed Basic header.
domain::result<authenticated_client, domain::problem> authenticate_client(
    const infra::http_request& req, const oauth_form& form, const oauth_client_view& clients,
    const client_service& service);

}  // namespace keyledger::services::http
