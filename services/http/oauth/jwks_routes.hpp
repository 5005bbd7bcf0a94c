#pragma once

// The authorization server's public signing keys: GET /oauth/jwks (RFC 7517 JWK Set), for every
// resource server that verifies keyledger's JWT access tokens. No authentication.

#include <string_view>

#include "domain/types.hpp"
#include "services/http/router/router.hpp"

namespace keyledger::services {
class signing_key_ring;
}

namespace keyledger::services::http {

/// Where the JWK Set is served; the authorization server metadata's jwks_uri is the issuer
/// followed by this path (RFC 8414 section 2).
inline constexpr std::string_view jwks_path = "/oauth/jwks";

/// How long a verifier may keep the set (Cache-Control max-age). Far below the 24 hours a new key
/// is published before it signs, so a verifier that caches the set has refetched it long before
/// it meets a token with the new kid (docs/oauth.md, "Signing keys").
inline constexpr int jwks_max_age_seconds = 300;

struct jwks_routes_dependencies {
  const signing_key_ring& keys;
  const domain::clock& clock;
};

/// GET /oauth/jwks: {"keys":[...]} of the keys published now (pending, active, recently
/// retired), Content-Type application/jwk-set+json (RFC 7517 section 8.5), Cache-Control
/// public, max-age=300 (no-cache while the set is empty: the first key is moments away).
/// Answered on the I/O thread from memory.
void add_jwks_routes(route_table& table, jwks_routes_dependencies deps);

}  // namespace keyledger::services::http
