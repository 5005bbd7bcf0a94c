#pragma once

// JSON of access tokens: the JWT claims set (RFC 9068 2.2, RFC 7519 4.1: NumericDate times in
// whole seconds) and the AccessTokenRevoked payload (the rules of infra/json/event_codec.hpp).

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "domain/oauth/access_token.hpp"

namespace keyledger::infra {

/// The claims in a fixed order: iss, sub, aud, exp, nbf (= iat), iat, jti, client_id, scope
/// (space-delimited), workspace_id, then sid when set. Times are truncated to seconds.
std::string encode_claims(const domain::oauth::access_token_claims& c);

/// The same claims as views, for signing: a token is written from the client's and the
/// grant's strings without copying them into an access_token_claims first.
struct claims_to_sign {
  std::string_view issuer;
  std::string_view subject;
  std::string_view audience;
  std::string_view client_id;
  std::span<const std::string> scopes;
  std::string_view workspace_id;
  std::string_view session_id;  ///< empty: no sid
  std::string_view jti;
  domain::timestamp issued_at{};
  domain::timestamp expires_at{};
};
std::string encode_claims(const claims_to_sign& c);

/// The claims of one of our tokens, strictly: every member above of the right type (sid
/// optional), nbf equal to iat, nothing else. nullopt otherwise; never throws.
std::optional<domain::oauth::access_token_claims> decode_claims(std::string_view json);

std::string encode_payload(const domain::oauth::access_token_event& e);
std::optional<domain::oauth::access_token_event> decode_access_token_event(
    std::string_view type, std::string_view payload);

}  // namespace keyledger::infra
